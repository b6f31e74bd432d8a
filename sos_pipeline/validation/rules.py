"""Every rule a delivery is checked against: its id, error or warning, and plain words.

This module is the one list of rules. The Great Expectations suites
(`sos_pipeline.validation.suites`) check the rules of stage "validation" and take
each rule's severity from here. The rules of the stages "intake", "structure" and
"privacy" are enforced by other code (reading the inbox, parsing files, the personal
data scan) and are listed here so that the documentation is complete.

Deliberately light: imports neither pandas nor great_expectations, because it is
imported when Dagster loads the code location.
"""
from __future__ import annotations

from dataclasses import dataclass

from sos_pipeline import contract as C
from sos_pipeline.findings import ERROR, WARNING

# Stages, in the order a delivery goes through them.
INTAKE, STRUCTURE, PRIVACY, VALIDATION = "intake", "structure", "privacy", "validation"
STAGES = (INTAKE, STRUCTURE, PRIVACY, VALIDATION)
STAGE_TEXT = {
    INTAKE: "checked when the delivery arrives in the inbox, from its name alone",
    STRUCTURE: "checked while the files are read",
    PRIVACY: "checked by the personal-data scan, before anything is stored",
    VALIDATION: "checked once the tables are read, by the validation suites: one per table "
                "for the rows of that table, and `cross_table` for what compares a row with "
                "another table, the project register or the centre's earlier months",
}
CROSS_TABLE = "cross_table"   # the suite of rules that look beyond the row's own table
# The reader's checks (files, columns, personal data), reported beside the GX suites.
READER_SUITE = "structure_and_privacy"

# Activity dates that must lie within the delivery's month (table -> column).
IN_MONTH = (("families", "exited_on"), ("services", "date"), ("group_sessions", "date"),
            ("events", "start_date"), ("mentoring", "ended_on"), ("trainings", "start_date"))
# Start dates that may lie in earlier months but not after this one.
NOT_AFTER_MONTH = (("families", "enrolled_on"), ("mentoring", "started_on"))
# Tables whose end_date must not be before start_date.
AFTER_START = ("events", "trainings")
# Tables whose family_ref must be a family of this delivery.
FAMILY_LISTED = ("children", "services", "group_attendance", "event_participants", "mentoring")
# Tables whose child_ref must be a child of the row's family.
CHILD_OF_FAMILY = ("services", "group_attendance", "mentoring")
# Columns required only when another column does not hold a given code:
# (table, column) -> (other column, code that exempts the row).
REQUIRED_UNLESS = {("services", "minutes"): ("service", "material_aid")}


@dataclass(frozen=True)
class Rule:
    id: str                    # stable id, e.g. "services.minutes.range"; appears in Finding.rule
    severity: str              # "error": the delivery is rejected; "warning": it loads, reported
    table: str | None          # table (CSV file / sheet) or None for the delivery as a whole
    column: str | None
    description: str           # what the rule means, in plain words
    action: str = ""           # what the coordinator should do about it
    stage: str = VALIDATION    # intake | structure | privacy | validation
    suite: str | None = None   # the validation suite that checks it (stage "validation")


def _codes(codes) -> str:
    return ", ".join(f"`{c}`" for c in codes)


def _range_text(col: C.Column) -> str:
    whole = "a whole number" if col.kind == C.INT else "a number"
    if col.kind == C.NUMBER and col.lo is not None and col.hi is None:
        return f"{whole} greater than {col.lo:g}"          # contract: "number > 0"
    if col.lo is not None and col.hi is not None:
        return f"{whole} from {col.lo:g} to {col.hi:g}"
    if col.lo is not None:
        return f"{whole} of at least {col.lo:g}"
    return f"{whole} of at most {col.hi:g}"


_RESEND = "Correct the file and send the whole delivery again under the same name."


