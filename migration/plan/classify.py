"""Which CID cases are in flight as of a date, and the wave each belongs to, worked out a key range
of cases at a time over frames: the rule of build.is_in_flight as Polars expressions (the tests
hold the two equal, value for value), then the wave cohorts by the facts of the range's rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import for_batch_statements
from core.dialects import dialect_of
from core.read_ahead import read_ahead
from legacy.schema import ADDRESS, CASE_FLAG, CASE_HDR, CASE_PERSON, DECISION, PERSON
from migration.extract.reference import LegacyReference
from migration.facts import ADDRESS_FACTS, fact_frame, first_matches
from migration.rules import Rules
from migration.transform import columns
from migration.transform.nationality import NationalityMapper

# A case received after the as-of date did not exist yet on that date: excluded, never a defect.
RECEIVED_AFTER_AS_OF = "received_after_as_of"
# Cases read and classified at once: memory stays flat, and each call's fixed costs are spread.
RANGE = 50_000

_TEXT = pl.String()
HEADER_SCHEMA = pl.Schema({
    "CASE_ID": pl.Int64(), "CASE_REF": _TEXT, "CASE_TYPE": _TEXT, "STATUS_CD": _TEXT, "DATE_RCVD": _TEXT,
    "OWNING_UNIT_CD": _TEXT, "DETAINED_FLG": _TEXT, "SUPPORTED_FLG": _TEXT, "HIGH_HARM_FLG": _TEXT,
    "DELETED_FLG": _TEXT, "MAIN_PERSON_ID": _TEXT, "NATIONALITY": _TEXT, "GENDER": _TEXT, "D_DECISION_ID": _TEXT,
    "D_OUTCOME_CD": _TEXT, "D_DECISION_DT": _TEXT, "D_APPEAL_LODGED_FLG": _TEXT,
})
FLAG_SCHEMA = pl.Schema({"CASE_ID": pl.Int64(), "FLAG_CD": _TEXT, "CLEARED_DT": _TEXT, "DELETED_FLG": _TEXT})
ADDRESS_SCHEMA = pl.Schema({"CASE_ID": pl.Int64(), "ADDR_TYPE": _TEXT, "LINE1": _TEXT, "TO_DT": _TEXT,
                            "POSTCODE": _TEXT, "DELETED_FLG": _TEXT})
# What a range's classification gives: every case, with its wave and cohort rule when in flight,
# else the reason it is excluded.
CLASSIFIED_SCHEMA = pl.Schema({"CASE_ID": pl.Int64(), "CASE_REF": _TEXT, "wave": _TEXT, "rule": _TEXT,
                               "reason": _TEXT})


# The latest live decision's fields the in-flight rule reads, each as D_<field> beside its header.
DECISION_FIELDS = ("OUTCOME_CD", "DECISION_DT", "APPEAL_LODGED_FLG")


def in_flight_columns(headers: pl.DataFrame, reference: LegacyReference, as_of: dt.date, window: int | None,
                      rules: Rules) -> pl.DataFrame:
    """The headers with `in_flight` and `reason` (null when in flight), by build.is_in_flight's
    rule (`window`: the appeal window in days; None: the rules'). `headers`: CASE_HDR's
    DELETED_FLG, DATE_RCVD and STATUS_CD with the latest live decision's D_DECISION_ID (null
    without one) and its DECISION_FIELDS."""
    window = rules.appeal_window_days if window is None else window
    status = columns.code(pl.col("STATUS_CD")).fill_null("")
    terminal = status.is_in([code for code, (is_terminal, _) in reference.statuses.items() if is_terminal])
    deleted = columns.flag(pl.col("DELETED_FLG"))
    received_after = (columns.cid_date(pl.col("DATE_RCVD")).struct.field("value") > as_of).fill_null(False)
    decided = columns.cid_date(pl.col("D_DECISION_DT")).struct.field("value")
    appeal_open = (columns.flag(pl.col("D_APPEAL_LODGED_FLG")) | decided.is_null()
                   | ((pl.lit(as_of) - decided).dt.total_days() <= window))
    pending = (pl.col("D_DECISION_ID").is_not_null()
               & pl.col("D_OUTCOME_CD").is_in(sorted(rules.appealable_outcomes)).fill_null(False) & appeal_open)
    flying = headers.with_columns((~deleted & ~received_after & (~terminal | pending)).alias("in_flight"))
    reasons = rules.exclusion_reasons
    excluded_for = status.replace_strict(list(reasons), list(reasons.values()), default=rules.terminal_reason,
                                         return_dtype=pl.String)
    reason = (pl.when(pl.col("in_flight")).then(pl.lit(None, pl.String))
              .when(deleted).then(pl.lit(rules.soft_deleted_reason))
              .when(received_after).then(pl.lit(RECEIVED_AFTER_AS_OF))
              .otherwise(excluded_for))
    return flying.with_columns(reason.alias("reason"))


def _in_range(column: sa.ColumnElement[Any], low: int, high: int) -> sa.ColumnElement[bool]:
    return column.between(low, high)


def _main_parties(low: int, high: int) -> sa.Subquery:
    """CASE_ID -> PERSON_ID of its main applicant (the lowest, where a case names more than one)."""
    return (sa.select(CASE_PERSON.c.CASE_ID, sa.func.min(CASE_PERSON.c.PERSON_ID).label("PERSON_ID"))
            .where(_in_range(CASE_PERSON.c.CASE_ID, low, high), CASE_PERSON.c.ROLE_CD == "MAIN",
                   sa.func.coalesce(CASE_PERSON.c.DELETED_FLG, "N") != "Y")
            .group_by(CASE_PERSON.c.CASE_ID).subquery())


def _headers(low: int, high: int) -> sa.Select[Any]:
    """The range's case headers with what classifying them reads: the main applicant (whose id
    only says there is one) with their nationality and gender, and the latest live decision."""
    main = _main_parties(low, high)
    latest = (sa.select(DECISION.c.CASE_ID, sa.func.max(DECISION.c.DECISION_ID).label("DECISION_ID"))
              .where(_in_range(DECISION.c.CASE_ID, low, high), sa.func.coalesce(DECISION.c.DELETED_FLG, "N") != "Y")
              .group_by(DECISION.c.CASE_ID).subquery())
    own = [CASE_HDR.c[name] for name in list(HEADER_SCHEMA)[:10]]
    return (sa.select(*own, sa.cast(main.c.PERSON_ID, sa.Text).label("MAIN_PERSON_ID"), PERSON.c.NATIONALITY,
                      PERSON.c.GENDER, sa.cast(DECISION.c.DECISION_ID, sa.Text).label("D_DECISION_ID"),
                      *(DECISION.c[name] for name in DECISION_FIELDS))
            .select_from(CASE_HDR.outerjoin(main, main.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(PERSON, PERSON.c.PERSON_ID == main.c.PERSON_ID)
                         .outerjoin(latest, latest.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(DECISION, DECISION.c.DECISION_ID == latest.c.DECISION_ID))
            .where(_in_range(CASE_HDR.c.CASE_ID, low, high)).order_by(CASE_HDR.c.CASE_ID))


def _flags(low: int, high: int) -> sa.Select[Any]:
    return (sa.select(*(CASE_FLAG.c[name] for name in FLAG_SCHEMA))
            .where(_in_range(CASE_FLAG.c.CASE_ID, low, high)))


def _main_addresses(low: int, high: int) -> sa.Select[Any]:
    """The main applicant's addresses, with the CASE_ID they stand for, in ADDRESS_ID order."""
    main = _main_parties(low, high)
    return (sa.select(main.c.CASE_ID, *(ADDRESS.c[name] for name in list(ADDRESS_SCHEMA)[1:]))
            .select_from(main.join(ADDRESS, ADDRESS.c.PERSON_ID == main.c.PERSON_ID))
            .order_by(main.c.CASE_ID, ADDRESS.c.ADDRESS_ID))


