"""What one funder extract says: read from the published warehouse, small cells suppressed,
laid out as sheets that the writers (render.py) turn into a workbook, CSV files and a page.

Every number an extract shows is a *cell* (indicator, breakdown, centre, period) of
reporting.indicator_values. All cells of one extract are suppressed together, once
(suppress.py), so a value hidden on one sheet is hidden on every sheet, and totals on
one sheet cannot reveal a cell hidden on another.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from sos_pipeline import reference
from sos_pipeline.extracts import labels, suppress
from sos_pipeline.extracts.labels import Label
from sos_pipeline.extracts.periods import ExtractPeriod
from sos_pipeline.indicators.catalogue import catalogue
from sos_pipeline.warehouse.db import sql

# Units whose values count people or families (indicators.md, "Privacy in extracts").
PEOPLE_UNITS = {"families", "children", "participants", "adults", "pairs", "mentors", "people"}
# The headline figures of the summary, in this order.
KEY_FIGURES = ("families_served", "children_served", "families_served_monthly_avg",
               "children_served_monthly_avg", "families_enrolled", "families_exited",
               "families_active_end", "contacts", "service_hours")
SERIES = ("families_served", "children_served")   # the monthly series and its charts
ALL = "ALL"
# What the sums of a project's cells are made by (this module's `equations`): part of what a
# memo's entry for an indicator rests on (suppress.Memo keys its own code).
_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Hidden:
    """A suppressed cell as shown: `<5` (a small count) or `x` (hidden so that no small count
    can be worked out from a total)."""
    marker: str

    def __str__(self) -> str:
        return self.marker


@dataclass
class Column:
    key: str      # the CSV header
    lv: str
    en: str
    kind: str = "text"   # text, date, month, number, percent, eur, hash
    show: bool = True    # False: a code for machines, in the CSV file only (the workbook and page show labels)


@dataclass
class Sheet:
    slug: str     # the CSV file name, without .csv
    lv: str
    en: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    note_lv: str = ""
    note_en: str = ""
    numbers: bool = True   # its values are "numbers of the extract" (restatements compare them)

    @property
    def title(self) -> str:   # the workbook's sheet name (at most 31 characters, no / \ ? * [ ] :)
        return f"{self.lv} - {self.en}"[:31]


@dataclass
class Extract:
    period: ExtractPeriod
    project: reference.Project
    centres: list[reference.Centre]
    threshold: int
    sheets: list[Sheet]
    series: dict          # {indicator: {centre: [(month_start, value or Hidden)]}}
    progress: list[dict]  # target progress at period.progress, for the chart
    deliveries: list[dict]
    has_data: bool
    data_up_to: dt.date | None = None   # set while the period is in progress: the last day of data
    services_end: dt.date | None = None  # services ended before the period's end: later months have none

    def sheet(self, slug: str) -> Sheet:
        return next(s for s in self.sheets if s.slug == slug)


def _cat():
    return {i.indicator: i for i in catalogue()}


def _query(con, name: str, **params) -> list[dict]:
    cur = con.execute(sql(f"extracts/{name}"), params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _breakdown_key(b: str | None) -> str | None:
    return b.split("=", 1)[0] if b else None


def equations(values: dict, centres: list[str], months: dict[str, list[str]],
              over_time: list[tuple[str, list[str]]] = (),
              spans: dict[str, int] | None = None) -> list[suppress.Equation]:
    """The sums a reader could exploit, kept only where they hold exactly:
    a total over centres equals the sum of the centres (families of different centres are
    different families), a headline equals the sum of a breakdown's values (when the breakdown
    splits the families), a monthly average times its months equals the sum of the months
    (for periods made of whole months: months[period] lists them), and a period equals the sum
    of the periods it is made of (over_time: PTD-P3 = PTD-P2 + P3, PTD = P1 + ... + Pn, PTD =
    the years: true of sums such as contacts or people trained, not of distinct counts).
    spans[period]: the calendar months of a whole-month period; a monthly average may divide by
    more months than months[period] lists while the period is in progress (its months after
    the last month of data have no rows yet, and count 0)."""
    eqs = []
    cells = {}
    for (ind, bd, centre, period) in values:
        cells.setdefault((ind, bd, centre), set()).add(period)
    for (ind, bd, centre), have in cells.items():
        for total, parts in over_time:
            if total in have and all(p in have for p in parts):
                eqs.append(suppress.total_of((ind, bd, centre, total), [(ind, bd, centre, p) for p in parts]))
    groups: dict[tuple, dict] = {}
    for (ind, bd, centre, period) in values:
        groups.setdefault((ind, bd, period), {})[centre] = (ind, bd, centre, period)
    for (ind, bd, period), cells in groups.items():
        if ALL in cells:
            eqs.append(suppress.total_of(cells[ALL], [(ind, bd, c, period) for c in centres]))
    split: dict[tuple, list] = {}
    for (ind, bd, centre, period) in values:
        if bd:
            split.setdefault((ind, _breakdown_key(bd), centre, period), []).append((ind, bd, centre, period))
    for (ind, _, centre, period), parts in split.items():
        head = (ind, None, centre, period)
        if head in values:
            eqs.append(suppress.total_of(head, sorted(parts, key=repr)))
    for (i, bd, centre, period) in list(values):
        if not i.endswith("_monthly_avg") or period not in months:
            continue
        parts = [(i.removesuffix("_monthly_avg"), None, centre, m) for m in months[period]]
        if all(p in values for p in parts):
            # Only the month counts n for which n * average is (nearly) the sum are built; the
            # exact test is `holds`, below, as for every other sum.
            total, avg = math.fsum(values[p] for p in parts), values[(i, bd, centre, period)]
            for n in range(1, max(len(parts), (spans or {}).get(period, 0)) + 1):
                if abs(total - n * avg) < 1e-3:
                    eqs.append(suppress.total_of((i, bd, centre, period), parts, weight=n))
    return [e for e in eqs if suppress.holds(e, values)]


@dataclass
class ProjectCells:
    """Every cell any extract of one project shows, and which of them are hidden. Suppressing
    them all at once keeps every extract of the project consistent with every other: a month
    or a project-to-date figure hidden in one extract is hidden in all of them."""
    values: dict
    status: dict
    threshold: int
    rows: dict            # period label -> [(indicator, breakdown)] shown in "by centre"
    months: list          # [(label, first day)] of the project's months
    targets: list[dict]   # target progress, every PTD period whose reporting period has begun
    data_end: dt.date | None = None   # the last day of the last month of data (None: no data)

    def show(self, key):
        s = self.status.get(key)
        if s == "primary":
            return Hidden(f"<{self.threshold}")
        if s:
            return Hidden("x")
        v = self.values.get(key, 0.0)
        return int(v) if float(v).is_integer() else v


def data_end(con) -> dt.date | None:
    """The last day of the last month of data: the ALL scope's calendar months run to it
    (indicators.md), while reporting periods exist whatever the data."""
    return con.execute("SELECT max(period_end) FROM reporting.periods "
                       "WHERE project IS NULL AND period_type = 'month'").fetchone()[0]


def project_cells(con, project: reference.Project, labels: list[str], memo: suppress.Memo | None = None
                  ) -> ProjectCells:
    """Every cell the project's extracts show, suppressed as one table (`memo`: see suppress.Memo)."""
    cat = _cat()
    order = {name: i for i, name in enumerate(cat)}
    codes = list(project.centres)
    periods = {p: (t, s, e) for p, t, s, e in con.execute(
        "SELECT period, period_type, period_start, period_end FROM reporting.periods WHERE project = ?",
        [project.code]).fetchall()}
    months = sorted(((p, s) for p, (t, s, _) in periods.items() if t == "month"), key=lambda m: m[1])
    targets = _query(con, "targets", project=project.code)
    ptds = sorted({r["period"] for r in targets})
    raw = _query(con, "values", project=project.code, periods=[*labels, *(m for m, _ in months), *ptds])
    exact = {(r["indicator"], r["breakdown"], r["centre"], r["period"]): r["value"] for r in raw}
    in_period: dict[str, set] = {}
    for (i, b, _, period) in exact:
        in_period.setdefault(period, set()).add((i, b))
    rows = {}
    for label in labels:
        present = set(in_period.get(label, ()))
        # every indicator a project has (reporting rates are for the ALL project only)
        present |= {(i, None) for i, c in cat.items() if not c.all_project_only}
        rows[label] = sorted(present, key=lambda k: (order.get(k[0], 99), k[1] is not None, k[1] or ""))
    keys = {(i, b, c, label) for label in labels if label in periods
            for i, b in rows[label] for c in [*codes, ALL]}
    keys |= {(i, None, c, m) for i in SERIES for c in [*codes, ALL] for m, _ in months}
    keys |= {(r["indicator"], r["breakdown"], r["centre"], r["period"]) for r in targets}
    values = {k: exact.get(k, 0.0) for k in keys}
    sensitive = {k for k in values if k[0] in cat and cat[k[0]].unit in PEOPLE_UNITS}
    whole, spans = {}, {}
    for label in labels:
        if label in periods:
            _, s, e = periods[label]
            inside = [m for m, ms in months if s <= ms <= e]
            if s.day == 1 and inside and (e + dt.timedelta(days=1)).day == 1:
                whole[label] = inside
                spans[label] = (e.year - s.year) * 12 + e.month - s.month + 1
    from sos_pipeline.extracts.periods import reporting_periods
    n = len(reporting_periods(project))
    over_time = [(f"PTD-P{k}" if k < n else "PTD", [f"PTD-P{k - 1}", f"P{k}"] if k > 1 else [f"P{k}"])
                 for k in range(1, n + 1)]
    over_time += [(f"PTD-P{n}", [f"PTD-P{n - 1}", f"P{n}"] if n > 1 else [f"P{n}"]),
                  ("PTD", [f"P{k}" for k in range(1, n + 1)]),
                  ("PTD", [p for p in labels if p.isdigit()])]
    over_time = [(t, ps) for t, ps in over_time if ps]
    # Hide the actuals that targets are measured against only when nothing else will do.
    keep = {(r["indicator"], r["breakdown"], r["centre"], p) for r in targets
            for p in (r["period"], "PTD" if r["period"] == "PTD" else r["period"].removeprefix("PTD-"))}
    status = _protect_by_indicator(values, sensitive, keep, project.suppression_threshold, codes, whole,
                                   over_time, spans, memo)
    return ProjectCells(values, status, project.suppression_threshold, rows, months, targets,
                        data_end(con))


