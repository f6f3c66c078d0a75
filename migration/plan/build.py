"""Which CID cases are in flight as of a date, and the wave each belongs to."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import groupby, islice
from typing import Any, cast

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from legacy.schema import ADDRESS, CASE_FLAG, CASE_HDR, CASE_PERSON, DECISION, PERSON
from migration.extract.reference import LegacyReference, read_reference
from migration.facts import ADDRESS_FACTS, fact_frame, first_matches
from migration.parsers import flag, parse_cid_date
from migration.rules import Rules, current_rules
from migration.transform.nationality import NationalityMapper

# A case received after the as-of date did not exist yet on that date: excluded, never a defect.
RECEIVED_AFTER_AS_OF = "received_after_as_of"


@dataclass(frozen=True, slots=True)
class PlannedCase:
    """An in-flight case and the wave cohort rule that took it."""

    case_id: int
    legacy_ref: str | None
    wave: str
    rule: str


@dataclass(frozen=True, slots=True)
class ExcludedCase:
    """A case that is not in flight, with the reason; counted, never migrated."""

    case_id: int
    legacy_ref: str | None
    reason: str


Classified = PlannedCase | ExcludedCase


@dataclass
class Plan:
    """How many cases are in flight per wave and excluded per reason, as of a date (counts only:
    the cases themselves stream through, so a million of them never sit in memory)."""

    as_of: dt.date
    waves: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def in_flight(self) -> int:
        """Cases in flight."""
        return sum(self.waves.values())

    @property
    def excluded(self) -> int:
        """Cases excluded."""
        return sum(self.reasons.values())

    def wave_counts(self) -> Counter[str]:
        """In-flight cases per wave."""
        return Counter(self.waves)

    def excluded_counts(self) -> Counter[str]:
        """Excluded cases per reason."""
        return Counter(self.reasons)

    def counting(self, classified: Iterable[Classified]) -> Iterator[Classified]:
        """Pass the classified cases through, counting them."""
        for case in classified:
            if isinstance(case, PlannedCase):
                self.waves[case.wave] += 1
            else:
                self.reasons[case.reason] += 1
            yield case


def is_in_flight(header: dict[str, Any], decision: dict[str, Any] | None, reference: LegacyReference,
                 as_of: dt.date, appeal_window_days: int | None = None,
                 rules: Rules | None = None) -> tuple[bool, str | None]:
    """In flight: not soft-deleted, received by the as-of date (a case received later did not
    exist yet on that date), and its status not terminal, or decided with an appeal pending or
    still in time (the appeal window of the rules unless given). Unknown and missing statuses
    count as in flight (they are quarantined)."""
    rules = rules or current_rules()
    window = rules.appeal_window_days if appeal_window_days is None else appeal_window_days
    if flag(header.get("DELETED_FLG")):
        return False, rules.soft_deleted_reason
    received = parse_cid_date(header.get("DATE_RCVD")).value
    if received is not None and received > as_of:
        return False, RECEIVED_AFTER_AS_OF
    status = (header.get("STATUS_CD") or "").strip().upper()
    terminal, _retired = reference.statuses.get(status, (False, False))
    if not terminal:
        return True, None
    if decision is not None and decision.get("OUTCOME_CD") in rules.appealable_outcomes:
        if flag(decision.get("APPEAL_LODGED_FLG")):
            return True, None
        decided = parse_cid_date(decision.get("DECISION_DT"))
        if decided.value is None or (as_of - decided.value).days <= window:
            return True, None
    return False, rules.exclusion_reasons.get(status, rules.terminal_reason)


DECISION_FIELDS = ("OUTCOME_CD", "DECISION_DT", "APPEAL_LODGED_FLG")


def _grouped(conn: Connection, stmt: sa.Select[Any]) -> Iterator[tuple[int, list[Mapping[str, Any]]]]:
    """(CASE_ID, its rows) in key order, for the cases that have rows (the statement sorts by CASE_ID)."""
    rows = conn.execute(stmt, execution_options={"yield_per": 20_000}).mappings()
    for case_id, group in groupby(rows, key=lambda r: r["CASE_ID"]):
        yield case_id, cast(list[Mapping[str, Any]], list(group))  # RowMapping's keys are str here


class _Aligned:
    """The rows of each case in turn from a stream grouped by CASE_ID, asked for in key order."""

    def __init__(self, groups: Iterator[tuple[int, list[Mapping[str, Any]]]]) -> None:
        self.groups = groups
        self.head = next(groups, None)

    def rows_of(self, case_id: int) -> list[Mapping[str, Any]]:
        """The rows of this case (none when it has none); earlier cases' rows are passed by."""
        while self.head is not None and self.head[0] < case_id:
            self.head = next(self.groups, None)
        return self.head[1] if self.head is not None and self.head[0] == case_id else []