def key_ranges(conn: Connection, size: int = RANGE) -> list[tuple[int, int]]:
    """CASE_HDR's keys cut into consecutive ranges of `size` cases: (lowest, highest) of each."""
    keys = dialect_of(conn).read_frame(conn, sa.select(CASE_HDR.c.CASE_ID).order_by(CASE_HDR.c.CASE_ID),
                                       pl.Schema({"CASE_ID": pl.Int64()}))["CASE_ID"]
    return [(keys[start], keys[min(start + size, len(keys)) - 1]) for start in range(0, len(keys), size)]


RangeFrames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]


def _range_frames(conn: Connection, with_addresses: bool, size: int) -> Iterator[RangeFrames]:
    """Each key range of `size` cases: its headers, flags and main applicants' addresses (empty
    unless `with_addresses`), in key order."""
    # A range's look-ups of its persons and decisions read the indexes, as a batch's do, rather
    # than the whole of PERSON for each range.
    read = dialect_of(for_batch_statements(conn)).read_frame
    for low, high in key_ranges(conn, size):
        addresses = (read(conn, _main_addresses(low, high), ADDRESS_SCHEMA) if with_addresses
                     else pl.DataFrame(schema=ADDRESS_SCHEMA))
        yield read(conn, _headers(low, high), HEADER_SCHEMA), read(conn, _flags(low, high), FLAG_SCHEMA), addresses


def classified_frames(conn: Connection, as_of: dt.date, reference: LegacyReference, rules: Rules,
                      window: int | None, *, size: int = RANGE) -> Iterator[pl.DataFrame]:
    """Every CID case, a key range at a time in key order, as CLASSIFIED_SCHEMA frames: in flight
    with its wave (the first cohort its facts match) or excluded with the reason. The next range
    is read while this one is classified."""
    nationality = NationalityMapper(reference.nationalities, rules.nationality_aliases)
    # The main applicant's addresses are read only when a wave's cohort asks a fact drawn from them.
    with_addresses = any(ADDRESS_FACTS & set(r.when) for r in rules.waves)
    for header_rows, flags, addresses in read_ahead(_range_frames(conn, with_addresses, size)):
        headers = in_flight_columns(header_rows, reference, as_of, window, rules)
        flying = headers.filter(pl.col("in_flight"))
        waves = pl.DataFrame(schema={"CASE_ID": pl.Int64(), "outcome": _TEXT, "rule": _TEXT})
        if not flying.is_empty():
            facts = fact_frame(flying, flags, addresses, as_of, rules, nationality, reference.unit_regions)
            waves = first_matches(facts, rules.waves)
        yield (headers.join(waves, on="CASE_ID", how="left", maintain_order="left")
               .select("CASE_ID", "CASE_REF", pl.col("outcome").alias("wave"), "rule", "reason"))
