"""The published figures of domain.md, measured straight from the sample's row dicts.

`measure(deliveries)` implements the definitions of indicators.md for the figures in
domain.md's "Published figures" table, in plain Python over the tables of the monthly
deliveries (written independently of the warehouse's SQL, so that the two can check each
other). `PUBLISHED` holds the values the figures must have. The generator's calibration step
(`generator.Calibrator`) makes the simulated sample hit them exactly.

Only the final version of each centre-month counts (what the warehouse keeps): when a
centre-month occurs more than once in `deliveries`, the last one wins.

    python -m sos_pipeline.sample.calibration      # measured vs published
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable

D = dt.date
EEA, BAU_FS, ABLV = "EEA-2013-150", "BAU-FS", "ABLV-CAMPS"

# Project windows (projects.yaml): scope = activity with that project dated in the window.
WINDOWS = {EEA: (D(2013, 11, 15), D(2015, 7, 31)), BAU_FS: (D(2013, 1, 1), D(2018, 12, 31)),
           ABLV: (D(2013, 1, 1), D(2018, 12, 31))}
# EEA-2013-150's reporting periods: 3 months each from the start date; the last ends with the window.
EEA_PERIOD_ENDS = {"P1": D(2014, 2, 14), "P2": D(2014, 5, 14), "P3": D(2014, 8, 14), "P4": D(2014, 11, 14),
                   "P5": D(2015, 2, 14), "P6": D(2015, 5, 14), "P7": D(2015, 7, 31)}
FULL_COURSE = 10                       # violence_survivors (contract.FULL_COURSE_SESSIONS)

PUBLISHED: dict[str, int] = {
    # EEA-2013-150, both centres, project to date at the end of reporting periods 2..6, and whole project
    "eea.families_served.PTD-P2": 79,
    "eea.families_served.PTD-P3": 92,
    "eea.families_served.PTD-P4": 101,
    "eea.families_served.PTD-P5": 117,
    "eea.families_served.PTD-P6": 127,
    "eea.families_served.PTD": 129,
    "eea.children_served.PTD": 271,
    "eea.families_by_service.psychologist.BAU": 28,
    "eea.families_by_service.psychologist.VAL": 60,
    "eea.families_by_service.legal.BAU": 51,
    "eea.families_by_service.legal.VAL": 30,
    "eea.families_by_service.family_group_conference": 6,
    "eea.mentoring_pairs": 6,
    "eea.mentors": 6,
    "eea.events.camp": 3,
    "eea.events.camp.BAU": 2,
    "eea.events.camp.VAL": 1,
    "eea.BAU.groups.violence_survivors": 2,
    "eea.BAU.group_completers.violence_survivors": 10,
    "eea.VAL.camp_2014-06-18.event_families": 5,
    "eea.VAL.camp_2014-06-18.event_adults": 5,
    "eea.VAL.camp_2014-06-18.event_children": 17,
    # BAU-FS (centre BAU)
    "baufs.2013.families_served_monthly_avg": 57,
    "baufs.2014.families_served_monthly_avg": 40,
    "baufs.2015.families_served_monthly_avg": 41,
    "baufs.2013.children_served_monthly_avg": 168,
    "baufs.2014.children_served_monthly_avg": 109,
    "baufs.2015.children_served_monthly_avg": 105,
    "baufs.2015.children_served": 131,
    "baufs.2017.families_served": 50,
    "baufs.2017.children_served": 130,
    "baufs.2017.families_enrolled": 12,
    "baufs.2017.families_exited": 18,
    "baufs.2017.families_exited.independent": 11,
    "baufs.2017.families_exited.moved": 7,
    # ABLV-CAMPS, BAU, 2017
    "ablv.BAU.2017.events.camp": 1,
    "ablv.BAU.2017.camp_days": 3,
    "ablv.BAU.2017.camp_before_midsummer": 1,
    "ablv.BAU.2017.event_families.camp": 6,
}


def _final(deliveries: Iterable) -> list:
    """The last version of each centre-month, in (centre, year, month) order."""
    last = {}
    for d in deliveries:
        last[(d.centre, d.year, d.month)] = d
    return [last[k] for k in sorted(last)]


class Sample:
    """Indexes of the final deliveries for the figures' definitions."""

    def __init__(self, deliveries: Iterable):
        self.months = _final(deliveries)
        # activity rows: (project, centre, family_ref, date, (year, month))
        self.activity: list[tuple] = []
        self.contacts: list[dict] = []             # service rows + centre
        self.sessions: dict[tuple, dict] = {}      # (centre, session_id) -> row + centre
        self.attendance: list[dict] = []
        self.events: dict[tuple, dict] = {}
        self.participants: list[dict] = []
        self.pairs: list[dict] = []
        self.children: dict[tuple, list[str]] = defaultdict(list)   # (centre, ym, family) -> refs
        self.families: dict[tuple, dict] = {}      # (centre, family_ref) -> latest row
        for md in self.months:
            c, ym, t = md.centre, (md.year, md.month), md.tables
            for r in t.get("families", []):
                self.families[(c, r["family_ref"])] = r
            for r in t.get("children", []):
                self.children[(c, ym, r["family_ref"])].append(r["child_ref"])
            for r in t.get("services", []):
                self.contacts.append(dict(r, centre=c))
                self.activity.append((r.get("project"), c, r["family_ref"], r["date"], ym))
            sessions = {r["session_id"]: r for r in t.get("group_sessions", [])}
            for r in sessions.values():
                self.sessions[(c, r["session_id"])] = dict(r, centre=c)
            for r in t.get("group_attendance", []):
                s = sessions[r["session_id"]]
                self.attendance.append(dict(r, centre=c, date=s["date"], project=s.get("project"),
                                            group_code=s["group_code"], group_type=s["group_type"]))
                self.activity.append((s.get("project"), c, r["family_ref"], s["date"], ym))
            events = {r["event_id"]: r for r in t.get("events", [])}
            for r in events.values():
                self.events[(c, r["event_id"])] = dict(r, centre=c)
            for r in t.get("event_participants", []):
                e = events[r["event_id"]]
                self.participants.append(dict(r, centre=c, start_date=e["start_date"], project=e.get("project"),
                                              event_type=e["event_type"]))
                self.activity.append((e.get("project"), c, r["family_ref"], e["start_date"], ym))
            for r in t.get("mentoring", []):
                self.pairs.append(dict(r, centre=c))

    @staticmethod
    def in_scope(project: str, row_project, day: dt.date) -> bool:
        lo, hi = WINDOWS[project]
        return row_project == project and lo <= day <= hi

    def served(self, project: str, lo: dt.date, hi: dt.date, centre: str | None = None) -> dict:
        """(centre, family_ref) -> set of delivery months in which it was served in [lo, hi]."""
        out: dict[tuple, set] = defaultdict(set)
        for p, c, f, day, ym in self.activity:
            if self.in_scope(project, p, day) and lo <= day <= hi and centre in (None, c):
                out[(c, f)].add(ym)
        return out

    def families_served(self, project, lo, hi, centre=None) -> int:
        return len(self.served(project, lo, hi, centre))

    def children_served(self, project, lo, hi, centre=None) -> int:
        kids = set()
        for (c, f), yms in self.served(project, lo, hi, centre).items():
            for ym in yms:
                kids |= {(c, k) for k in self.children.get((c, ym, f), [])}
        return len(kids)

    def monthly_avg(self, project, year: int, centre=None) -> tuple[float, float]:
        fams = kids = 0
        for m in range(1, 13):
            lo = D(year, m, 1)
            hi = (D(year + (m == 12), m % 12 + 1, 1)) - dt.timedelta(days=1)
            fams += self.families_served(project, lo, hi, centre)
            kids += self.children_served(project, lo, hi, centre)
        return fams / 12, kids / 12

    def families_by_service(self, project, service, lo, hi, centre=None) -> int:
        return len({(r["centre"], r["family_ref"]) for r in self.contacts
                    if r["service"] == service and self.in_scope(project, r.get("project"), r["date"])
                    and lo <= r["date"] <= hi and centre in (None, r["centre"])})

    def enrolled(self, project, lo, hi, centre=None) -> int:
        return sum(1 for key in self.served(project, lo, hi, centre)
                   if lo <= self.families[key]["enrolled_on"] <= hi)

    def exited(self, project, lo, hi, centre=None) -> dict[str, int]:
        """exit_reason -> families exited in [lo, hi] that were served in scope on or before exiting."""
        out: dict[str, int] = defaultdict(int)
        plo = WINDOWS[project][0]
        for key, f in self.families.items():
            if f.get("exited_on") and lo <= f["exited_on"] <= hi and centre in (None, key[0]) \
                    and key in self.served(project, plo, f["exited_on"], key[0]):
                out[f["exit_reason"]] += 1
        return out

    def pairs_active(self, project, lo, hi) -> tuple[int, int]:
        span: dict[tuple, list] = {}
        for r in self.pairs:
            if r.get("project") != project:
                continue
            key = (r["centre"], r["pair_id"])
            s = span.setdefault(key, [r["started_on"], None, False, r["mentor_ref"]])
            s[0] = min(s[0], r["started_on"])
            if r.get("ended_on"):
                s[1] = r["ended_on"] if s[1] is None else max(s[1], r["ended_on"])
        wlo, whi = WINDOWS[project]
        lo, hi = max(lo, wlo), min(hi, whi)
        active = {k: s for k, s in span.items() if s[0] <= hi and (s[1] is None or s[1] >= lo)}
        return len(active), len({(k[0], s[3]) for k, s in active.items()})

    def events_of(self, project, event_type, lo, hi, centre=None) -> list[dict]:
        return [e for e in self.events.values() if e["event_type"] == event_type
                and self.in_scope(project, e.get("project"), e["start_date"]) and lo <= e["start_date"] <= hi
                and centre in (None, e["centre"])]

    def participation(self, events: list[dict]) -> tuple[int, int, int]:
        keys = {(e["centre"], e["event_id"]) for e in events}
        rows = [p for p in self.participants if (p["centre"], p["event_id"]) in keys]
        return (len({(p["centre"], p["family_ref"]) for p in rows}), sum(p["adults"] for p in rows),
                sum(p["children"] for p in rows))

    def groups(self, project, group_type, lo, hi, centre=None) -> int:
        return len({(s["centre"], s["group_code"]) for s in self.sessions.values()
                    if s["group_type"] == group_type and self.in_scope(project, s.get("project"), s["date"])
                    and lo <= s["date"] <= hi and centre in (None, s["centre"])})

    def completers(self, project, group_type, lo, hi, centre=None, full: int = FULL_COURSE) -> int:
        """Participants whose attended sessions of one group_code (in scope) reach `full`, the
        reaching session in [lo, hi]. A family's adults are one participant; each child is one."""
        dates: dict[tuple, list] = defaultdict(list)
        for a in self.attendance:
            if a["group_type"] == group_type and self.in_scope(project, a["project"], a["date"]) \
                    and centre in (None, a["centre"]):
                who = ("child", a["child_ref"]) if a.get("child_ref") else ("family", a["family_ref"])
                dates[(a["centre"], who, a["group_code"])].append(a["date"])
        done = set()
        for (c, who, _), ds in dates.items():
            ds.sort()
            if len(ds) >= full and lo <= ds[full - 1] <= hi:
                done.add((c, who))
        return len(done)