def _protect_by_indicator(values: dict, sensitive: set, keep: set, threshold: int, codes: list[str],
                          whole: dict, over_time: list, spans: dict, memo: suppress.Memo | None) -> dict:
    """suppress.protect over the project's cells, one indicator (with its monthly average) at a
    time: no sum of `equations` links two indicators, so the result is the same as all at once.
    With a memo, an indicator whose cells, values and markers are all as in a build before takes
    that build's result without its sums being built again (a correction changes a few
    indicators of a project, not all)."""
    def protected(sub: dict) -> dict:
        return suppress.protect(sub, sensitive & sub.keys(), equations(sub, codes, whole, over_time, spans),
                                threshold, keep=keep & sub.keys(), memo=memo)

    groups: dict[str, dict] = {}
    for k, v in values.items():
        groups.setdefault(k[0].removesuffix("_monthly_avg"), {})[k] = v
    setting = repr((_CODE, threshold, codes, sorted(whole.items()), over_time, sorted(spans.items())))
    status: dict = {}
    for name in sorted(groups):
        sub = groups[name]
        if memo is None:
            status.update(protected(sub))
            continue
        cells = sorted(sub, key=repr)
        key = hashlib.sha256(repr((setting, [(k, sub[k], k in sensitive, k in keep) for k in cells]))
                             .encode()).hexdigest()
        got = memo.group(key, cells)
        if got is None:
            before = set(memo.used)
            got = protected(sub)
            memo.put_group(key, cells, got, [part for part in memo.used if part not in before])
        status.update(got)
    return {k: status[k] for k in sorted(status, key=repr)}