def _validation_rules() -> list[Rule]:
    out: list[Rule] = []

    def add(rid, severity, table, column, description, action, suite=None):
        out.append(Rule(rid, severity, table, column, description, action, VALIDATION,
                        suite or table))

    for t in C.TABLES.values():
        # Rules on the table by itself (one suite per table).
        for col in t.columns:
            if col.required:
                add(f"{t.name}.{col.name}.required", ERROR, t.name, col.name,
                    f"`{col.name}` must be filled in on every row of {t.name}.",
                    f"Fill in `{col.name}` on the rows listed. {_RESEND}")
            elif (t.name, col.name) in REQUIRED_UNLESS:
                other, code = REQUIRED_UNLESS[(t.name, col.name)]
                add(f"{t.name}.{col.name}.required", ERROR, t.name, col.name,
                    f"`{col.name}` must be filled in on every row of {t.name}, except rows "
                    f"whose `{other}` is `{code}`.",
                    f"Fill in `{col.name}` on the rows listed. {_RESEND}")
        if t.key:
            add(f"{t.name}.{t.key}.unique", ERROR, t.name, t.key,
                f"Each `{t.key}` may appear only once in {t.name}.",
                f"The rows listed share a `{t.key}` with another row: remove the duplicate "
                f"row or give each row its own `{t.key}`. {_RESEND}")
        for col in t.columns:
            if col.codes and col.name != "project":
                if col.kind == C.CODE_LIST:
                    text = (f"`{col.name}` is a list separated by `;`; every entry must be one "
                            f"of {_codes(col.codes)} (lower case, exactly as written).")
                else:
                    text = (f"`{col.name}` must be one of {_codes(col.codes)} "
                            f"(exactly as written, letter case included).")
                add(f"{t.name}.{col.name}.in_set", ERROR, t.name, col.name, text,
                    f"Replace the value on the rows listed with one of the codes. {_RESEND}")
        for col in t.columns:
            if col.kind in (C.INT, C.NUMBER) and (col.lo is not None or col.hi is not None):
                add(f"{t.name}.{col.name}.range", ERROR, t.name, col.name,
                    f"`{col.name}`, when filled in, must be {_range_text(col)}.",
                    f"Check `{col.name}` on the rows listed. {_RESEND}")
            if col.kind == C.YEAR:
                add(f"{t.name}.{col.name}.range", ERROR, t.name, col.name,
                    f"The child's age in the delivery's year (that year minus `{col.name}`) "
                    "must be 0 to 24: `birth_year` may not be after the delivery's year or "
                    "more than 24 years before it.",
                    f"Check `{col.name}` on the rows listed (a typing error, or a child who "
                    f"should no longer be listed). {_RESEND}")
        for table, column in IN_MONTH:
            if table == t.name:
                optional = not t.column(column).required
                add(f"{table}.{column}.in_month", ERROR, table, column,
                    f"`{column}`{', when filled in,' if optional else ''} must lie within the "
                    "month the delivery covers.",
                    "Each delivery holds one month only. Check the date on the rows listed; "
                    "if it is right, the row belongs in that month's delivery. " + _RESEND)
        for table, column in NOT_AFTER_MONTH:
            if table == t.name:
                add(f"{table}.{column}.not_after_month", ERROR, table, column,
                    f"`{column}` may lie in an earlier month, but not after the last day of "
                    "the month the delivery covers.",
                    f"Check `{column}` on the rows listed. {_RESEND}")
        if t.name in AFTER_START:
            add(f"{t.name}.end_date.after_start", ERROR, t.name, "end_date",
                "`end_date` must be on or after `start_date` (the same day for a one-day "
                f"{'event' if t.name == 'events' else 'training'}).",
                f"Check both dates on the rows listed. {_RESEND}")
        if t.name == "families":
            add("families.exit_reason.iff_exited", ERROR, "families", "exit_reason",
                "`exit_reason` must be filled in when `exited_on` is filled in, and left empty "
                "when `exited_on` is empty.",
                "On the rows listed, either add the missing exit reason or exit date, or "
                f"remove the one that should not be there. {_RESEND}")

        # Rules that look beyond the row's own table (suite "cross_table").
        def cross(rid, severity, column, description, action, table=t.name):
            add(rid, severity, table, column, description, action, CROSS_TABLE)

        if t.name in C.CENTRE_UNIQUE_IDS:
            idc = C.CENTRE_UNIQUE_IDS[t.name]
            cross(f"{t.name}.{idc}.unique_centre", ERROR, idc,
                  f"A `{idc}` must be unique within the centre across all its deliveries: it "
                  "may not already have been used in the centre's delivery for another month.",
                  "Give the rows listed new ids not used before. If a row really belongs to "
                  "another month, correct that month's delivery instead (re-sending a month "
                  "replaces it entirely). " + _RESEND)
        if t.name == "families":
            cross("families.enrolled_on.changed", WARNING, "enrolled_on",
                  "The family was listed in an earlier month with a different `enrolled_on`. "
                  "A family's enrolment date does not change from month to month (a family "
                  "that left and came back shows a new `enrolled_on` after its exit date). "
                  "The delivery is loaded.",
                  "Find out which date is right. If the earlier month was wrong, correct and "
                  "re-send that month; if this month is wrong, correct and re-send this one.")
            cross("families.family_ref.after_exit", WARNING, "family_ref",
                  "The family exited in an earlier month but is listed again with the same "
                  "`enrolled_on`. The delivery is loaded.",
                  "If the family came back, give the date it re-enrolled as `enrolled_on`. If "
                  "the exit was recorded by mistake, correct and re-send the earlier month. "
                  "Otherwise remove the family from this month.")
        if t.name in FAMILY_LISTED:
            cross(f"{t.name}.family_ref.listed", ERROR, "family_ref",
                  f"Every `family_ref` in {t.name} must be a family listed in the families "
                  "table of the same delivery.",
                  "Add the family to families (every family served in the month is listed "
                  f"there) or correct the `family_ref` on the rows listed. {_RESEND}")
        if t.name in CHILD_OF_FAMILY:
            when = "" if t.column("child_ref").required else ", when filled in,"
            cross(f"{t.name}.child_ref.of_family", ERROR, "child_ref",
                  f"`child_ref`{when} must be a child listed in the children table of the same "
                  "delivery, with the same `family_ref` as on this row.",
                  "Add the child to children, or correct `child_ref` or `family_ref` on the "
                  f"rows listed. {_RESEND}")
        if t.name == "group_attendance":
            cross("group_attendance.session_id.listed", ERROR, "session_id",
                  "Every `session_id` in group_attendance must be a session listed in the "
                  "group_sessions table of the same delivery.",
                  f"Add the session to group_sessions or correct the `session_id`. {_RESEND}")
        if t.name == "event_participants":
            cross("event_participants.event_id.listed", ERROR, "event_id",
                  "Every `event_id` in event_participants must be an event listed in the "
                  "events table of the same delivery.",
                  f"Add the event to events or correct the `event_id`. {_RESEND}")
        if t.has_project:
            cross(f"{t.name}.project.known", ERROR, "project",
                  "`project`, when filled in, must be the code of a project in the project "
                  "register. Leave it empty when the activity is not attributed to a funded "
                  "project.",
                  "Correct the project code on the rows listed, or leave it empty. If the "
                  "project is new, ask the pipeline administrator to add it to the project "
                  "register first. " + _RESEND)
            cross(f"{t.name}.project.centre", ERROR, "project",
                  "The project named in `project` must include this centre (the project "
                  "register lists the centres of each project).",
                  "Correct the project code on the rows listed, or leave it empty. If the "
                  "centre has joined the project, ask the pipeline administrator to update "
                  "the project register first. " + _RESEND)
            cross(f"{t.name}.project.window", WARNING, "project",
                  f"The activity date (`{t.activity_date}`) lies outside the project's start and "
                  "end dates in the project register. The delivery is loaded.",
                  "Check the project code and the date on the rows listed; correct and re-send "
                  "the delivery if either is wrong.")
    return out