def measure(deliveries: Iterable) -> dict[str, float | int]:
    """The figures of PUBLISHED, measured from the deliveries' row dicts."""
    s = Sample(deliveries)
    out: dict[str, float | int] = {}
    lo, hi = WINDOWS[EEA]
    for p in ("P2", "P3", "P4", "P5", "P6"):
        out[f"eea.families_served.PTD-{p}"] = s.families_served(EEA, lo, EEA_PERIOD_ENDS[p])
    out["eea.families_served.PTD"] = s.families_served(EEA, lo, hi)
    out["eea.children_served.PTD"] = s.children_served(EEA, lo, hi)
    for service in ("psychologist", "legal"):
        for c in ("BAU", "VAL"):
            out[f"eea.families_by_service.{service}.{c}"] = s.families_by_service(EEA, service, lo, hi, c)
    out["eea.families_by_service.family_group_conference"] = \
        s.families_by_service(EEA, "family_group_conference", lo, hi)
    out["eea.mentoring_pairs"], out["eea.mentors"] = s.pairs_active(EEA, lo, hi)
    out["eea.events.camp"] = len(s.events_of(EEA, "camp", lo, hi))
    for c in ("BAU", "VAL"):
        out[f"eea.events.camp.{c}"] = len(s.events_of(EEA, "camp", lo, hi, c))
    out["eea.BAU.groups.violence_survivors"] = s.groups(EEA, "violence_survivors", lo, hi, "BAU")
    out["eea.BAU.group_completers.violence_survivors"] = s.completers(EEA, "violence_survivors", lo, hi, "BAU")
    camp = s.events_of(EEA, "camp", D(2014, 6, 18), D(2014, 6, 18), "VAL")
    (out["eea.VAL.camp_2014-06-18.event_families"], out["eea.VAL.camp_2014-06-18.event_adults"],
     out["eea.VAL.camp_2014-06-18.event_children"]) = s.participation(camp)
    for y in (2013, 2014, 2015):
        (out[f"baufs.{y}.families_served_monthly_avg"],
         out[f"baufs.{y}.children_served_monthly_avg"]) = s.monthly_avg(BAU_FS, y, "BAU")
    out["baufs.2015.children_served"] = s.children_served(BAU_FS, D(2015, 1, 1), D(2015, 12, 31), "BAU")
    y17 = (D(2017, 1, 1), D(2017, 12, 31))
    out["baufs.2017.families_served"] = s.families_served(BAU_FS, *y17, "BAU")
    out["baufs.2017.children_served"] = s.children_served(BAU_FS, *y17, "BAU")
    out["baufs.2017.families_enrolled"] = s.enrolled(BAU_FS, *y17, "BAU")
    exited = s.exited(BAU_FS, *y17, "BAU")
    out["baufs.2017.families_exited"] = sum(exited.values())
    out["baufs.2017.families_exited.independent"] = exited.get("independent", 0)
    out["baufs.2017.families_exited.moved"] = exited.get("moved", 0)
    camps = s.events_of(ABLV, "camp", *y17, "BAU")
    out["ablv.BAU.2017.events.camp"] = len(camps)
    out["ablv.BAU.2017.camp_days"] = max(((e["end_date"] - e["start_date"]).days + 1 for e in camps), default=0)
    out["ablv.BAU.2017.camp_before_midsummer"] = sum(1 for e in camps if e["end_date"] < D(2017, 6, 24))
    out["ablv.BAU.2017.event_families.camp"] = s.participation(camps)[0]
    return out


def table(measured: dict, published: dict = PUBLISHED) -> str:
    width = max(map(len, published))
    lines = [f"{'figure':<{width}}  {'measured':>9}  {'published':>9}"]
    for k, v in published.items():
        m = measured.get(k)
        mark = "" if m == v else "   <-- differs"
        shown = f"{m:g}" if isinstance(m, float) else str(m)
        lines.append(f"{k:<{width}}  {shown:>9}  {v:>9}{mark}")
    return "\n".join(lines)


def main() -> int:
    from sos_pipeline.sample.generator import simulate
    measured = measure(simulate())
    print(table(measured))
    bad = [k for k, v in PUBLISHED.items() if measured.get(k) != v]
    print(f"\n{len(PUBLISHED) - len(bad)} of {len(PUBLISHED)} figures as published")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
