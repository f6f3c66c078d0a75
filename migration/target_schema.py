"""The Atlas-like target model and the tool's own cutover_* tables, as SQLAlchemy Core tables.

Business tables hold only values derived from legacy data and the as-of date (never a run id,
time or host), so two runs of the same work give identical rows. Alembic creates and upgrades
all of it (migration/load/alembic)."""

from __future__ import annotations

import sqlalchemy as sa

target_metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Enumerations of the target, in one place; code and checks look them up here.
CASE_TYPES = ("asylum", "resettlement", "family_reunion", "settlement")
LIFECYCLE_STATES = (
    "registered", "screening", "interview", "awaiting_decision", "decided_appeal_window",
    "appeal_pending", "resettlement_referral", "resettlement_health", "resettlement_offer",
    "resettlement_arrival",
)
GENDERS = ("male", "female", "unspecified", "other")
DATE_PRECISIONS = ("day", "month", "year", "unknown")
PARTY_ROLES = ("main_applicant", "dependant")
RELATIONSHIPS = ("spouse", "child", "parent", "sibling", "other")
ADDRESS_KINDS = ("initial_accommodation", "hotel", "dispersal", "detention", "private")
APPOINTMENT_KINDS = ("screening", "substantive_interview", "reporting")
APPOINTMENT_OUTCOMES = ("scheduled", "attended", "did_not_attend", "cancelled", "rescheduled")
DECISION_OUTCOMES = ("grant", "refuse", "no_further_action")
VULNERABILITIES = (
    "uasc", "detained", "medical", "survivor_of_torture", "woman_at_risk", "pregnant",
    "high_profile", "non_suspensive_appeal",
)
SUBMISSION_CATEGORIES = ("normal", "urgent", "emergency")
HEALTH_ASSESSMENTS = ("pending", "complete", "referred")
TASK_KINDS = (
    "screen_applicant", "book_substantive_interview", "conduct_interview", "make_decision",
    "review_appeal", "serve_decision", "complete_health_assessment", "secure_local_authority_offer",
    "arrange_arrival", "review_case",
)
PRIORITY_BANDS = ("high_harm", "supported", "uasc", "older_case", "standard")

NAME_MAX = 100
NOTE_TEXT_MAX = 8000
TEXT_MAX = 120


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


UNIT = sa.Table(
    "unit", target_metadata,
    sa.Column("unit_code", sa.String(24), primary_key=True),
    sa.Column("name", sa.String(TEXT_MAX), nullable=False),
)

PERSON = sa.Table(
    "person", target_metadata,
    sa.Column("person_id", sa.Uuid, primary_key=True),
    sa.Column("surname", sa.String(NAME_MAX)),
    sa.Column("forenames", sa.String(NAME_MAX)),
    sa.Column("birth_date", sa.Date),
    sa.Column("birth_date_precision", _enum("date_precision", DATE_PRECISIONS), nullable=False),
    sa.Column("nationality", sa.String(3), nullable=False),
    sa.Column("gender", _enum("gender", GENDERS), nullable=False),
    sa.Column("home_office_ref", sa.String(20)),
    sa.Column("port_ref", sa.String(20)),
    sa.Column("language", sa.String(40)),
    sa.Column("interpreter_needed", sa.Boolean, nullable=False),
    sa.Column("legacy_person_id", sa.Integer, nullable=False, index=True),
)

