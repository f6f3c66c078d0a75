"""Which CID cases are in flight as of a date, and the wave each belongs to."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from legacy.schema import CASE_FLAG, CASE_HDR, CASE_PERSON, DECISION, PERSON
from migration.extract.reference import LegacyReference, read_reference
from migration.facts import active_flags, case_facts
from migration.parsers import flag, parse_cid_date
from migration.rules.matching import first_match
from migration.rules.statuses import DEFAULT_EXCLUSION_REASON, EXCLUSION_REASONS, SOFT_DELETED_REASON
from migration.rules.waves import WAVES
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
                 as_of: dt.date, appeal_window_days: int) -> tuple[bool, str | None]:
    """In flight: not soft-deleted, received by the as-of date (a case received later did not
    exist yet on that date), and its status not terminal, or decided with an appeal pending
    or still in time. Unknown and missing statuses count as in flight (they are quarantined)."""
    if flag(header.get("DELETED_FLG")):
        return False, SOFT_DELETED_REASON
    received = parse_cid_date(header.get("DATE_RCVD")).value
    if received is not None and received > as_of:
        return False, RECEIVED_AFTER_AS_OF
    status = (header.get("STATUS_CD") or "").strip().upper()
    terminal, _retired = reference.statuses.get(status, (False, False))
    if not terminal:
        return True, None
    if decision is not None and decision.get("OUTCOME_CD") == "REFUSE":
        if flag(decision.get("APPEAL_LODGED_FLG")):
            return True, None
        decided = parse_cid_date(decision.get("DECISION_DT"))
        if decided.value is None or (as_of - decided.value).days <= appeal_window_days:
            return True, None
    return False, EXCLUSION_REASONS.get(status, DEFAULT_EXCLUSION_REASON)


DECISION_FIELDS = ("OUTCOME_CD", "DECISION_DT", "APPEAL_LODGED_FLG")


def _active_flags(conn: Connection) -> Iterator[tuple[int, frozenset[str]]]:
    """(CASE_ID, its active flags) in key order, for cases that have flag rows."""
    stmt = (sa.select(CASE_FLAG.c.CASE_ID, CASE_FLAG.c.FLAG_CD, CASE_FLAG.c.CLEARED_DT, CASE_FLAG.c.DELETED_FLG)
            .order_by(CASE_FLAG.c.CASE_ID))
    rows = conn.execute(stmt, execution_options={"yield_per": 20_000}).mappings()
    for case_id, group in groupby(rows, key=lambda r: r["CASE_ID"]):
        yield case_id, active_flags(dict(r) for r in group)


def _headers(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every case header in key order, with its main person's nationality and gender and the
    fields of its latest live decision (prefixed `D_`)."""
    main = (sa.select(CASE_PERSON.c.CASE_ID, sa.func.min(CASE_PERSON.c.PERSON_ID).label("PERSON_ID"))
            .where(CASE_PERSON.c.ROLE_CD == "MAIN", sa.func.coalesce(CASE_PERSON.c.DELETED_FLG, "N") != "Y")
            .group_by(CASE_PERSON.c.CASE_ID).subquery())
    latest = (sa.select(DECISION.c.CASE_ID, sa.func.max(DECISION.c.DECISION_ID).label("DECISION_ID"))
              .where(sa.func.coalesce(DECISION.c.DELETED_FLG, "N") != "Y").group_by(DECISION.c.CASE_ID).subquery())
    stmt = (sa.select(CASE_HDR, PERSON.c.NATIONALITY, PERSON.c.GENDER,
                      DECISION.c.DECISION_ID.label("D_DECISION_ID"),
                      *(DECISION.c[f].label(f"D_{f}") for f in DECISION_FIELDS))
            .select_from(CASE_HDR.outerjoin(main, main.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(PERSON, PERSON.c.PERSON_ID == main.c.PERSON_ID)
                         .outerjoin(latest, latest.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(DECISION, DECISION.c.DECISION_ID == latest.c.DECISION_ID))
            .order_by(CASE_HDR.c.CASE_ID))
    for r in conn.execute(stmt, execution_options={"yield_per": 5000}).mappings():
        yield dict(r)


def classify_cases(conn: Connection, as_of: dt.date, *, appeal_window_days: int = 14,
                   older_months: int = 36, reference: LegacyReference | None = None) -> Iterator[Classified]:
    """Every CID case in key order, in flight with its wave (first match) or excluded with the
    reason, streamed from the database (`reference`: CID's code tables, when already read)."""
    if reference is None:
        reference = read_reference(conn, cross_case=False)
    nationality = NationalityMapper(reference.nationalities)
    flags = _active_flags(conn)
    flagged: tuple[int, frozenset[str]] | None = next(flags, None)
    for header in _headers(conn):
        case_id = header["CASE_ID"]
        while flagged is not None and flagged[0] < case_id:
            flagged = next(flags, None)
        decision = ({f: header[f"D_{f}"] for f in DECISION_FIELDS}
                    if header["D_DECISION_ID"] is not None else None)
        in_flight, reason = is_in_flight(header, decision, reference, as_of, appeal_window_days)
        if not in_flight:
            yield ExcludedCase(case_id, header["CASE_REF"], reason or DEFAULT_EXCLUSION_REASON)
            continue
        case_flags = flagged[1] if flagged is not None and flagged[0] == case_id else frozenset()
        iso3, _ = nationality.map(header.get("NATIONALITY"))
        facts = case_facts(header, case_flags, iso3, header.get("GENDER"), as_of, older_months)
        rule = first_match(WAVES, facts)
        yield PlannedCase(case_id, header["CASE_REF"], rule.outcome, rule.name)


def build_plan(conn: Connection, as_of: dt.date, *, appeal_window_days: int = 14,
               older_months: int = 36) -> Plan:
    """The counts of the plan as of a date (nothing written)."""
    plan = Plan(as_of=as_of)
    for _ in plan.counting(classify_cases(conn, as_of, appeal_window_days=appeal_window_days,
                                          older_months=older_months)):
        pass
    return plan