def _main_parties() -> sa.Subquery:
    """CASE_ID -> PERSON_ID of its main applicant (the lowest, where a case names more than one)."""
    return (sa.select(CASE_PERSON.c.CASE_ID, sa.func.min(CASE_PERSON.c.PERSON_ID).label("PERSON_ID"))
            .where(CASE_PERSON.c.ROLE_CD == "MAIN", sa.func.coalesce(CASE_PERSON.c.DELETED_FLG, "N") != "Y")
            .group_by(CASE_PERSON.c.CASE_ID).subquery())


def _flags(conn: Connection) -> _Aligned:
    stmt = (sa.select(CASE_FLAG.c.CASE_ID, CASE_FLAG.c.FLAG_CD, CASE_FLAG.c.CLEARED_DT, CASE_FLAG.c.DELETED_FLG)
            .order_by(CASE_FLAG.c.CASE_ID))
    return _Aligned(_grouped(conn, stmt))


def _main_addresses(conn: Connection) -> _Aligned:
    main = _main_parties()
    stmt = (sa.select(main.c.CASE_ID, ADDRESS.c.ADDR_TYPE, ADDRESS.c.LINE1, ADDRESS.c.TO_DT, ADDRESS.c.POSTCODE,
                      ADDRESS.c.DELETED_FLG)
            .select_from(main.join(ADDRESS, ADDRESS.c.PERSON_ID == main.c.PERSON_ID))
            .order_by(main.c.CASE_ID, ADDRESS.c.ADDRESS_ID))
    return _Aligned(_grouped(conn, stmt))


