"""The centre export contract (exports.md of the product's specification) as data.

Everything that reads, checks, generates or documents deliveries takes the
tables, columns and code lists from here, so the contract lives in one place.
"""
from __future__ import annotations

from dataclasses import dataclass

# Value kinds a column can hold once parsed.
TEXT, REF, DATE, INT, NUMBER, CODE, CODE_LIST, YEAR = (
    "text", "ref", "date", "int", "number", "code", "code_list", "year")

EXIT_REASONS = ("independent", "moved", "declined", "referred", "other")
TERRITORY_TYPES = ("urban", "rural")
TARGET_GROUPS = ("risk_family", "foster_family", "guardian", "adoptive", "potential_foster")
REFERRAL_SOURCES = ("social_service", "orphans_court", "school", "police", "self", "other")
RISK_FACTORS = ("alcohol", "parenting", "conflict", "parent_abroad", "violence",
                "disability", "poverty", "housing")
SEXES = ("F", "M")
YES_NO = ("yes", "no")
SERVICES = ("social_work", "family_assistant", "psychologist", "legal", "narcologist",
            "social_rehabilitation", "mentoring", "family_group_conference", "material_aid")
MODES = ("centre", "home_visit", "outreach", "phone", "online")
GROUP_TYPES = ("violence_survivors", "parents_disability", "emotional_upbringing",
               "parent_support", "teen_parenting", "children_support", "foster_training")
EVENT_TYPES = ("camp", "celebration", "educational", "info_event", "seminar")
TRAINING_TOPICS = ("family_group_conference", "mentor_training", "family_assistant", "airi", "other")
PARTICIPANT_TYPES = ("social_worker", "volunteer_mentor", "family_assistant", "foster_parent", "other")

# Full course length per group type (indicators.md, group_completers).
FULL_COURSE_SESSIONS = {"violence_survivors": 10}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True
    codes: tuple[str, ...] = ()
    lo: float | None = None          # inclusive range for int/number/year-derived checks
    hi: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    description: str
    columns: tuple[Column, ...]
    key: str | None = None            # id unique in the delivery (and for *_id across the centre)
    activity_date: str | None = None  # the column that dates the activity (indicators.md)
    has_project: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


