"""Reference data: the shipped files hold the domain's facts; bad files stop the run clearly."""
from __future__ import annotations

import datetime as dt

import pytest

from sos_pipeline import config, reference


def test_shipped_reference_holds_both_centres_and_all_four_projects():
    ref = reference.load()
    assert set(ref.centres) == {"BAU", "VAL"}
    assert set(ref.projects) == {"EEA-2013-150", "BAU-FS", "BAU-AAA-2018", "ABLV-CAMPS"}
    eea = ref.projects["EEA-2013-150"]
    assert (eea.start, eea.end, eea.reporting_months) == (dt.date(2013, 11, 15), dt.date(2015, 7, 31), 3)
    assert round(sum(a for _, a in eea.budget), 2) == 110984.00          # domain.md total
    families = sorted((t.valid_from, t.value) for t in eea.targets
                      if t.indicator == "families_served" and t.centre is None)
    assert [v for _, v in families] == [100, 116]                          # the revision is on record
    assert [(m.indicator, m.value, m.date) for m in eea.manual_values] == \
        [("mentor_handbooks", 1, dt.date(2015, 5, 26))]
    assert ref.projects["BAU-AAA-2018"].reporting_months == 6
    assert ref.projects["BAU-FS"].centres == ("BAU",)


def _override(data_dir, name, text):
    (data_dir / "reference").mkdir(exist_ok=True)
    (data_dir / "reference" / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("centres: [BAU, VAL]\n    start: 2013-11-15", "centres: [BAU, RIG]\n    start: 2013-11-15"),
     ["project 'EEA-2013-150'", "centre 'RIG' is not in centres.yaml"]),
    (lambda t: t.replace("end: 2015-07-31", "end: 2012-07-31"),
     ["project 'EEA-2013-150'", "end 2012-07-31 is before start 2013-11-15"]),
    (lambda t: t.replace("{indicator: families_served, value: 20", "{indicator: happy_families, value: 20"),
     ["project 'BAU-AAA-2018', target #1", "unknown indicator 'happy_families'"]),
    (lambda t: t.replace("reporting_months: 6", "reporting_months: six"),
     ["project 'BAU-AAA-2018'", "'reporting_months' must be a whole number"]),
    (lambda t: t + "\n  - [unclosed", ["projects.yaml", "cannot be read as YAML"]),
])
def test_bad_projects_file_names_file_entry_and_problem(data_dir, edit, expected):
    shipped = (config.SHIPPED_REFERENCE / "projects.yaml").read_text(encoding="utf-8")
    _override(data_dir, "projects.yaml", edit(shipped))
    with pytest.raises(reference.ReferenceError) as err:
        reference.load(data_dir)
    message = str(err.value)
    assert str(data_dir / "reference" / "projects.yaml") in message
    for part in expected:
        assert part in message


def test_override_adds_a_centre_without_code(data_dir):
    shipped = (config.SHIPPED_REFERENCE / "centres.yaml").read_text(encoding="utf-8")
    _override(data_dir, "centres.yaml", shipped + (
        "  - code: ISL\n    name_lv: Īslīces SOS ģimeņu atbalsta centrs\n"
        "    name_en: Īslīce SOS Family Support Centre\n    active_from: 2016-01-01\n"))
    ref = reference.load(data_dir)
    assert ref.centres["ISL"].name_lv.startswith("Īslīces")
    assert ref.sources[0] == data_dir / "reference" / "centres.yaml"
    assert ref.sources[1] == config.SHIPPED_REFERENCE / "projects.yaml"   # not overridden


def test_duplicate_centre_is_refused(data_dir):
    shipped = (config.SHIPPED_REFERENCE / "centres.yaml").read_text(encoding="utf-8")
    _override(data_dir, "centres.yaml", shipped + shipped.split("centres:\n", 1)[1])
    with pytest.raises(reference.ReferenceError, match="centre 'BAU': code is listed twice"):
        reference.load(data_dir)


# ------------------------------------------------------------- the fields' types

CENTRES = "centres:\n  - {code: BAU, name_lv: Bauska, name_en: Bauska, active_from: 2013-01-01}\n"
PROJECT = ("projects:\n  - code: P\n    name_lv: P\n    name_en: P\n    funder: F\n    centres: [BAU]\n"
           "    start: 2014-01-01\n    end: 2014-12-31\n    reporting_months: 3\n")


def test_types_as_a_coordinator_writes_them(data_dir):
    _override(data_dir, "centres.yaml", "centres:\n  - {code: BAU, name_lv: B, name_en: B, active_from: '2013-01-01', "
                                        "town: , due_day: }\n")
    _override(data_dir, "projects.yaml", PROJECT.replace("    start: 2014-01-01\n", "    start: '2014-01-01'\n")
              + "    number: 2013\n    budget: [{source: 2013, amount: 100}]\n"
              + "    targets: [{indicator: families_served, value: 20, from: 2014-01-01}]\n")
    ref = reference.load(data_dir)
    bau, p = ref.centres["BAU"], ref.projects["P"]
    assert (bau.active_from, bau.town, bau.due_day) == (dt.date(2013, 1, 1), None, 10)
    assert (p.number, p.start, p.budget) == ("2013", dt.date(2014, 1, 1), (("2013", 100.0),))
    assert type(p.budget[0][1]) is float and type(p.targets[0].value) is float
    assert p.targets == (reference.Target("families_served", 20.0, dt.date(2014, 1, 1)),)


