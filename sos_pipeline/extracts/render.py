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
import functools
import html
import io

from sos_pipeline.extracts.content import Extract, Hidden, Sheet
from sos_pipeline.extracts.labels import Label

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
    t = type(value)
    if t is str or t is int:        # most cells: the checks below, in the order they would apply
        text = value if t is str else str(value)
        return "'" + text if text.startswith(FORMULA_START) else text
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
def to_xlsx(ex: Extract, charts: dict[str, bytes], header: list[tuple[str, str]],
            cell_by_cell: bool = False) -> bytes:
    """The workbook. `cell_by_cell`: every cell of the sheets' rows through openpyxl's own value
    binding (what put_data saves; the tests compare the two)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.styles.cell_style import StyleArray
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
        if isinstance(v, Label):
            v = str(v)
        cell.value = v
        if isinstance(v, str):
            cell.data_type = "s"        # never a formula, whatever the text starts with
        elif isinstance(v, (dt.datetime, dt.date)):
            cell.number_format = "mmm yyyy" if kind == "month" else "mm-dd-yy"  # 14: the reader's short date
        elif isinstance(v, (int, float)):
            cell.number_format = {"percent": "0%", "eur": "#,##0.00"}.get(
                kind, "#,##0" if float(v).is_integer() else "#,##0.0")
        return cell

    protos: dict = {}       # (style, data type) of a data cell, by what decides them

    def put_data(ws, r, c, v, kind="text"):
        """put() for the rows of a sheet: the first cell of each kind through put(), the next ones
        made directly with that cell's style and data type. The same cells; openpyxl's binding of
        each value and its style lookups were most of the time a large workbook took."""
        t = type(v)
        if t is Hidden:
            key, value = ("hidden",), v.marker
        elif t is str or t is Label:
            value = str(v)
            if len(value) > 32767 or ILLEGAL_CHARACTERS_RE.search(value):
                return put(ws, r, c, v, kind)         # openpyxl cuts or refuses it
            key = ("text",)
        elif t is int or t is float:
            key, value = ("number", kind, float(v).is_integer()), v
        elif t is dt.date or t is dt.datetime:
            key, value = (t, kind == "month"), v
        elif v is None:
            key, value = ("none",), None
        else:
            return put(ws, r, c, v, kind)
        proto = protos.get(key)
        if proto is None or cell_by_cell:
            cell = put(ws, r, c, v, kind)
            # a copy: a cell's style array is changed in place when a style of it is set later
            # (the summary's values wrap), which must not reach the cells made from it
            protos[key] = (None if cell._style is None else StyleArray(cell._style), cell.data_type)
            return cell
        cell = Cell(ws, row=r, column=c, style_array=proto[0])
        cell._value, cell.data_type = value, proto[1]
        ws._cells[(r, c)] = cell
        return cell

    title = header[0][1] if header else ""
    for sheet in ex.sheets:
        ws = wb.create_sheet(sheet.title)
        shown = [j for j, c in enumerate(sheet.columns) if c.show]   # codes stay in the CSV files
        columns = [sheet.columns[j] for j in shown]
        first = 1
        if sheet.slug == "summary":
            # The title lines, Latvian then English, each across the whole (printed) width.
            r = 1
            for i, (lv, en) in enumerate([*header, (lv_leg, en_leg)]):
                for text, italic in ((lv, False), *([(en, True)] if en != lv else [])):
                    c = put(ws, r, 1, text)
                    c.font = Font(bold=i == 0, size=13 if i == 0 else 10, italic=italic and i > 0)
                    c.alignment = Alignment(wrap_text=True, vertical="top")
                    ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(columns))
                    lines = -(-len(text) // (130 if i == 0 else 160))
                    ws.row_dimensions[r].height = (18 if i == 0 else 13.5) * max(1, lines)
                    r += 1
            first = r + 1
        elif sheet.note_lv:
            put(ws, 1, 1, sheet.note_lv).font = grey
            put(ws, 1, 4 if len(columns) > 4 else 2, sheet.note_en).font = grey
            first = 3
        for j, col in enumerate(columns, 1):
            put(ws, first, j, col.lv).font = bold
            put(ws, first + 1, j, col.en).font = grey
            for r in (first, first + 1):
                ws.cell(row=r, column=j).fill = head_fill
                ws.cell(row=r, column=j).alignment = Alignment(wrap_text=True, vertical="top")
        for i, row in enumerate(sheet.rows, first + 2):
            for j, k in enumerate(shown, 1):
                put_data(ws, i, j, row[k], sheet.columns[k].kind)
        ws.freeze_panes = ws.cell(row=first + 2, column=1)
        last = get_column_letter(len(columns))
        ws.auto_filter.ref = f"A{first + 1}:{last}{first + 1 + len(sheet.rows)}"
        widths = []
        for j, (k, col) in enumerate(zip(shown, columns), 1):
            texts = [col.lv, col.en] + [_width_text(r[k], col.kind) for r in sheet.rows]
            width = max(len(t) for t in texts) + 2
            widths.append(max(8, min(width, 64 if j <= 3 or col.kind == "text" else 24)))
            ws.column_dimensions[get_column_letter(j)].width = widths[-1]
        if sheet.slug == "summary":
            ws.column_dimensions["A"].width = 32
            ws.column_dimensions["D"].width = 40
            for r in range(first + 2, first + 2 + len(sheet.rows)):
                text = ws.cell(row=r, column=4).value
                if isinstance(text, str):     # long project facts wrap (a row height that fits)
                    ws.cell(row=r, column=4).alignment = Alignment(wrap_text=True, vertical="top",
                                                                   horizontal="right")
                    ws.row_dimensions[r].height = 13.5 * max(1, -(-len(text) // 36))
        _page_setup(ws, title, wide=sum(widths) > 90, one_page=sheet.slug == "summary",
                    titles=None if sheet.slug == "summary" else f"{first}:{first + 1}",
                    area=f"A1:{last}{first + 1 + len(sheet.rows)}")
    ws = wb.create_sheet("Grafiki - Charts")
    row = 1
    from openpyxl.worksheet.pagebreak import Break
    for i, (name, png) in enumerate(charts.items()):
        img = Image(io.BytesIO(png))
        if i:
            ws.row_breaks.append(Break(id=row - 1))     # each chart on its own page
        ws.add_image(img, f"A{row}")
        row += int(img.height / 20) + 2
    _page_setup(ws, title, wide=True, one_page=False, titles=None, area=f"A1:O{max(row - 1, 1)}", fit=False)
    return save_workbook(wb)


# ---------------------------------------------------------------- saving the workbook
def save_workbook(wb, fast: bool = True) -> bytes:
    """The workbook's bytes, as openpyxl's `Workbook.save` writes them, with one difference when
    `fast`: each row of cells is written as one string instead of element by element through
    et_xmlfile's Python serialiser, which took about half of writing a large extract (89,000 cells:
    2.2 s). Same XML (tests/test_extracts.py compares both, part by part); a row holding anything
    this writer does not know (a formula, a comment, a link, rich text) is left to openpyxl."""
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    buf = io.BytesIO()
    wb.properties.modified = dt.datetime.now(tz=dt.timezone.utc).replace(tzinfo=None)   # as Workbook.save
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        (_fast_writer_class() if fast else ExcelWriter)(wb, archive).save()
    return buf.getvalue()


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_attr(text: str) -> str:
    return (_xml_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#09;"))


@functools.cache
def _fast_writer_class():
    """The writer classes, built on first use (openpyxl is imported only when a workbook is written)."""
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

    letters: dict[int, str] = {}

    class FastWorksheetWriter(WorksheetWriter):
        def write_row(self, xf, row, row_idx):
            out = getattr(xf, "_file", None)     # et_xmlfile's writer (openpyxl without lxml)
            if out is None or not all(
                    c._comment is None and c.hyperlink is None
                    and (c.data_type == "n" or (c.data_type == "s" and isinstance(c._value, str))
                         or (c.data_type == "d" and isinstance(c._value, (dt.date, dt.datetime))
                             and getattr(c._value, "tzinfo", None) is None))
                    for c in row) or self.ws.parent.iso_dates:
                return super().write_row(xf, row, row_idx)
            attrs = {"r": f"{row_idx}"}
            attrs.update(self.ws.row_dimensions.get(row_idx, {}))
            parts = ["<row", *[f' {k}="{_xml_attr(v)}"' for k, v in attrs.items()], ">"]
            epoch = self.ws.parent.epoch
            for cell in row:
                value, styled = cell._value, cell.has_style
                if value is None and not styled:
                    continue
                col = cell.col_idx
                letter = letters.get(col) or letters.setdefault(col, get_column_letter(col))
                head = f'<c r="{letter}{cell.row}"' + (f' s="{cell.style_id}"' if styled else "")
                kind = cell.data_type
                if kind == "s":
                    if value == "":
                        parts.append(head + ' t="inlineStr" />')
                        continue
                    stripped = value.strip()
                    space = ' xml:space="preserve"' if stripped and stripped != value else ""
                    parts.append(f'{head} t="inlineStr"><is><t{space}>{_xml_text(value)}</t></is></c>')
                    continue
                if kind == "d":
                    value = to_excel(value, epoch)
                if value is None or value == "":
                    parts.append(head + ' t="n" />')
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    text = "" if value != value or value in (float("inf"), float("-inf")) else "%.16g" % value
                else:
                    return super().write_row(xf, row, row_idx)
                parts.append(f'{head} t="n"><v>{text}</v></c>')
            parts.append("</row>")
            out("".join(parts))

    class FastExcelWriter(ExcelWriter):
        def write_worksheet(self, ws):
            if self.workbook.write_only:
                return super().write_worksheet(ws)
            ws._drawing = SpreadsheetDrawing()       # as ExcelWriter.write_worksheet (openpyxl 3.1)
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            writer = FastWorksheetWriter(ws)
            writer.write()
            ws._rels = writer._rels
            self._archive.write(writer.out, ws.path[1:])
            self.manifest.append(ws)
            writer.cleanup()

    return FastExcelWriter


def _page_setup(ws, title: str, wide: bool, one_page: bool, titles: str | None, area: str,
                fit: bool = True) -> None:
    """Print as a reader would want it: A4, landscape when wide, one page wide (the summary on one
    page), the header rows repeated on every page, the extract and page number in the margins."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    if fit:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if one_page else 0
    if titles:
        ws.print_title_rows = titles
    ws.print_area = area
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddHeader.left.text = title.replace("&", "&&")
    ws.oddHeader.left.size = 8
    ws.oddFooter.right.text = "&P / &N"
    ws.oddFooter.right.size = 8


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
    if isinstance(v, Label):
        return bi(v.lv, v.en)
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
img.chart{max-width:100%;margin:.6rem 0}figure.chart{margin:0}
.banner{background:#fff4d6;border:1px solid #e0b84a;padding:.6rem .9rem;border-radius:6px}
.print-only{display:none}
@media print{
 @page{size:A4 landscape;margin:12mm 10mm}
 body{background:#fff}.lang{display:none}main{max-width:none;padding:0}
 h2.page,figure.chart{break-before:page}
 figure.chart{margin:0;break-inside:avoid}img.chart{max-height:165mm;max-width:100%}
 table.data{font-size:.75rem}table.data th{position:static}
 thead{display:table-header-group}tr,.card{break-inside:avoid}h2{break-after:avoid}
 .print-only{display:block}
}
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
    for _, _, lv, en, v, _, _ in figures[:4]:
        out.append(f'<div class=card><div class=v>{fmt(v)}</div><div class=l>{bi(lv, en)}</div></div>')
    out.append("</div>")
    targets = [r for r in summary.rows if r[0] == "targets"]
    if targets:
        out.append(f"<h2>{bi('Mērķu izpilde', 'Progress against targets')} ({html.escape(ex.period.progress or '')})</h2>")
        out.append(_table([("Rādītājs", "Indicator"), ("Sasniegts", "Actual"), ("Mērķis", "Target"),
                           ("Izpilde", "Achievement")],
                          [[bi(lv, en), fmt(v), fmt(t), fmt(a, "percent")] for _, _, lv, en, v, t, a in targets],
                          numeric={1, 2, 3}))
    out.append(f'<p class=note>{bi(lv_leg, en_leg)}</p>')
    # Printed: the summary above on the first page, then each chart and each section on its own.
    for i, (name, png) in enumerate(charts.items()):
        data = base64.b64encode(png).decode("ascii")
        head = f"<h2>{bi('Grafiki', 'Charts')}</h2>" if i == 0 else ""
        out.append(f'<figure class=chart>{head}<img class=chart alt="{html.escape(name)}" '
                   f'src="data:image/png;base64,{data}"></figure>')
    for sheet in ex.sheets[1:]:
        out.append(f"<h2 class=page>{bi(sheet.lv, sheet.en)}</h2>")
        if sheet.note_lv:
            out.append(f"<p class=note>{bi(sheet.note_lv, sheet.note_en)}</p>")
        cols = [c for c in sheet.columns if c.show and c.key not in ("name_lv", "name_en")]
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