_OTHER_STAGES = (
    Rule("intake.malformed_name", ERROR, None, None,
         "The delivery's name must be `<CENTRE>_<YYYY-MM>`, e.g. `BAU_2014-03`: a folder of "
         "CSV files, or an `.xlsx` workbook, named with the centre code and the month.",
         "Rename the folder or workbook and put it in the inbox again.", INTAKE),
    Rule("intake.unknown_centre", ERROR, None, None,
         "The centre code in the delivery's name is not in the centre register.",
         "Check the centre code in the name. A new centre must first be added to the centre "
         "register by the pipeline administrator.", INTAKE),
    Rule("intake.future_month", ERROR, None, None,
         "The month in the delivery's name has not ended yet. A month is delivered once it is "
         "over.",
         "Check the month in the name, or send the delivery after the month has ended.", INTAKE),
    Rule("intake.before_active", ERROR, None, None,
         "The month in the delivery's name is before the month the centre starts reporting "
         "(its start date in the centre register).",
         "Check the month in the name. If the centre really reported earlier, ask the "
         "pipeline administrator to correct the centre register.", INTAKE),
    Rule("structure.unreadable", ERROR, None, None,
         "The delivery, or one of its files or sheets, cannot be opened or read as CSV or "
         "XLSX (damaged, password protected, or another kind of file).",
         "Export the tables again from the spreadsheet as CSV files or one .xlsx workbook and "
         "re-send.", STRUCTURE),
    Rule("structure.undecodable", ERROR, None, None,
         "A CSV file is neither UTF-8 nor Windows-1257 (Excel's Baltic) text, so its letters "
         "cannot be read reliably.",
         "Save the file from the spreadsheet as CSV UTF-8 (or as an .xlsx workbook) and "
         "re-send.", STRUCTURE),
    Rule("structure.encoding", ERROR, None, None,
         "A file is text in an encoding that is recognised but not accepted (UTF-16, which Excel "
         "writes as 'Unicode text'; UTF-32), tab-separated text, or another kind of file renamed "
         "to .csv (an .xlsx or .xls workbook, a PDF). One message says what the file is.",
         "Open it in the spreadsheet and save it as 'CSV UTF-8 (Comma delimited)', or send the "
         "workbook itself as the delivery, and re-send.", STRUCTURE),
    Rule("structure.csv_quote", ERROR, None, None,
         "A CSV file has a quote that is not closed properly (a quoted value must end with a "
         "quote followed by the delimiter or the end of the line). Nothing of the file is "
         "guessed at, so no value can swallow the rows after it. The message names the row "
         "and line where the quote opens.",
         "Correct the quotes around the row named (or export the file again from the "
         "spreadsheet), and re-send.", STRUCTURE),
    Rule("structure.csv_fields", ERROR, None, None,
         "A row of a CSV file has more or fewer fields than the header (usually a value holding "
         "the delimiter without quotes, or a row cut short). Blank lines are not counted.",
         "Correct the rows listed (quote values that hold the delimiter), and re-send.",
         STRUCTURE),
    Rule("structure.error_value", ERROR, None, None,
         "A cell of a contract column holds a spreadsheet error value (`#N/A`, `#VALUE!`, `#REF!`, "
         "`#DIV/0!`, `#NAME?`, `#NUM!`, `#NULL!`, ...), written as text or cached by a formula "
         "in the workbook: the value the formula should give is unknown.",
         "Correct the formula or type the value in the cells listed, and re-send.", STRUCTURE),
    Rule("structure.id_scientific", ERROR, None, None,
         "A ref or id (`family_ref`, `child_ref`, `staff_ref`, `mentor_ref`, `contact_id`, "
         "`session_id`, `event_id`, `pair_id`, `training_id`, `group_code`) is written in "
         "scientific notation (`1.23457E+11`): the spreadsheet turned it into a number and its "
         "digits are lost, so it cannot be matched with other months.",
         "Format the column as Text in the spreadsheet, type the ids again, and re-send.",
         STRUCTURE),
    Rule("structure.id_float", WARNING, None, None,
         "A ref or id (the same columns as structure.id_scientific) is written as a whole "
         "decimal number (`137.0`, `137,0`, or a decimal number cell in a workbook). It is read "
         "as `137`, so the same family keeps the same pseudonym across months. The delivery is "
         "loaded.",
         "Format the column as Text in the spreadsheet to avoid the warning.", STRUCTURE),
    Rule("structure.empty_table", WARNING, None, None,
         "A file or sheet is empty: 0 bytes, nothing but a byte-order mark, blank lines, or an "
         "empty first row (as spreadsheets write a sheet with no data). It is read as its table "
         "with no rows and the delivery is loaded; whether the month is then consistent is up "
         "to the rules across tables (an empty families table with children listed fails them).",
         "Nothing, if the table really has no rows that month.", STRUCTURE),
    Rule("structure.subfolder", ERROR, None, None,
         "A delivery folder holds a subfolder. Files inside subfolders are not read, so the "
         "delivery could be incomplete (a common cause: an archive unpacked into a folder of the "
         "same name). The subfolder is named by its position in the folder, never by its name.",
         "Put every table's .csv file directly in the delivery folder, and re-send.", STRUCTURE),
    Rule("structure.ignored_entry", WARNING, None, None,
         "A delivery folder holds a hidden, lock or system entry (a name starting with `.` or "
         "`~$`, `Thumbs.db`, `desktop.ini`, a `__MACOSX` folder). It is not read; the rest of "
         "the delivery loads.",
         "Nothing. To avoid the warning, leave such files out of the delivery.", STRUCTURE),
    Rule("structure.file_type", ERROR, None, None,
         "A file in a delivery folder is named as one of the contract's tables but is not a "
         ".csv file (e.g. `services.xlsx` or `services.txt` inside the folder).",
         "Save the table as 'CSV UTF-8' (or send one .xlsx workbook instead of the folder), and "
         "re-send.", STRUCTURE),
    Rule("structure.load_failed", ERROR, None, None,
         "The delivery passed its checks but a value could not be stored in the warehouse (for "
         "example a number too large for its column). It is rejected on its own; the other "
         "deliveries of the refresh load.",
         "Check the numbers and dates of the delivery, and re-send; if it happens again, tell the "
         "pipeline administrator.", STRUCTURE),
    Rule("validation.check_failed", ERROR, None, None,
         "Checking the delivery failed unexpectedly (an error in the checks themselves, not a "
         "rule the delivery broke). It is rejected on its own so that the other deliveries of "
         "the refresh load, and so that the next refresh is not blocked by it.",
         "Export the delivery again and re-send; if it happens again, tell the pipeline "
         "administrator (the run's log in the Dagster UI has the details).", VALIDATION),
    Rule("structure.missing_table", ERROR, None, None,
         "One of the required tables (families, children, services) is missing. A table with "
         "a header row and no data rows is fine.",
         "Add the missing file or sheet, named exactly as the table, and re-send.", STRUCTURE),
    Rule("structure.missing_column", ERROR, None, None,
         "A table lacks a column the export contract names. Header names may be in any letter "
         "case and order, but must be spelled as in the contract.",
         "Add the column (it may be empty where the contract allows) or correct the header's "
         "spelling, and re-send.", STRUCTURE),
    Rule("structure.value_format", ERROR, None, None,
         "A date or number cannot be read. Dates must be written `YYYY-MM-DD` or `DD.MM.YYYY`; "
         "numbers may use a decimal comma; counts must be whole numbers.",
         "Correct the cells at the rows and columns listed, and re-send.", STRUCTURE),
    Rule("structure.unknown_column", WARNING, None, None,
         "A column the export contract does not name is ignored (unless it looks like personal "
         "data, see privacy.pii_column). The delivery is loaded.",
         "Nothing needs to be done if the column is not needed; to avoid the warning, leave it "
         "out of the export. If it is a contract column with a misspelt header, correct the "
         "header.", STRUCTURE),
    Rule("structure.duplicate_column", ERROR, None, None,
         "Two columns of the same table have the same header (letter case and surrounding "
         "spaces are ignored when comparing).",
         "Remove or rename one of the two columns, and re-send.", STRUCTURE),
    Rule("structure.unknown_table", WARNING, None, None,
         "A file or sheet that is not named as one of the contract's tables (or a file that is "
         "not .csv inside a delivery folder). It is ignored, though still scanned for personal "
         "data; the rest of the delivery loads. It is named by its position (\"the 3rd entry of "
         "the folder\", \"the 2nd sheet of the workbook\"), never by its name.",
         "Nothing, unless the centre meant it as one of the tables: then check its name.", STRUCTURE),
    Rule("structure.duplicate_table", ERROR, None, None,
         "The same table is given twice in one delivery: two files of a folder, or two sheets of "
         "a workbook, whose names are the same once letter case and spaces are ignored (e.g. "
         "`services.csv` and `SERVICES.CSV`, sheets `families` and `Families `).",
         "Keep one file or sheet per table, and re-send.", STRUCTURE),
    Rule("privacy.pii_column", ERROR, None, None,
         "A column header looks like personal data (a name, surname, personal code, address, "
         "phone or e-mail, in Latvian or English), or holds it: a header that is itself an "
         "e-mail address, phone number or personal code. Such columns may never be sent.",
         "Delete the column from the export (do not just empty it), and re-send.", PRIVACY),
    Rule("privacy.pii_name", ERROR, None, None,
         "The name of the delivery, or of a file, sheet or subfolder in it, holds a Latvian "
         "personal code, an e-mail address or a phone number. The delivery is rejected and the "
         "name is never repeated: not in the report, the audit, the logs, the Dagster UI or an "
         "extract. The delivery is recorded as `withheld-<first 12 characters of its sha256>` "
         "when its own name is the one, and a file or sheet is named by its position.",
         "Rename the delivery, file or sheet (deliveries are named `<CENTRE>_<YYYY-MM>`, files "
         "and sheets as the tables), and re-send.", PRIVACY),
    Rule("privacy.personal_code", ERROR, None, None,
         "A cell holds what looks like a Latvian personal code. The report shows where (table, "
         "row, column), never the value.",
         "Remove the personal code from the cell, use the centre's case number instead, and "
         "re-send.", PRIVACY),
    Rule("privacy.email", ERROR, None, None,
         "A cell holds what looks like an e-mail address. The report shows where, never the "
         "value.",
         "Remove the e-mail address from the cell, and re-send.", PRIVACY),
    Rule("privacy.phone", ERROR, None, None,
         "A cell holds what looks like a Latvian phone number. The report shows where, never "
         "the value.",
         "Remove the phone number from the cell, and re-send.", PRIVACY),
)

