"""The extract's charts as PNG images (matplotlib, no screen needed): families and children
served per month by centre, and progress against each target. Suppressed values are never
drawn: the line breaks there and the gap is labelled."""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from sos_pipeline.extracts.content import ALL, Extract, Hidden

COLOURS = ["#00539f", "#e0701b", "#2f8f3a", "#8e44ad", "#b03a2e", "#117a8b"]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "sos", "figure.dpi": 100})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})   # one draw: no bbox "tight"
    _plt().close(fig)
    return buf.getvalue()


def monthly(ex: Extract, indicator: str, title_lv: str, title_en: str) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    # Fixed margins, not layout="constrained" (which doubled the drawing time): room on the right
    # for the legend, below for rotated dates and the note on hidden values.
    fig.subplots_adjust(left=0.07, right=0.74, top=0.88, bottom=0.22)
    hidden_any = False
    for i, (centre, points) in enumerate(ex.series[indicator].items()):
        if centre == ALL and len(ex.series[indicator]) == 2:
            continue        # one centre: its line is the total
        xs = [m for m, _ in points]
        ys = [None if isinstance(v, Hidden) else v for _, v in points]
        hidden_any |= any(isinstance(v, Hidden) for _, v in points)
        style = dict(color="#555555", linestyle="--", linewidth=1.4) if centre == ALL else \
            dict(color=COLOURS[i % len(COLOURS)], linewidth=2)
        label = "Visi centri / All centres" if centre == ALL else centre
        ax.plot(xs, [float("nan") if y is None else y for y in ys], marker="o", markersize=3, label=label, **style)
    ax.set_title(f"{title_lv} / {title_en}", loc="left", fontsize=11, fontweight="bold")
    ax.set_ylim(bottom=0)
    after = [m for m, v in ex.series[indicator].get(ALL, []) if ex.services_end and m > ex.services_end]
    if after:       # no services by design: a shaded, labelled span, not a fall to 0
        import datetime as dt
        start = after[0] - dt.timedelta(days=15)
        end = after[-1] + dt.timedelta(days=15)
        ax.axvspan(start, end, color="#e6e6e6", zorder=0)
        ax.text(start + (end - start) / 2, 0.5, "pēc pakalpojumu beigām\nafter services ended",
                transform=ax.get_xaxis_transform(), ha="center", va="center", fontsize=7.5, color="#444444",
                rotation=90, linespacing=1.1)
    ax.grid(axis="y", color="#dddddd")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    import matplotlib.dates as mdates
    n = len(ex.series[indicator].get(ALL, []))
    ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, (n + 11) // 12)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    if n > 14:
        fig.autofmt_xdate(bottom=0.30)
    if hidden_any:
        ax.annotate(f"Pārtraukums: mazāk par {ex.threshold} (slēpts) / gap: fewer than {ex.threshold} (hidden)",
                    xy=(0, -0.28 if len(ex.series[indicator][ALL]) > 14 else -0.16),
                    xycoords="axes fraction", fontsize=8, color="#777777")
    return _png(fig)


def progress(ex: Extract) -> bytes | None:
    if not ex.progress:
        return None
    plt = _plt()
    rows = ex.progress
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.2), layout="constrained")
    for y, r in enumerate(reversed(rows)):
        actual, target = r["actual"], r["target"]
        if isinstance(actual, Hidden):
            ax.text(0.01, y, f"{actual} (slēpts / hidden)", va="center", fontsize=9, color="#777777")
            continue
        share = actual / target if target else 0
        ax.barh(y, min(share, 1.5), color="#2f8f3a" if share >= 1 else "#00539f", height=0.6)
        ax.text(min(share, 1.5) + 0.01, y, f"{actual:g} / {target:g}  ({share:.0%})", va="center", fontsize=9)
    ax.axvline(1.0, color="#b03a2e", linewidth=1.2, linestyle="--")
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_yticks(range(len(rows)), [f"{r['label_lv']}\n{r['label']}" for r in reversed(rows)], fontsize=8)
    ax.set_xlim(0, 1.8)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    period = ex.period.progress
    ax.set_title(f"Mērķu izpilde ({period}) / Progress against targets ({period})", loc="left",
                 fontsize=11, fontweight="bold")
    return _png(fig)


def render(ex: Extract, cache: Path | None = None) -> dict[str, bytes]:
    """{file name: PNG bytes} for the charts this extract has. A chart whose figures were drawn
    before is not drawn again (a yearly project's year and its reporting period show the same
    figures; a correction leaves most months' charts as they were): each PNG is kept under
    `cache` (.work/charts/) by the sha256 of what it shows."""
    charts = {
        "families_per_month.png": (lambda: monthly(ex, "families_served", "Apkalpotās ģimenes mēnesī",
                                                   "Families served per month"),
                                   (ex.series.get("families_served"), ex.threshold, ex.services_end)),
        "children_per_month.png": (lambda: monthly(ex, "children_served", "Bērni apkalpotajās ģimenēs mēnesī",
                                                   "Children served per month"),
                                   (ex.series.get("children_served"), ex.threshold, ex.services_end)),
        "target_progress.png": (lambda: progress(ex), (ex.progress, ex.period.progress)),
    }
    out = {}
    for name, (draw, shows) in charts.items():
        key = hashlib.sha256(repr((CHART_VERSION, name, shows)).encode()).hexdigest()
        png = _cached(cache, key)
        if png is None:
            png = draw()
            if png is None:
                continue
            _keep(cache, key, png)
        out[name] = png
    return out


# Raise when the drawing code changes: cached charts of the old look are then drawn again.
CHART_VERSION = 2
_drawn: dict[str, bytes] = {}


def _cached(cache: Path | None, key: str) -> bytes | None:
    if key in _drawn:
        return _drawn[key]
    if cache is not None:
        try:
            png = (cache / f"{key}.png").read_bytes()
            os.utime(cache / f"{key}.png")      # in use: not pruned
        except OSError:
            return None
        _drawn[key] = png
        return png
    return None


def _keep(cache: Path | None, key: str, png: bytes) -> None:
    if len(_drawn) > 512:
        _drawn.clear()
    _drawn[key] = png
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{key}.{os.getpid()}.tmp"
        tmp.write_bytes(png)
        os.replace(tmp, cache / f"{key}.png")


def prune(cache: Path, days: int = 30) -> None:
    """Forget the charts no extract has used for `days` days."""
    import time

    if not cache.is_dir():
        return
    old = time.time() - days * 86400
    for f in cache.glob("*.png"):
        try:
            if f.stat().st_mtime < old:
                f.unlink()
        except OSError:
            pass