def collect(con, ep: ExtractPeriod, ref: reference.Reference, cells: ProjectCells | None = None) -> Extract:
    """Read one extract's figures from a (published) warehouse connection. `cells`: the project's
    suppressed cells when already computed for another extract of the same project."""
    from sos_pipeline.extracts.periods import extract_periods

    cat = _cat()
    project = ref.projects[ep.project]
    centres = [ref.centres[c] for c in project.centres]
    codes = [c.code for c in centres]
    t = project.suppression_threshold
    if cells is None:
        cells = project_cells(con, project, [p.label for p in extract_periods(project)])
    months = [m for m, start in cells.months if start <= ep.end and start >= ep.start.replace(day=1)]
    month_start = dict(cells.months)
    # Every reporting period is in the warehouse from the first refresh (0 until it begins); an
    # extract has data once its period has begun by the last day of data. One still in progress
    # shows its figures so far and says up to which day.
    has_data = (cells.data_end is not None and ep.start <= cells.data_end
                and con.execute("SELECT count(*) FROM reporting.periods WHERE project = ? AND period = ?",
                                [ep.project, ep.label]).fetchone()[0] > 0)
    in_progress = has_data and ep.end > cells.data_end
    target_rows = [r for r in cells.targets if (r["period"].startswith("PTD-P") and r["period_end"] <= ep.end)
                   or (r["period"] == "PTD" and ep.progress == "PTD")]
    shown_rows = cells.rows.get(ep.label, [])
    show = cells.show

    def achievement(key, target):
        v = show(key)
        return Hidden("x") if isinstance(v, Hidden) else (v / target if target else None)

    # Summary: the project, the period, key figures, progress against targets.
    summary = Sheet("summary", "Kopsavilkums", "Summary", [
        Column("section", "Sadaļas kods", "Section code", show=False),
        Column("section_label", "Sadaļa", "Section"), Column("item_lv", "Rādītājs", "Item (Latvian)"),
        Column("item_en", "Rādītājs angliski", "Item"), Column("value", "Vērtība", "Value", "number"),
        Column("target", "Mērķis", "Target", "number"), Column("achievement", "Izpilde", "Achievement", "percent")])
    info = [("Projekts", "Project", project.code), ("Projekta numurs", "Project number", project.number or "—"),
            ("Projekta nosaukums", "Project title (Latvian)", project.name_lv),
            ("Projekta nosaukums angliski", "Project title (English)", project.name_en),
            ("Finansētājs", "Funder", project.funder),
            ("Centri", "Centres", ", ".join(f"{c.code} ({c.name_lv})" for c in centres)),
            ("Periods", "Period", ep.label), ("Perioda sākums", "Period start", ep.start),
            ("Perioda beigas", "Period end", ep.end),
            *([("Dati līdz (periods vēl turpinās)", "Data up to (period in progress)", cells.data_end)]
              if in_progress else []),
            ("Projekta laiks", "Project window", f"{project.start:%Y-%m-%d} – {project.end:%Y-%m-%d}"),
            ("Mazo skaitļu slieksnis", "Small-cell threshold", t)]
    summary.rows += [["project", labels.section("project"), lv, en, v, None, None] for lv, en, v in info]
    for ind in KEY_FIGURES:
        c = cat[ind]
        summary.rows.append(["figures", labels.section("figures"), c.name_lv, c.name_en,
                             show((ind, None, ALL, ep.label)), None, None])
    progress = [r for r in target_rows if r["period"] == ep.progress]

    def what(r) -> Label:
        bd = labels.breakdown(r["breakdown"])
        extra = [x for x in (bd, None if r["centre"] == ALL else r["centre"]) if x]
        return Label("".join(f" ({x.lv if isinstance(x, Label) else x})" for x in extra),
                     "".join(f" ({x.en if isinstance(x, Label) else x})" for x in extra))
    for r in progress:
        c = cat[r["indicator"]]
        key = (r["indicator"], r["breakdown"], r["centre"], r["period"])
        w = what(r)
        summary.rows.append(["targets", labels.section("targets"), c.name_lv + w.lv, c.name_en + w.en, show(key),
                             r["target"], achievement(key, r["target"])])

    by_centre = Sheet("by_centre", "Pa centriem", "By centre", [
        Column("indicator", "Rādītāja kods", "Indicator code", show=False),
        Column("name_lv", "Rādītājs", "Indicator (Latvian)"), Column("name_en", "Rādītājs angliski", "Indicator"),
        Column("breakdown", "Sadalījuma kods", "Breakdown code", show=False),
        Column("breakdown_label", "Sadalījums", "Breakdown"),
        Column("unit", "Mērvienības kods", "Unit code", show=False), Column("unit_label", "Mērvienība", "Unit"),
        *[Column(c, c, c, "number") for c in codes], Column(ALL, "Visi centri", "All centres", "number")],
        note_lv="Unikālie skaitļi nav saskaitāmi pa periodiem vai projektiem.",
        note_en="Unique counts do not add up across periods or projects.")
    for ind, bd in shown_rows:
        c = cat[ind]
        by_centre.rows.append([ind, c.name_lv, c.name_en, bd or "", labels.breakdown(bd) or "", c.unit,
                               labels.unit(c.unit),
                               *[show((ind, bd, cc, ep.label)) for cc in [*codes, ALL]]])

    monthly = Sheet("monthly", "Pa mēnešiem", "Monthly", [Column("month", "Mēnesis", "Month", "month")])
    for ind in SERIES:
        c = cat[ind]
        monthly.columns += [Column(f"{ind}_{cc}", f"{c.name_lv}: {cc if cc != ALL else 'visi'}",
                                   f"{c.name_en}: {cc if cc != ALL else 'all'}", "number") for cc in [*codes, ALL]]
    monthly.columns += [Column("status", "Statusa kods", "Status code", show=False),
                        Column("status_label", "Piezīme", "Note")]
    # Months after the project's services ended (services_end) have no services by design: shown
    # as such, never as a fall to 0.
    ended = project.services_end if project.services_end and project.services_end < ep.end else None
    series = {ind: {cc: [] for cc in [*codes, ALL]} for ind in SERIES}
    for m in months:
        after = ended is not None and month_start[m] > ended
        row = [month_start[m]]
        for ind in SERIES:
            for cc in [*codes, ALL]:
                v = None if after else show((ind, None, cc, m))
                row.append(v)
                series[ind][cc].append((month_start[m], v))
        row += (["after_services_end", labels.section("after_services_end")] if after else ["", ""])
        monthly.rows.append(row)
    monthly.note_lv = "Katra mēneša unikālās ģimenes un bērni; perioda skaits nav mēnešu summa."
    monthly.note_en = "Distinct families and children each month; a period's count is not the sum of its months."

    targets = Sheet("targets", "Mērķi", "Targets", [
        Column("period", "Līdz periodam", "To period"), Column("period_end", "Līdz datumam", "To date", "date"),
        Column("indicator", "Rādītāja kods", "Indicator code", show=False),
        Column("name_lv", "Rādītājs", "Indicator (Latvian)"), Column("name_en", "Rādītājs angliski", "Indicator"),
        Column("breakdown", "Sadalījuma kods", "Breakdown code", show=False),
        Column("breakdown_label", "Sadalījums", "Breakdown"),
        Column("centre", "Centra kods", "Centre code", show=False), Column("centre_label", "Centrs", "Centre"),
        Column("target", "Mērķis", "Target", "number"),
        Column("target_from", "Mērķis spēkā no", "Target in force from", "date"),
        Column("actual", "Sasniegts", "Actual", "number"), Column("achievement", "Izpilde", "Achievement", "percent")],
        note_lv="Mērķis, kas bija spēkā perioda beigās; izpilde = sasniegtais / mērķis.",
        note_en="The target in force at the period's end; achievement = actual / target.")
    for r in target_rows:
        c = cat[r["indicator"]]
        key = (r["indicator"], r["breakdown"], r["centre"], r["period"])
        targets.rows.append([r["period"], r["period_end"], r["indicator"], c.name_lv, c.name_en, r["breakdown"] or "",
                             labels.breakdown(r["breakdown"]) or "", r["centre"], labels.centre(r["centre"]),
                             r["target"], r["target_from"], show(key), achievement(key, r["target"])])
    progress_chart = [{"label": cat[r["indicator"]].name_en + what(r).en,
                       "label_lv": cat[r["indicator"]].name_lv + what(r).lv,
                       "target": r["target"],
                       "actual": show((r["indicator"], r["breakdown"], r["centre"], r["period"]))}
                      for r in progress]

    budget = Sheet("budget", "Budžets", "Budget", [
        Column("source", "Avots (kā projektā)", "Source (as in the project)", show=False),
        Column("source_label", "Avots", "Source"), Column("amount_eur", "Summa, EUR", "Amount, EUR", "eur"),
        Column("share", "Daļa", "Share", "percent")])
    total = sum(a for _, a in project.budget)
    budget.rows = [[s, labels.budget_source(s), a, a / total if total else None] for s, a in project.budget]
    if project.budget:
        budget.rows.append(["Kopā / Total", Label("Kopā", "Total"), total, 1.0])
    else:
        budget.note_lv = "Projekta budžets nav norādīts atsauces datos."
        budget.note_en = "No budget is recorded for this project in the reference data."

    deliveries = _query(con, "deliveries", project=ep.project, start=ep.start, end=ep.end)
    months_delivered = _query(con, "timeliness", project=ep.project, start=ep.start, end=ep.end)
    warnings = _query(con, "warnings", project=ep.project, start=ep.start, end=ep.end)
    quality = Sheet("data_quality", "Datu kvalitāte", "Data quality", [
        Column("kind", "Veida kods", "Kind code", show=False), Column("kind_label", "Veids", "Kind"),
        Column("centre", "Centrs", "Centre"), Column("month", "Mēnesis", "Month", "month"),
        Column("delivery", "Piegāde", "Delivery"), Column("sha256", "Kontrolsumma (sha256)", "Checksum (sha256)", "hash"),
        Column("detail", "Piezīmes (kodi)", "Detail (codes)", show=False),
        Column("detail_label", "Piezīmes", "Detail")], numbers=False,
        note_lv="Piegādes, uz kurām balstās pārskats; katra centra katrs mēnesis: saņemts laikā, pēc "
                "termiņa vai trūkst; validācijas brīdinājumi.",
        note_en="The deliveries this extract rests on; each centre's months: delivered on time, late, or "
                "missing; validation warnings.")
    for d in deliveries:
        n, w = d["rows_loaded"] or 0, d["warnings"]
        quality.rows.append(["delivery", labels.quality_kind("delivery"), d["centre"], d["month"], d["delivery"],
                             d["sha256"], f"{d['form']}; {n} rows; {w} warnings",
                             Label(f"{d['form']}; {n} rindas; {w} brīdinājumi", f"{d['form']}; {n} rows; {w} warnings")])
    for m in months_delivered:     # on time: the first accepted version received by the due day
        due = f"{m['due_on']:%Y-%m-%d}"
        if m["timeliness"] == "on_time":
            kind, detail = "month_on_time", f"Saņemta laikā (termiņš {due}) / delivered on time (due {due})"
        elif m["timeliness"] == "late":
            kind, detail = "month_late", (f"Saņemta pēc termiņa {due}, pieņemta {m['accepted_on']:%Y-%m-%d} / "
                                          f"delivered late: due {due}, accepted {m['accepted_on']:%Y-%m-%d}")
        else:
            kind, detail = "missing_month", f"Nav pieņemtas piegādes (termiņš {due}) / no accepted delivery (due {due})"
        lv, _, en = detail.partition(" / ")
        quality.rows.append([kind, labels.quality_kind(kind), m["centre"], m["month"], "", "", detail, Label(lv, en)])
    for w in warnings:
        rule, where = labels.rule(w["rule"]), labels.data_table(w["table_name"])
        quality.rows.append(["warning", labels.quality_kind("warning"), w["centre"], w["month"], w["delivery"], "",
                             f"{w['rule']} ({'/'.join(x for x in (w['table_name'], w['column_name']) if x) or 'delivery'}: "
                             f"{w['row_count']} rows)",
                             Label(f"{rule.lv} ({where.lv + ', ' if where else ''}{w['row_count']} rindas)",
                                   f"{rule.en} ({where.en + ', ' if where else ''}{w['row_count']} rows)")])
    if not (deliveries or months_delivered or warnings):
        quality.rows.append(["none", labels.quality_kind("none"), "", None, "", "",
                             "Nav datu šim periodam / no data for this period",
                             Label("Nav datu šim periodam", "No data for this period")])

    return Extract(period=ep, project=project, centres=centres, threshold=t,
                   sheets=[summary, by_centre, monthly, targets, budget, quality],
                   series=series, progress=progress_chart, deliveries=deliveries, has_data=has_data,
                   data_up_to=cells.data_end if in_progress else None, services_end=ended)