RULES: tuple[Rule, ...] = _OTHER_STAGES + tuple(_validation_rules())
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
assert len(RULES_BY_ID) == len(RULES), "duplicate rule id"


def rule(rule_id: str) -> Rule:
    """The rule with this id (KeyError if there is none)."""
    return RULES_BY_ID[rule_id]


def validation_rules() -> tuple[Rule, ...]:
    """The rules the validation suites check (not validation.check_failed: the suites failing)."""
    return tuple(r for r in RULES if r.stage == VALIDATION and r.id != "validation.check_failed")


_READING = """
## How a delivery is read (decisions where the contract is silent)

Reading never loses, shifts or invents a row: what cannot be read exactly is an error, and
what is left out is named in a finding.

- **CSV is parsed strictly.** The delimiter (`,` or `;`) is the one the first non-blank line
  uses most. A quote that is not closed properly (`structure.csv_quote`) or a row with more or
  fewer fields than the header (`structure.csv_fields`) is an error naming the file, the row
  and the line: a value can never swallow the rows after it. Blank lines (also lines of
  delimiters only) are skipped, before the header too, and rows keep the numbers a
  spreadsheet shows (a quoted line break stays inside its row).
- **Encodings.** UTF-8 (with or without byte-order mark) and Windows-1257 are read. A file
  recognised as something else gets one error saying what it is and how to save it
  (`structure.encoding`): UTF-16 or UTF-32 text ("Unicode text"), tab-separated text, an
  .xlsx, .xls or PDF file renamed to .csv.
- **Workbooks**: every row Excel shows is read, whatever the sheet's stored dimension says
  (files written by other programs often carry a stale one). Formulas are read by the value
  the spreadsheet last computed; a spreadsheet error value (`#N/A`, `#DIV/0!`, ...) in a
  contract column is an error (`structure.error_value`). A workbook that is damaged (sheet XML
  not well-formed, a NUL or invalid byte, broken compression), an old .xls, or anything else
  that cannot be read whole is rejected whole (`structure.unreadable`).
- **Files and sheets map to tables** by name with letter case, surrounding spaces and inner
  runs of spaces ignored (`Group Attendance ` is `group_attendance`). Two that map to the same
  table are an error, never a silent choice (`structure.duplicate_table`); so are two columns
  with the same header (`structure.duplicate_column`).
- **Every entry of a delivery folder is read or named in a finding.** `.csv` files named as
  tables are read. A `.csv` file named otherwise, or any other file, is ignored with a warning
  (`structure.unknown_table`), but a file named as a table that is not `.csv` is an error
  (`structure.file_type`). Hidden, lock and system files (`.DS_Store`, `~$…`, `Thumbs.db`,
  `desktop.ini`, a `__MACOSX` folder) are ignored with a warning (`structure.ignored_entry`).
  A subfolder is an error (`structure.subfolder`): its files would not be read, so the
  delivery could be incomplete. A link is an error (`structure.unreadable`); it is never
  followed.
- **Refs and ids a spreadsheet turned into numbers.** In every ref and id column
  (`family_ref`, `child_ref`, `staff_ref`, `mentor_ref`, `contact_id`, `session_id`,
  `event_id`, `pair_id`, `training_id`, `group_code`): a whole decimal number (`137.0`,
  `137,0`, a decimal number cell in a workbook) is read as `137` with a warning
  (`structure.id_float`), so the same family keeps the same pseudonym across months; scientific
  notation (`1.23457E+11`) is an error, since its digits are gone (`structure.id_scientific`);
  a ref or id spanning two lines is an error (`structure.value_format`). A whole-number cell
  (`137`) is read as `137` without a warning.
- **Values** (`structure.value_format`): a date is `YYYY-MM-DD` (a midnight time after it is
  allowed, as spreadsheets add one) or `DD.MM.YYYY` (a final dot allowed), and a real day of
  the calendar; a whole number or year has no fraction (`4.0` is 4, `4.5` is an error); a
  number may use a decimal point or comma and spaces between digit groups (`1 000,5`).
  Digits are the ASCII digits 0-9. A text that a spreadsheet would take for a formula (`=`,
  `+`, `-` or `@` first, and not a plain number) is stored with a leading apostrophe, and
  control characters become the replacement character U+FFFD. These rules are SQL (`sql/load/typing.sql`), applied to
  a whole chunk of deliveries at once.
- **Numbers** larger than a count can be (more than 2,147,483,647) are a format error.
- **Empty files and sheets** (0 bytes, only a byte-order mark, blank lines, an empty first
  row) are their table with no rows, with a warning (`structure.empty_table`).
- **Names are scanned for personal data** like cells: the delivery's name and the names of
  its files, sheets and subfolders (`privacy.pii_name`), and every header
  (`privacy.pii_column`). Names of files and sheets that are not the contract's tables, and
  headers that are not the contract's columns, are **never repeated** in a report, the audit,
  a log, the Dagster UI or an extract: they are named by position ("the 3rd entry of the
  folder (sorted by name)", "the 2nd sheet of the workbook", "column 7"). A delivery whose own
  name holds personal data is recorded as `withheld-<first 12 characters of its sha256>`;
  only the archive keeps its name.
- **One delivery never fails the refresh.** Anything that goes wrong while reading, checking
  or storing one delivery rejects that delivery (`structure.unreadable`,
  `validation.check_failed`, `structure.load_failed`); the others load, and the rejected one
  leaves the queue, so the next refresh is not blocked. Only a failure of the pipeline itself
  (a full disk, the checks failing for every delivery) fails the run, and then the queue is
  kept as it was.
"""