def _headers(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every case header in key order, with its main person's id (`MAIN_PERSON_ID`), nationality and
    gender and the fields of its latest live decision (prefixed `D_`)."""
    main = _main_parties()
    latest = (sa.select(DECISION.c.CASE_ID, sa.func.max(DECISION.c.DECISION_ID).label("DECISION_ID"))
              .where(sa.func.coalesce(DECISION.c.DELETED_FLG, "N") != "Y").group_by(DECISION.c.CASE_ID).subquery())
    stmt = (sa.select(CASE_HDR, main.c.PERSON_ID.label("MAIN_PERSON_ID"), PERSON.c.NATIONALITY, PERSON.c.GENDER,
                      DECISION.c.DECISION_ID.label("D_DECISION_ID"),
                      *(DECISION.c[f].label(f"D_{f}") for f in DECISION_FIELDS))
            .select_from(CASE_HDR.outerjoin(main, main.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(PERSON, PERSON.c.PERSON_ID == main.c.PERSON_ID)
                         .outerjoin(latest, latest.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(DECISION, DECISION.c.DECISION_ID == latest.c.DECISION_ID))
            .order_by(CASE_HDR.c.CASE_ID))
    for r in conn.execute(stmt, execution_options={"yield_per": 5000}).mappings():
        yield dict(r)


# Cases whose facts are read as one frame: memory stays flat, and Polars' cost per call is spread.
CHUNK = 5000
FACT_INPUTS = {"CASE_ID": pl.Int64(), "CASE_TYPE": pl.String(), "DETAINED_FLG": pl.String(),
               "HIGH_HARM_FLG": pl.String(), "SUPPORTED_FLG": pl.String(), "DATE_RCVD": pl.String(),
               "OWNING_UNIT_CD": pl.String(), "MAIN_PERSON_ID": pl.Int64(), "NATIONALITY": pl.String(),
               "GENDER": pl.String()}
FLAG_INPUTS = {"CASE_ID": pl.Int64(), "FLAG_CD": pl.String(), "CLEARED_DT": pl.String(), "DELETED_FLG": pl.String()}
ADDRESS_INPUTS = {"CASE_ID": pl.Int64(), "ADDR_TYPE": pl.String(), "LINE1": pl.String(), "TO_DT": pl.String(),
                  "POSTCODE": pl.String(), "DELETED_FLG": pl.String()}


def _inputs(rows: Iterable[Mapping[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r[c] for c in schema) for r in rows], schema=schema, orient="row")


def _waves(headers: list[dict[str, Any]], flags: _Aligned, addresses: _Aligned | None, reference: LegacyReference,
           as_of: dt.date, rules: Rules, nationality: NationalityMapper) -> dict[int, tuple[str, str]]:
    """CASE_ID -> (wave, cohort rule) of in-flight cases, in key order, by the facts of their rows."""
    flag_rows = [r for h in headers for r in flags.rows_of(h["CASE_ID"])]
    address_rows = [] if addresses is None else [
        r for h in headers if h["MAIN_PERSON_ID"] is not None for r in addresses.rows_of(h["CASE_ID"])]
    facts = fact_frame(_inputs(headers, FACT_INPUTS), _inputs(flag_rows, FLAG_INPUTS),
                       _inputs(address_rows, ADDRESS_INPUTS), as_of, rules, nationality, reference.unit_regions)
    return {cid: (wave, rule) for cid, wave, rule in first_matches(facts, rules.waves).iter_rows()}


def classify_cases(conn: Connection, as_of: dt.date, *, appeal_window_days: int | None = None,
                   older_months: int | None = None, reference: LegacyReference | None = None,
                   rules: Rules | None = None) -> Iterator[Classified]:
    """Every CID case in key order, in flight with its wave (first match) or excluded with the
    reason, streamed from the database (`reference`: CID's code tables, when already read). The
    rules in force decide unless `rules` is given; the two periods override theirs when given."""
    rules = rules or current_rules()
    if older_months is not None and older_months != rules.older_case_months:
        rules = replace(rules, older_case_months=older_months)
    if reference is None:
        reference = read_reference(conn, cross_case=False)
    nationality = NationalityMapper(reference.nationalities, rules.nationality_aliases)
    flags = _flags(conn)
    # The main applicant's addresses are read only when a wave's cohort asks a fact drawn from them.
    addresses = _main_addresses(conn) if any(ADDRESS_FACTS & set(r.when) for r in rules.waves) else None
    headers = _headers(conn)
    while chunk := list(islice(headers, CHUNK)):
        verdicts = []
        for header in chunk:
            decision = ({f: header[f"D_{f}"] for f in DECISION_FIELDS}
                        if header["D_DECISION_ID"] is not None else None)
            verdicts.append(is_in_flight(header, decision, reference, as_of, appeal_window_days, rules))
        flying = [h for h, (in_flight, _) in zip(chunk, verdicts, strict=True) if in_flight]
        waves = _waves(flying, flags, addresses, reference, as_of, rules, nationality) if flying else {}
        for header, (in_flight, reason) in zip(chunk, verdicts, strict=True):
            case_id = header["CASE_ID"]
            if in_flight:
                yield PlannedCase(case_id, header["CASE_REF"], *waves[case_id])
            else:
                yield ExcludedCase(case_id, header["CASE_REF"], reason or rules.terminal_reason)


def build_plan(conn: Connection, as_of: dt.date, *, appeal_window_days: int | None = None,
               older_months: int | None = None) -> Plan:
    """The counts of the plan as of a date (nothing written)."""
    plan = Plan(as_of=as_of)
    for _ in plan.counting(classify_cases(conn, as_of, appeal_window_days=appeal_window_days,
                                          older_months=older_months)):
        pass
    return plan
