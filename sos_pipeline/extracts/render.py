"""Writers: one extract (content.Extract) as report.xlsx, report.html and one CSV per sheet.

Latvian and English side by side. Dates and numbers follow the reader's conventions: the
workbook stores real numbers and dates with formats that Excel and LibreOffice display in the
reader's locale; the page shows Latvian (1 234,5 · 15.11.2013.) or English (1,234.5 ·
15 Nov 2013), switched at its top. CSV files are for machines: ISO dates, plain numbers.
No text cell can start a formula: text is always written as text.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io

from sos_pipeline.extracts.content import Extract, Hidden, Sheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EN_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
LV_MONTHS = "janv. febr. marts apr. maijs jūn. jūl. aug. sept. okt. nov. dec.".split()


def legend(threshold: int) -> tuple[str, str]:
    return (f"<{threshold} = no 1 līdz {threshold - 1} (slēpts, lai nevarētu atpazīt ģimenes); "
            f"x = slēpts, lai mazu skaitli nevarētu aprēķināt no kopsummas; 0 = neviena.",
            f"<{threshold} = from 1 to {threshold - 1} (hidden so that no family can be recognised); "
            f"x = hidden so that a small number cannot be worked out from a total; 0 = none.")


# ---------------------------------------------------------------- CSV
def csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Hidden):
        return value.marker
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(sheet: Sheet) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.key for c in sheet.columns])
    for row in sheet.rows:
        w.writerow([csv_text(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")   # the BOM lets Excel read Latvian letters


# ---------------------------------------------------------------- workbook
def to_xlsx(ex: Extract, charts: dict[str, bytes], header: list[tuple[str, str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold, head_fill = Font(bold=True), PatternFill("solid", fgColor="DCE6F1")
    grey = Font(italic=True, color="666666")
    lv_leg, en_leg = legend(ex.threshold)

    def put(ws, r, c, v, kind="text"):
        cell = ws.cell(row=r, column=c)
        if isinstance(v, Hidden):
            cell.value = v.marker
            cell.data_type = "s"
            cell.alignment = Alignment(horizontal="right")
            return cell
        cell.value = v
        if isinstance(v, str):
            cell.data_type = "s"        # never a formula, whatever the text starts with
        elif isinstance(v, (dt.datetime, dt.date)):
            cell.number_format = "mmm yyyy" if kind == "month" else "mm-dd-yy"  # 14: the reader's short date
        elif isinstance(v, (int, float)):
            cell.number_format = {"percent": "0%", "eur": "#,##0.00"}.get(
                kind, "#,##0" if float(v).is_integer() else "#,##0.0")
        return cell

    for sheet in ex.sheets:
        ws = wb.create_sheet(sheet.title)
        first = 1
        if sheet.slug == "summary":
            for i, (lv, en) in enumerate([*header, (lv_leg, en_leg)], 1):
                put(ws, i, 1, lv).font = Font(bold=i == 1, size=13 if i == 1 else 10)
                put(ws, i, 3, en).font = Font(bold=i == 1, size=13 if i == 1 else 10, italic=i > 1)
            first = len(header) + 3
        elif sheet.note_lv:
            put(ws, 1, 1, sheet.note_lv).font = grey
            put(ws, 1, 4 if len(sheet.columns) > 4 else 2, sheet.note_en).font = grey
            first = 3
        for j, col in enumerate(sheet.columns, 1):
            put(ws, first, j, col.lv).font = bold
            put(ws, first + 1, j, col.en).font = grey
            for r in (first, first + 1):
                ws.cell(row=r, column=j).fill = head_fill
                ws.cell(row=r, column=j).alignment = Alignment(wrap_text=True, vertical="top")
        for i, row in enumerate(sheet.rows, first + 2):
            for j, (col, v) in enumerate(zip(sheet.columns, row), 1):
                put(ws, i, j, v, col.kind)
        ws.freeze_panes = ws.cell(row=first + 2, column=1)
        ws.auto_filter.ref = f"A{first + 1}:{get_column_letter(len(sheet.columns))}{first + 1 + len(sheet.rows)}"
        for j, col in enumerate(sheet.columns, 1):
            texts = [col.lv, col.en] + [_width_text(r[j - 1], col.kind) for r in sheet.rows]
            width = max(len(t) for t in texts) + 2
            ws.column_dimensions[get_column_letter(j)].width = max(8, min(width, 64 if j <= 3 else 24))
        if sheet.slug == "summary":
            ws.column_dimensions["A"].width = 12
    ws = wb.create_sheet("Grafiki - Charts")
    row = 1
    for name, png in charts.items():
        img = Image(io.BytesIO(png))
        ws.add_image(img, f"A{row}")
        row += int(img.height / 20) + 2
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _width_text(v, kind) -> str:
    if isinstance(v, (dt.date, dt.datetime)):
        return "Sep 2015" if kind == "month" else "2015-09-30"
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v)


# ---------------------------------------------------------------- page
def _num(v: float, lang: str, decimals: int | None = None) -> str:
    if decimals is None:
        decimals = 0 if float(v).is_integer() else 1
    text = f"{v:,.{decimals}f}"
    if lang == "lv":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text


def _date(d, lang: str, month_only: bool = False) -> str:
    if month_only:
        return f"{LV_MONTHS[d.month - 1]} {d.year}" if lang == "lv" else f"{EN_MONTHS[d.month - 1]} {d.year}"
    return f"{d:%d.%m.%Y}." if lang == "lv" else f"{d.day} {EN_MONTHS[d.month - 1]} {d.year}"


def bi(lv: str, en: str) -> str:
    """Both languages; the page shows one (its switch at the top)."""
    if lv == en:
        return html.escape(lv)
    return f'<span lang="lv">{html.escape(lv)}</span><span lang="en">{html.escape(en)}</span>'


def fmt(v, kind: str = "text") -> str:
    if v is None:
        return ""
    if isinstance(v, Hidden):
        return f'<span class="hidden">{html.escape(v.marker)}</span>'
    if isinstance(v, (dt.date, dt.datetime)):
        return bi(_date(v, "lv", kind == "month"), _date(v, "en", kind == "month"))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if kind == "percent":
            return bi(_num(100 * v, "lv", 0) + "\u00a0%", _num(100 * v, "en", 0) + "%")
        d = 2 if kind == "eur" else None
        return bi(_num(v, "lv", d), _num(v, "en", d))
    if kind == "hash":
        return f'<code title="{html.escape(str(v))}">{html.escape(str(v)[:12])}…</code>' if v else ""
    return html.escape(str(v))


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
main{max-width:1100px;margin:0 auto;padding:1.5rem 2rem 3rem;background:#fff}
h1{font-size:1.5rem;margin:.3rem 0}h2{font-size:1.15rem;margin-top:2.2rem;border-bottom:2px solid #00539f;padding-bottom:.2rem}
.lang{position:fixed;top:.6rem;right:1rem;background:#fff;padding:.3rem .6rem;border:1px solid #ccd;border-radius:6px;font-size:.9rem}
.lang label{cursor:pointer;text-decoration:underline}
#lang-lv:checked~main [lang=en],#lang-en:checked~main [lang=lv]{display:none}
.meta{color:#555;font-size:.92rem}.meta td{padding:.1rem 1rem .1rem 0;vertical-align:top}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #d5dde6;border-radius:8px;padding:.7rem 1rem;min-width:9rem}
.card .v{font-size:1.6rem;font-weight:600;color:#00539f}.card .l{font-size:.85rem;color:#444}
table.data{border-collapse:collapse;font-size:.86rem;width:100%}
table.data th{background:#dce6f1;text-align:left;padding:.3rem .4rem;position:sticky;top:0}
table.data td{border-bottom:1px solid #e5e9ee;padding:.22rem .4rem}
table.data td.n{text-align:right;font-variant-numeric:tabular-nums}
.hidden{color:#8a5a00;font-weight:600}.note{color:#666;font-size:.85rem}
img.chart{max-width:100%;margin:.6rem 0}
.banner{background:#fff4d6;border:1px solid #e0b84a;padding:.6rem .9rem;border-radius:6px}
@media print{.lang{display:none}main{max-width:none}}
"""