def render_markdown() -> str:
    """The rules as a document for the centres' data coordinators."""
    lines = [
        "# Delivery checks: what each rule means and what to do",
        "",
        "Every monthly delivery is checked against the rules below before anything of it is "
        "loaded. Each problem found is reported with the rule's id, the table (file or sheet), "
        "the column, and the row numbers as you see them in the file (the header is row 1, "
        "the first data row is row 2). Reports never repeat the contents of a cell.",
        "",
        "- **error**: the whole delivery is rejected and nothing of it is loaded. Correct the "
        "file and send the whole delivery again under the same name.",
        "- **warning**: the delivery is loaded, and the problem is reported so that it can be "
        "checked. If something was wrong, send a corrected delivery under the same name: it "
        "replaces the month entirely.",
        "",
        "Checks happen in stages; a delivery that fails an earlier stage is not checked further:",
        "",
    ]
    for s in STAGES:
        lines.append(f"- *{s}*: {STAGE_TEXT[s]}.")
    lines.append("")
    lines += _READING.strip("\n").split("\n") + [""]

    def entry(r: Rule) -> list[str]:
        where = f" — column `{r.column}`" if r.column else ""
        suite = f" (suite `{r.suite}`)" if r.suite else ""
        return [f"### `{r.id}`", "",
                f"**{r.severity}** · stage: {r.stage}{suite}{where}", "",
                f"What it means: {r.description}", "",
                f"What to do: {r.action}", ""]

    whole = [r for r in RULES if r.table is None]
    lines += ["## The delivery as a whole", "",
              "These apply to the delivery's name, its files and any of its tables.", ""]
    for r in whole:
        lines += entry(r)
    for t in C.TABLES.values():
        rs = [r for r in RULES if r.table == t.name]
        status = ("Required: send it even when empty (the header row alone)." if t.required else
                  "Optional: leave it out when there is nothing to report.")
        lines += [f"## Table `{t.name}`", "", f"{t.description} {status}", ""]
        for r in rs:
            lines += entry(r)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":   # python -m sos_pipeline.validation.rules > docs/validation-rules.md
    print(render_markdown(), end="")