@pytest.mark.parametrize("name, centres, projects, expected", [
    ("centres.yaml", "centres:\n  - {code: BAU, name_lv: Bauska, active_from: 2013-01-01}\n", PROJECT,
     "centre 'BAU': 'name_en' is required"),
    ("centres.yaml", CENTRES.replace("}", ", due_day: true}"), PROJECT,
     "centre 'BAU': 'due_day' must be a whole number, got True"),
    ("projects.yaml", CENTRES, PROJECT + "  - {name_lv: Q, name_en: Q, funder: F}\n",
     "project #2: 'code' is required"),
    ("projects.yaml", CENTRES, PROJECT.replace("code: P", "code: [P, Q]"),
     "project #1: 'code' must be text, got ['P', 'Q']"),
    ("projects.yaml", CENTRES, PROJECT.replace("start: 2014-01-01", "start: '2016-13-01'"),
     "project 'P': 'start' must be a date YYYY-MM-DD, got '2016-13-01'"),
    ("projects.yaml", CENTRES, PROJECT.replace("start: 2014-01-01", "start: 2016-13-01"),    # unquoted, as typed
     "project 'P': 'start' must be a date YYYY-MM-DD, got '2016-13-01'"),
    ("projects.yaml", CENTRES, PROJECT + "    targets: [{indicator: families_served, value: 1, from: 2014-02-30}]\n",
     "project 'P', target #1: 'from' must be a date YYYY-MM-DD, got '2014-02-30'"),
    ("projects.yaml", CENTRES, PROJECT.replace("start: 2014-01-01", "start: 2014-01-01 09:00:00"),
     "project 'P': 'start' must be a date YYYY-MM-DD, got datetime.datetime(2014, 1, 1, 9, 0)"),
    ("projects.yaml", CENTRES, PROJECT + "    targets: [{indicator: families_served, value: true, from: 2014-01-01}]\n",
     "project 'P', target #1: 'value' must be a number, got True"),
    ("projects.yaml", CENTRES, PROJECT.replace("funder: F", "fundr: F\n    colour: red"),
     "project 'P': unknown field(s) colour, fundr"),
    ("projects.yaml", CENTRES, PROJECT.replace("centres: [BAU]", "centres: BAU"),
     "project 'P': 'centres' must be a list"),
    ("projects.yaml", CENTRES, PROJECT + "    budget:\n      - {source: EEA, amount: 10}\n"
                                         "      - source: State\n        amount: 94 891,32\n",
     "project 'P', budget line #2: 'amount' must be a number, got '94 891,32'"),
    ("projects.yaml", CENTRES, PROJECT + "    targets:\n      - {indicator: families_served, value: 20, from: 2014-01-01}\n"
                                         "      - {indicator: families_served, value: 30, from: '2014-02-30'}\n",
     "project 'P', target #2: 'from' must be a date YYYY-MM-DD, got '2014-02-30'"),
    ("projects.yaml", CENTRES, PROJECT + "    manual_values: [mentor_handbooks]\n",
     "project 'P', manual value #1: expected a mapping, got str"),
])
def test_a_wrong_type_is_one_plain_message(data_dir, name, centres, projects, expected):
    _override(data_dir, "centres.yaml", centres)
    _override(data_dir, "projects.yaml", projects)
    with pytest.raises(reference.ReferenceError) as err:
        reference.load(data_dir)
    message = str(err.value)
    assert message == f"{data_dir / 'reference' / name}: {expected}"
    for word in ("pydantic", "validation error for", "\n"):
        assert word not in message


def test_the_files_are_read_again_whenever_their_bytes_change(data_dir):
    """A refresh asks for the reference data in several steps: the same bytes give the same
    (immutable) reference without parsing them again; an edit is seen at once, however soon after
    (same size, same second), and a broken file is refused every time."""
    shipped = (config.SHIPPED_REFERENCE / "centres.yaml").read_text(encoding="utf-8")
    _override(data_dir, "centres.yaml", shipped)
    first = reference.load(data_dir)
    assert reference.load(data_dir) is first
    _override(data_dir, "centres.yaml", shipped.replace("Bauska", "Bausk_"))     # the same size
    edited = reference.load(data_dir)
    assert edited is not first and "Bausk_" in edited.centres["BAU"].name_lv
    assert "Bauska" in first.centres["BAU"].name_lv                             # what was given is unchanged
    _override(data_dir, "centres.yaml", shipped.replace("code: BAU", "code: bau"))
    for _ in range(2):
        with pytest.raises(reference.ReferenceError, match="code must be 1-8 upper-case"):
            reference.load(data_dir)
    _override(data_dir, "centres.yaml", shipped)
    assert reference.load(data_dir) is first
