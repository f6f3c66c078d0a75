"""The CID-like legacy tables exactly as CID-SCHEMA.md gives them (no foreign keys, by design)."""

from __future__ import annotations

import sqlalchemy as sa

legacy_metadata = sa.MetaData()

FLAG = sa.CHAR(1)
DATE_STR = sa.String(20)


def _audit_columns() -> list[sa.Column]:
    return [sa.Column("DELETED_FLG", FLAG), sa.Column("LAST_UPD_TS", sa.DateTime())]


REF_STATUS = sa.Table(
    "REF_STATUS", legacy_metadata,
    sa.Column("STATUS_CD", sa.String(10), primary_key=True),
    sa.Column("DESCR", sa.String(80)),
    sa.Column("CASE_TYPE", sa.String(4)),
    sa.Column("ACTIVE_FLG", FLAG),
    sa.Column("TERMINAL_FLG", FLAG),
    sa.Column("RETIRED_DT", DATE_STR),
)

REF_NATIONALITY = sa.Table(
    "REF_NATIONALITY", legacy_metadata,
    sa.Column("NAT_CD", sa.String(10), primary_key=True),
    sa.Column("DESCR", sa.String(80)),
    sa.Column("ISO3", sa.String(3)),
)

REF_UNIT = sa.Table(
    "REF_UNIT", legacy_metadata,
    sa.Column("UNIT_CD", sa.String(10), primary_key=True),
    sa.Column("DESCR", sa.String(80)),
    sa.Column("REGION", sa.String(40)),
    sa.Column("ACTIVE_FLG", FLAG),
)

CASE_HDR = sa.Table(
    "CASE_HDR", legacy_metadata,
    sa.Column("CASE_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CASE_REF", sa.String(20)),
    sa.Column("CASE_TYPE", sa.String(4)),
    sa.Column("STATUS_CD", sa.String(10)),
    sa.Column("DATE_RCVD", DATE_STR),
    sa.Column("OWNING_UNIT_CD", sa.String(10)),
    sa.Column("PRIORITY_FLG", FLAG),
    sa.Column("DETAINED_FLG", FLAG),
    sa.Column("SUPPORTED_FLG", FLAG),
    sa.Column("HIGH_HARM_FLG", FLAG),
    *_audit_columns(),
)

PERSON = sa.Table(
    "PERSON", legacy_metadata,
    sa.Column("PERSON_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("SURNAME", sa.String(60)),
    sa.Column("FORENAMES", sa.String(100)),
    sa.Column("DOB", DATE_STR),
    sa.Column("NATIONALITY", sa.String(60)),
    sa.Column("GENDER", sa.CHAR(1)),
    sa.Column("HO_REF", sa.String(20)),
    sa.Column("PORT_REF", sa.String(20)),
    sa.Column("LANGUAGE", sa.String(40)),
    sa.Column("INTERPRETER_FLG", FLAG),
    *_audit_columns(),
)

CASE_PERSON = sa.Table(
    "CASE_PERSON", legacy_metadata,
    sa.Column("CASE_PERSON_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CASE_ID", sa.Integer),
    sa.Column("PERSON_ID", sa.Integer),
    sa.Column("ROLE_CD", sa.String(4)),
    sa.Column("RELATIONSHIP", sa.String(20)),
    *_audit_columns(),
)

ADDRESS = sa.Table(
    "ADDRESS", legacy_metadata,
    sa.Column("ADDRESS_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("PERSON_ID", sa.Integer),
    sa.Column("LINE1", sa.String(80)),
    sa.Column("LINE2", sa.String(80)),
    sa.Column("TOWN", sa.String(60)),
    sa.Column("POSTCODE", sa.String(12)),
    sa.Column("FROM_DT", DATE_STR),
    sa.Column("TO_DT", DATE_STR),
    sa.Column("ADDR_TYPE", sa.String(6)),
    *_audit_columns(),
)

APPOINTMENT = sa.Table(
    "APPOINTMENT", legacy_metadata,
    sa.Column("APPT_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CASE_ID", sa.Integer),
    sa.Column("PERSON_ID", sa.Integer),
    sa.Column("APPT_TYPE", sa.String(6)),
    sa.Column("VENUE", sa.String(80)),
    sa.Column("APPT_TS", sa.DateTime()),
    sa.Column("OUTCOME_CD", sa.String(6)),
    sa.Column("REBOOKED_FROM_ID", sa.Integer),
    sa.Column("INTERPRETER_LANG", sa.String(40)),
    sa.Column("REMOTE_FLG", FLAG),
    *_audit_columns(),
)

CASE_NOTE = sa.Table(
    "CASE_NOTE", legacy_metadata,
    sa.Column("NOTE_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CASE_ID", sa.Integer),
    sa.Column("CREATED_TS", sa.DateTime()),
    sa.Column("AUTHOR_CD", sa.String(20)),
    sa.Column("NOTE_TEXT", sa.Text()),
    *_audit_columns(),
)

DECISION = sa.Table(
    "DECISION", legacy_metadata,
    sa.Column("DECISION_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CASE_ID", sa.Integer),
    sa.Column("OUTCOME_CD", sa.String(6)),
    sa.Column("DECISION_DT", DATE_STR),
    sa.Column("APPEAL_LODGED_FLG", FLAG),
    sa.Column("APPEAL_DT", DATE_STR),
    *_audit_columns(),
)

CASE_FLAG = sa.Table(
    "CASE_FLAG", legacy_metadata,
    sa.Column("FLAG_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CASE_ID", sa.Integer),
    sa.Column("FLAG_CD", sa.String(8)),
    sa.Column("RAISED_DT", DATE_STR),
    sa.Column("CLEARED_DT", DATE_STR),
    *_audit_columns(),
)

UNHCR_REFERRAL = sa.Table(
    "UNHCR_REFERRAL", legacy_metadata,
    sa.Column("REFERRAL_ID", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("CASE_ID", sa.Integer),
    sa.Column("UNHCR_CASE_NO", sa.String(20)),
    sa.Column("SUBMISSION_CAT", sa.String(10)),
    sa.Column("FAMILY_SIZE", sa.Integer),
    sa.Column("RRF_RCVD_DT", DATE_STR),
    sa.Column("MHA_STATUS", sa.String(10)),
    sa.Column("LA_OFFER", sa.String(60)),
    *_audit_columns(),
)

# Indexes a real CID has on its join columns; without them extraction by case would scan.
for _table, _column in (
    (CASE_PERSON, "CASE_ID"), (CASE_PERSON, "PERSON_ID"), (ADDRESS, "PERSON_ID"),
    (APPOINTMENT, "CASE_ID"), (CASE_NOTE, "CASE_ID"), (DECISION, "CASE_ID"),
    (CASE_FLAG, "CASE_ID"), (UNHCR_REFERRAL, "CASE_ID"),
):
    sa.Index(f"IX_{_table.name}_{_column}", _table.c[_column])

REF_TABLES = (REF_STATUS, REF_NATIONALITY, REF_UNIT)
CASE_TABLES = (
    CASE_HDR, PERSON, CASE_PERSON, ADDRESS, APPOINTMENT, CASE_NOTE, DECISION, CASE_FLAG,
    UNHCR_REFERRAL,
)
LEGACY_TABLES = REF_TABLES + CASE_TABLES