CASE = sa.Table(
    "case", target_metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("case_ref", sa.String(20), nullable=False, unique=True),
    sa.Column("legacy_ref", sa.String(20), nullable=False),
    sa.Column("legacy_case_id", sa.Integer, nullable=False, unique=True),
    sa.Column("legacy_status_code", sa.String(10), nullable=False),
    sa.Column("case_type", _enum("case_type", CASE_TYPES), nullable=False),
    sa.Column("lifecycle_state", _enum("lifecycle_state", LIFECYCLE_STATES), nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("owning_unit", sa.String(24), sa.ForeignKey("unit.unit_code"), nullable=False),
    sa.Column("routing_rule", sa.String(40), nullable=False),
    sa.Column("priority", sa.Boolean, nullable=False),
    sa.Column("detained", sa.Boolean, nullable=False),
    sa.Column("supported", sa.Boolean, nullable=False),
    sa.Column("high_harm", sa.Boolean, nullable=False),
)

CASE_PARTY = sa.Table(
    "case_party", target_metadata,
    sa.Column("case_party_id", sa.Uuid, primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("case.case_id"), nullable=False, index=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("person.person_id"), nullable=False, index=True),
    sa.Column("role", _enum("party_role", PARTY_ROLES), nullable=False),
    sa.Column("relationship", _enum("relationship", RELATIONSHIPS)),
    sa.Column("legacy_case_person_id", sa.Integer, nullable=False),
)

ADDRESS = sa.Table(
    "address", target_metadata,
    sa.Column("address_id", sa.Uuid, primary_key=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("person.person_id"), nullable=False, index=True),
    sa.Column("line1", sa.String(80), nullable=False),
    sa.Column("line2", sa.String(80)),
    sa.Column("town", sa.String(60)),
    sa.Column("postcode", sa.String(8)),
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_to", sa.Date),
    sa.Column("kind", _enum("address_kind", ADDRESS_KINDS), nullable=False),
    sa.Column("legacy_address_id", sa.Integer, nullable=False, index=True),
    sa.Column("legacy_person_id", sa.Integer, nullable=False, index=True),
)

APPOINTMENT = sa.Table(
    "appointment", target_metadata,
    sa.Column("appointment_id", sa.Uuid, primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("case.case_id"), nullable=False, index=True),
    sa.Column("person_id", sa.Uuid, sa.ForeignKey("person.person_id"), index=True),
    sa.Column("kind", _enum("appointment_kind", APPOINTMENT_KINDS), nullable=False),
    sa.Column("venue", sa.String(TEXT_MAX)),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("outcome", _enum("appointment_outcome", APPOINTMENT_OUTCOMES), nullable=False),
    sa.Column("rebooked_from_id", sa.Uuid, sa.ForeignKey("appointment.appointment_id"), index=True),
    sa.Column("interpreter_language", sa.String(40)),
    sa.Column("remote", sa.Boolean, nullable=False),
    sa.Column("legacy_appt_id", sa.Integer, nullable=False),
)

CASE_NOTE = sa.Table(
    "case_note", target_metadata,
    sa.Column("note_id", sa.Uuid, primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("case.case_id"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("author", sa.String(20)),
    sa.Column("part", sa.Integer, nullable=False),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("text", sa.String(NOTE_TEXT_MAX), nullable=False),
    sa.Column("legacy_note_id", sa.Integer, nullable=False),
)

DECISION = sa.Table(
    "decision", target_metadata,
    sa.Column("decision_id", sa.Uuid, primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("case.case_id"), nullable=False, index=True),
    sa.Column("outcome", _enum("decision_outcome", DECISION_OUTCOMES), nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("appeal_lodged", sa.Boolean, nullable=False),
    sa.Column("appeal_lodged_on", sa.Date),
    sa.Column("legacy_decision_id", sa.Integer, nullable=False),
)

VULNERABILITY = sa.Table(
    "vulnerability", target_metadata,
    sa.Column("vulnerability_id", sa.Uuid, primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("case.case_id"), nullable=False, index=True),
    sa.Column("kind", _enum("vulnerability_kind", VULNERABILITIES), nullable=False),
    sa.Column("raised_on", sa.Date),
    sa.Column("cleared_on", sa.Date),
    sa.Column("legacy_flag_id", sa.Integer, nullable=False),
)

RESETTLEMENT_REFERRAL = sa.Table(
    "resettlement_referral", target_metadata,
    sa.Column("referral_id", sa.Uuid, primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("case.case_id"), nullable=False, index=True),
    sa.Column("unhcr_case_no", sa.String(20), nullable=False),
    sa.Column("submission_category", _enum("submission_category", SUBMISSION_CATEGORIES), nullable=False),
    sa.Column("family_size", sa.Integer),
    sa.Column("referral_received_on", sa.Date),
    sa.Column("health_assessment", _enum("health_assessment", HEALTH_ASSESSMENTS)),
    sa.Column("local_authority_offer", sa.String(60)),
    sa.Column("legacy_referral_id", sa.Integer, nullable=False),
)

TASK = sa.Table(
    "task", target_metadata,
    sa.Column("task_id", sa.Uuid, primary_key=True),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("case.case_id"), nullable=False, unique=True),
    sa.Column("unit_code", sa.String(24), sa.ForeignKey("unit.unit_code"), nullable=False),
    sa.Column("kind", _enum("task_kind", TASK_KINDS), nullable=False),
    sa.Column("priority_band", _enum("priority_band", PRIORITY_BANDS), nullable=False),
    sa.Column("priority_rank", sa.Integer, nullable=False),
)

# Load order: parents first. Deletes go the other way.
BUSINESS_TABLES = (
    PERSON, CASE, CASE_PARTY, ADDRESS, APPOINTMENT, CASE_NOTE, DECISION, VULNERABILITY,
    RESETTLEMENT_REFERRAL, TASK,
)

# ---- the tool's own record of its work --------------------------------------------------------

CUTOVER_PLAN = sa.Table(
    "cutover_plan", target_metadata,
    sa.Column("legacy_case_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("legacy_ref", sa.String(20)),
    sa.Column("wave", sa.String(32), nullable=False, index=True),
    sa.Column("wave_rule", sa.String(40), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
)

CUTOVER_EXCLUSION = sa.Table(
    "cutover_exclusion", target_metadata,
    sa.Column("legacy_case_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("legacy_ref", sa.String(20)),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
)

CUTOVER_RUN = sa.Table(
    "cutover_run", target_metadata,
    sa.Column("run_id", sa.Uuid, primary_key=True),
    sa.Column("wave", sa.String(32), nullable=False, index=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("batch_size", sa.Integer, nullable=False),
    sa.Column("lanes", sa.Integer),  # batches run at once, for which the wave was cut (NULL: not recorded)
    sa.Column("migrated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quarantined", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("excluded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
)

CUTOVER_BATCH = sa.Table(
    "cutover_batch", target_metadata,
    sa.Column("run_id", sa.Uuid, sa.ForeignKey("cutover_run.run_id"), primary_key=True),
    sa.Column("batch_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("wave", sa.String(32), nullable=False),
    sa.Column("first_case_id", sa.Integer, nullable=False),
    sa.Column("last_case_id", sa.Integer, nullable=False),
    sa.Column("cases", sa.Integer, nullable=False),
    sa.Column("migrated", sa.Integer, nullable=False),
    sa.Column("quarantined", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
    sa.Column("excluded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
)

CUTOVER_CASE = sa.Table(
    "cutover_case", target_metadata,
    sa.Column("legacy_case_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("legacy_ref", sa.String(20)),
    sa.Column("wave", sa.String(32), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("legacy_fingerprint", sa.String(64), nullable=False),
    sa.Column("target_fingerprint", sa.String(64)),
    sa.Column("run_id", sa.Uuid, nullable=False),
)

CUTOVER_FINDING = sa.Table(
    "cutover_finding", target_metadata,
    sa.Column("finding_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("legacy_case_id", sa.Integer, nullable=False, index=True),
    sa.Column("wave", sa.String(32), nullable=False),
    sa.Column("rule", sa.String(48), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("field", sa.String(40)),
    sa.Column("legacy_key", sa.Integer),
    sa.Column("defect", sa.String(32)),
    sa.Column("action", sa.String(12), nullable=False),
    sa.Column("run_id", sa.Uuid, nullable=False),
)

CUTOVER_LOCK = sa.Table(
    "cutover_lock", target_metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
)

# Each migrated case's reading of each legacy person on it: a merged human's person row is the
# reading with the lowest PERSON_ID, so it can be worked out again when that record leaves. It
# holds personal data, as the business tables do: it is not one of the tool's record tables.
CUTOVER_PERSON_SOURCE = sa.Table(
    "cutover_person_source", target_metadata,
    sa.Column("legacy_case_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("legacy_person_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("person_id", sa.Uuid, nullable=False, index=True),
    sa.Column("surname", sa.String(NAME_MAX)),
    sa.Column("forenames", sa.String(NAME_MAX)),
    sa.Column("birth_date", sa.Date),
    sa.Column("birth_date_precision", sa.String(32), nullable=False),
    sa.Column("nationality", sa.String(3), nullable=False),
    sa.Column("gender", sa.String(32), nullable=False),
    sa.Column("home_office_ref", sa.String(20)),
    sa.Column("port_ref", sa.String(20)),
    sa.Column("language", sa.String(40)),
    sa.Column("interpreter_needed", sa.Boolean, nullable=False),
)

CUTOVER_TABLES = (
    CUTOVER_PLAN, CUTOVER_EXCLUSION, CUTOVER_RUN, CUTOVER_BATCH, CUTOVER_CASE, CUTOVER_FINDING,
    CUTOVER_LOCK,
)

# ---- the record of the cutover (audit/): append-only, see alembic revision 0002 -----------------

CUTOVER_LEDGER = sa.Table(
    "cutover_ledger", target_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=False),
)

CUTOVER_LEDGER_PENDING = sa.Table(
    "cutover_ledger_pending", target_metadata,
    sa.Column("run_id", sa.Uuid, primary_key=True),
    sa.Column("batch_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ord", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("body", sa.Text, nullable=False),
)

CUTOVER_CHECKPOINT = sa.Table(
    "cutover_checkpoint", target_metadata,
    sa.Column("checkpoint_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("root", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("key_fingerprint", sa.String(64), nullable=False),
    sa.Column("public_key", sa.Text, nullable=False),
)

CUTOVER_REPORT = sa.Table(
    "cutover_report", target_metadata,
    sa.Column("report_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("ledger_seq", sa.Integer, nullable=False),
)

CUTOVER_LOG = sa.Table(
    "cutover_log", target_metadata,
    sa.Column("origin", sa.String(200), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# A person's digest, one row each: a person's range key (its standing PERSON_ID) moves when the
# reading that stands for a merged human changes, so its digest is kept by its own key.
CUTOVER_ROW_DIGEST = sa.Table(
    "cutover_row_digest", target_metadata,
    sa.Column("entity", sa.String(32), primary_key=True),
    sa.Column("row_key", sa.Uuid, primary_key=True),
    sa.Column("range_key", sa.Integer, nullable=False),
    sa.Column("field_hashes", sa.Text, nullable=False),
    sa.Column("row_h28", sa.BigInteger, nullable=False),
    sa.Index("ix_cutover_row_digest_entity_range", "entity", "range_key"),
)

# The digests of every other business table, packed per bucket of DIGEST_BUCKET_WIDTH consecutive
# range keys, in parts (one per load that wrote rows into the bucket), each holding its row count,
# the sum of its rows' totals and each row's `range_key,row_key,field_hashes`, joined by `;`. The
# part with the nil key holds no rows: it is what a load locks to rewrite the bucket's parts.
CUTOVER_DIGEST_BUCKET = sa.Table(
    "cutover_digest_bucket", target_metadata,
    sa.Column("entity", sa.String(32), primary_key=True),
    sa.Column("bucket", sa.BigInteger, primary_key=True),
    sa.Column("part", sa.Uuid, primary_key=True),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("pack", sa.Text, nullable=False),
)
