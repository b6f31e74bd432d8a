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
    return _png(monthly_figure(ex, indicator, title_lv, title_en))


def monthly_figure(ex: Extract, indicator: str, title_lv: str, title_en: str):
    """A line per centre and the total (dashed). With more centres than colours (a federation of
    80 would need 80 legend entries, which do not fit, and colours repeat), two panels instead:
    the total above, and below every centre as a thin grey line under one legend entry."""
    import datetime as dt

    import matplotlib.dates as mdates

    plt = _plt()
    series = ex.series[indicator]
    centres = [c for c in series if c != ALL]
    many = len(centres) > len(COLOURS)
    n = len(series.get(ALL, []))
    if many:
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.4), sharex=True)
        fig.subplots_adjust(left=0.07, right=0.74, top=0.91, bottom=0.2 if n > 14 else 0.12, hspace=0.28)
        axes = [top, bottom]
    else:
        fig, ax = plt.subplots(figsize=(9, 3.6))
        # Fixed margins, not layout="constrained" (which doubled the drawing time): room on the right
        # for the legend, below for rotated dates and the note on hidden values.
        fig.subplots_adjust(left=0.07, right=0.74, top=0.88, bottom=0.22)
        top = bottom = ax
        axes = [ax]
    hidden_any = False
    for i, (centre, points) in enumerate(series.items()):
        if centre == ALL and len(series) == 2:
            continue        # one centre: its line is the total
        xs = [m for m, _ in points]
        ys = [float("nan") if isinstance(v, Hidden) else v for _, v in points]
        hidden_any |= any(isinstance(v, Hidden) for _, v in points)
        if centre == ALL:
            style = dict(color=COLOURS[0], linewidth=2, marker="o", markersize=3) if many else \
                dict(color="#555555", linestyle="--", linewidth=1.4, marker="o", markersize=3)
            top.plot(xs, ys, label="Visi centri / All centres", **style)
        elif many:
            first = centre == centres[0]
            bottom.plot(xs, ys, color="#7f8c99", linewidth=0.8, alpha=0.6,
                        label=f"Katrs centrs /\neach centre ({len(centres)})" if first else None)
        else:
            bottom.plot(xs, ys, color=COLOURS[i % len(COLOURS)], linewidth=2, marker="o", markersize=3, label=centre)
    top.set_title(f"{title_lv} / {title_en}", loc="left", fontsize=11, fontweight="bold")
    after = [m for m, v in series.get(ALL, []) if ex.services_end and m > ex.services_end]
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#dddddd")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        if after:       # no services by design: a shaded, labelled span, not a fall to 0
            start = after[0] - dt.timedelta(days=15)
            end = after[-1] + dt.timedelta(days=15)
            ax.axvspan(start, end, color="#e6e6e6", zorder=0)
            ax.text(start + (end - start) / 2, 0.5, "pēc pakalpojumu beigām\nafter services ended",
                    transform=ax.get_xaxis_transform(), ha="center", va="center", fontsize=7.5,
                    color="#444444", rotation=90, linespacing=1.1)
    bottom.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, (n + 11) // 12)))
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    if n > 14:
        fig.autofmt_xdate(bottom=0.30 if not many else 0.2)
    if hidden_any:
        bottom.annotate(f"Pārtraukums: mazāk par {ex.threshold} (slēpts) / gap: fewer than {ex.threshold} (hidden)",
                        xy=(0, (-0.28 if not many else -0.42) if n > 14 else -0.16),
                        xycoords="axes fraction", fontsize=8, color="#777777")
    return fig


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
CHART_VERSION = 3
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