def to_html(ex: Extract, charts: dict[str, bytes], header: list[tuple[str, str]], banner: tuple[str, str] | None,
            version: int) -> str:
    p = ex.project
    lv_leg, en_leg = legend(ex.threshold)
    out = ['<!doctype html><html lang="lv"><head><meta charset="utf-8">',
           f"<title>{html.escape(p.code)} {html.escape(ex.period.label)}</title>",
           '<meta name="viewport" content="width=device-width,initial-scale=1">',
           f"<style>{CSS}</style></head><body>",
           # The switch: two hidden radios, siblings before <main> (CSS hides the other language).
           '<input type="radio" name="lang" id="lang-lv" checked hidden>'
           '<input type="radio" name="lang" id="lang-en" hidden>',
           '<div class="lang"><label for="lang-lv">Latviski</label> · <label for="lang-en">English</label></div>',
           "<main>"]
    out.append(f"<h1>{bi(p.name_lv, p.name_en)}</h1>")
    out.append("<table class=meta>" + "".join(f"<tr><td>{bi(lv, en)}</td></tr>" for lv, en in header[1:]) + "</table>")
    if banner:
        out.append(f"<p class=banner>{bi(*banner)}</p>")
    summary = ex.sheet("summary")
    figures = [r for r in summary.rows if r[0] == "figures"]
    out.append(f"<h2>{bi('Galvenie rādītāji periodā', 'Key figures in the period')}</h2><div class=cards>")
    for _, lv, en, v, _, _ in figures[:4]:
        out.append(f'<div class=card><div class=v>{fmt(v)}</div><div class=l>{bi(lv, en)}</div></div>')
    out.append("</div>")
    targets = [r for r in summary.rows if r[0] == "targets"]
    if targets:
        out.append(f"<h2>{bi('Mērķu izpilde', 'Progress against targets')} ({html.escape(ex.period.progress or '')})</h2>")
        out.append(_table([("Rādītājs", "Indicator"), ("Sasniegts", "Actual"), ("Mērķis", "Target"),
                           ("Izpilde", "Achievement")],
                          [[bi(lv, en), fmt(v), fmt(t), fmt(a, "percent")] for _, lv, en, v, t, a in targets],
                          numeric={1, 2, 3}))
    out.append(f"<h2>{bi('Grafiki', 'Charts')}</h2>")
    for name, png in charts.items():
        data = base64.b64encode(png).decode("ascii")
        out.append(f'<img class=chart alt="{html.escape(name)}" src="data:image/png;base64,{data}">')
    out.append(f'<p class=note>{bi(lv_leg, en_leg)}</p>')
    for sheet in ex.sheets[1:]:
        out.append(f"<h2>{bi(sheet.lv, sheet.en)}</h2>")
        if sheet.note_lv:
            out.append(f"<p class=note>{bi(sheet.note_lv, sheet.note_en)}</p>")
        cols = [c for c in sheet.columns if c.key not in ("name_lv", "name_en", "indicator")]
        has_names = any(c.key == "name_lv" for c in sheet.columns)
        idx = {c.key: i for i, c in enumerate(sheet.columns)}
        heads = ([("Rādītājs", "Indicator")] if has_names else []) + [(c.lv, c.en) for c in cols]
        rows = []
        for r in sheet.rows:
            cells = [bi(r[idx["name_lv"]], r[idx["name_en"]])] if has_names else []
            cells += [fmt(r[idx[c.key]], c.kind) for c in cols]
            rows.append(cells)
        numeric = {i + (1 if has_names else 0) for i, c in enumerate(cols)
                   if c.kind in ("number", "percent", "eur")}
        out.append(_table(heads, rows, numeric))
    out.append(f"<p class=note>{bi('Versija', 'Version')} {version}. "
               f"{bi('Tas pats pārskats: report.xlsx un CSV faili; kontrolsummas: manifest.json.', 'The same report: report.xlsx and the CSV files; checksums: manifest.json.')}</p>")
    out.append("</main></body></html>")
    return "\n".join(out)


def _table(heads, rows, numeric=frozenset()) -> str:
    th = "".join(f"<th>{bi(lv, en)}</th>" for lv, en in heads)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table class=data><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