C = Column
TABLES: dict[str, Table] = {t.name: t for t in (
    Table("families", True, "One row per family on the caseload at any time in the month.", (
        C("family_ref", REF, description="Pseudonym of the centre's family case number."),
        C("enrolled_on", DATE, description="Date cooperation with the family began."),
        C("exited_on", DATE, False, description="Date the family left the caseload, if in this month."),
        C("exit_reason", CODE, False, EXIT_REASONS, description="Why the family left."),
        C("territory", TEXT, description="Town or parish where the family lives."),
        C("territory_type", CODE, True, TERRITORY_TYPES, description="Urban or rural territory."),
        C("target_group", CODE, True, TARGET_GROUPS, description="Target group the family belongs to."),
        C("referral_source", CODE, False, REFERRAL_SOURCES, description="Who referred the family."),
        C("risk_factors", CODE_LIST, False, RISK_FACTORS, description="Risk factors noted for the family."),
        C("adults", INT, True, lo=1, hi=10, description="Number of adults in the family."),
    ), key="family_ref"),
    Table("children", True, "One row per child of a listed family, as at the month.", (
        C("child_ref", REF, description="Pseudonym of the centre's child case number."),
        C("family_ref", REF, description="Pseudonym of the child's family."),
        C("birth_year", YEAR, description="Year of birth (age in the month 0-24)."),
        C("sex", CODE, True, SEXES, description="Sex: F or M."),
        C("disability", CODE, False, YES_NO, description="Whether the child has a disability."),
    ), key="child_ref"),
    Table("services", True, "One row per service contact in the month.", (
        C("contact_id", TEXT, description="Centre's id of the contact, unique across its deliveries."),
        C("date", DATE, description="Date of the contact."),
        C("family_ref", REF, description="Pseudonym of the family served."),
        C("child_ref", REF, False, description="Pseudonym of the child, when the child was the client."),
        C("service", CODE, True, SERVICES, description="Kind of service."),
        C("minutes", INT, False, lo=1, hi=600, description="Duration in minutes (required except for material aid)."),
        C("mode", CODE, True, MODES, description="Where or how the service was delivered."),
        C("staff_ref", REF, description="Pseudonym of the staff member."),
        C("project", CODE, False, description="Funded project the contact is attributed to."),
    ), key="contact_id", activity_date="date", has_project=True),
    Table("group_sessions", False, "One row per group session held in the month.", (
        C("session_id", TEXT, description="Centre's id of the session."),
        C("group_code", TEXT, description="Centre's code for one run of a group."),
        C("group_type", CODE, True, GROUP_TYPES, description="Kind of group."),
        C("date", DATE, description="Date of the session."),
        C("territory", TEXT, description="Where the session was held."),
        C("staff_ref", REF, description="Pseudonym of the facilitator."),
        C("project", CODE, False, description="Funded project the session is attributed to."),
    ), key="session_id", activity_date="date", has_project=True),
    Table("group_attendance", False, "One row per participant per session.", (
        C("session_id", TEXT, description="Session attended."),
        C("family_ref", REF, description="Pseudonym of the participant's family."),
        C("child_ref", REF, False, description="Pseudonym of the child; empty when an adult attended."),
    )),
    Table("events", False, "One row per event starting in the month.", (
        C("event_id", TEXT, description="Centre's id of the event."),
        C("event_type", CODE, True, EVENT_TYPES, description="Kind of event."),
        C("title", TEXT, description="Title of the event."),
        C("start_date", DATE, description="First day of the event."),
        C("end_date", DATE, description="Last day of the event."),
        C("territory", TEXT, description="Where the event took place."),
        C("project", CODE, False, description="Funded project the event is attributed to."),
    ), key="event_id", activity_date="start_date", has_project=True),
    Table("event_participants", False, "One row per family per event.", (
        C("event_id", TEXT, description="Event taken part in."),
        C("family_ref", REF, description="Pseudonym of the participating family."),
        C("adults", INT, True, lo=0, hi=10, description="Adults of the family taking part."),
        C("children", INT, True, lo=0, hi=15, description="Children of the family taking part."),
    )),
    Table("mentoring", False, "One row per mentoring pair active in the month.", (
        C("pair_id", TEXT, description="Centre's id of the mentor-child pair."),
        C("mentor_ref", REF, description="Pseudonym of the volunteer mentor."),
        C("family_ref", REF, description="Pseudonym of the child's family."),
        C("child_ref", REF, description="Pseudonym of the mentored child."),
        C("started_on", DATE, description="Date the pair started."),
        C("ended_on", DATE, False, description="Date the pair ended, if in this month."),
        C("project", CODE, False, description="Funded project the pair is attributed to."),
    ), key="pair_id", activity_date="started_on", has_project=True),
    Table("trainings", False, "One row per professional training starting in the month.", (
        C("training_id", TEXT, description="Centre's id of the training."),
        C("topic", CODE, True, TRAINING_TOPICS, description="Topic of the training."),
        C("start_date", DATE, description="First day of the training."),
        C("end_date", DATE, description="Last day of the training."),
        C("hours", NUMBER, True, lo=0, description="Length in hours (> 0)."),
        C("participants", INT, True, lo=1, description="Number of participants (>= 1)."),
        C("participant_type", CODE, True, PARTICIPANT_TYPES, description="Who was trained."),
        C("project", CODE, False, description="Funded project the training is attributed to."),
    ), key="training_id", activity_date="start_date", has_project=True),
)}
del C

REQUIRED_TABLES = tuple(t.name for t in TABLES.values() if t.required)
REF_COLUMNS = ("family_ref", "child_ref", "staff_ref", "mentor_ref")
# Ids that must be unique within the centre across all its deliveries. (A mentoring
# pair is listed in every month it is active, so pair_id recurs across months by design.)
CENTRE_UNIQUE_IDS = {"services": "contact_id", "group_sessions": "session_id",
                     "events": "event_id", "trainings": "training_id"}


# A column's DuckDB type while a delivery is typed and validated (core narrows whole numbers to
# INTEGER); every other kind is text.
_STAGED_TYPES = {DATE: "DATE", INT: "BIGINT", YEAR: "BIGINT", NUMBER: "DOUBLE"}


def staged_type(col: Column) -> str:
    return _STAGED_TYPES.get(col.kind, "VARCHAR")
