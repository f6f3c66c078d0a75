"""Which CID cases are in flight as of a date, and the wave each belongs to."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
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


@dataclass
class Plan:
    """The in-flight cases by wave and the excluded cases by reason, as of a date."""

    as_of: dt.date
    cases: list[PlannedCase] = field(default_factory=list)
    excluded: list[ExcludedCase] = field(default_factory=list)

    def wave_counts(self) -> Counter[str]:
        """In-flight cases per wave."""
        return Counter(c.wave for c in self.cases)

    def excluded_counts(self) -> Counter[str]:
        """Excluded cases per reason."""
        return Counter(c.reason for c in self.excluded)


def is_in_flight(header: dict[str, Any], decision: dict[str, Any] | None, reference: LegacyReference,
                 as_of: dt.date, appeal_window_days: int) -> tuple[bool, str | None]:
    """In flight: not soft-deleted, and its status not terminal, or decided with an appeal pending
    or still in time. Unknown and missing statuses count as in flight (they are quarantined)."""
    if flag(header.get("DELETED_FLG")):
        return False, SOFT_DELETED_REASON
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


def _latest_decisions(conn: Connection) -> dict[int, tuple[Any, ...]]:
    """CASE_ID -> the DECISION_FIELDS of its latest live decision (tuples: a million cases fit)."""
    stmt = (sa.select(DECISION.c.CASE_ID, *(DECISION.c[f] for f in DECISION_FIELDS))
            .where(sa.func.coalesce(DECISION.c.DELETED_FLG, "N") != "Y").order_by(DECISION.c.DECISION_ID))
    return {r[0]: tuple(r[1:]) for r in conn.execute(stmt, execution_options={"yield_per": 20_000})}


def _flags(conn: Connection) -> dict[int, frozenset[str]]:
    rows: dict[int, list[dict[str, Any]]] = {}
    stmt = sa.select(CASE_FLAG.c.CASE_ID, CASE_FLAG.c.FLAG_CD, CASE_FLAG.c.CLEARED_DT, CASE_FLAG.c.DELETED_FLG)
    for r in conn.execute(stmt).mappings():
        rows.setdefault(r["CASE_ID"], []).append(dict(r))
    return {k: active_flags(v) for k, v in rows.items()}


def _headers_with_main(conn: Connection) -> Iterator[dict[str, Any]]:
    main = (sa.select(CASE_PERSON.c.CASE_ID, sa.func.min(CASE_PERSON.c.PERSON_ID).label("PERSON_ID"))
            .where(CASE_PERSON.c.ROLE_CD == "MAIN", sa.func.coalesce(CASE_PERSON.c.DELETED_FLG, "N") != "Y")
            .group_by(CASE_PERSON.c.CASE_ID).subquery())
    stmt = (sa.select(CASE_HDR, PERSON.c.NATIONALITY, PERSON.c.GENDER)
            .select_from(CASE_HDR.outerjoin(main, main.c.CASE_ID == CASE_HDR.c.CASE_ID)
                         .outerjoin(PERSON, PERSON.c.PERSON_ID == main.c.PERSON_ID))
            .order_by(CASE_HDR.c.CASE_ID))
    for r in conn.execute(stmt, execution_options={"yield_per": 5000}).mappings():
        yield dict(r)


def build_plan(conn: Connection, as_of: dt.date, *, appeal_window_days: int = 14,
               older_months: int = 36) -> Plan:
    """Classify every CID case as of a date and give each in-flight case its wave (first match)."""
    reference = read_reference(conn)
    decisions = _latest_decisions(conn)
    flags = _flags(conn)
    nationality = NationalityMapper(reference.nationalities)
    plan = Plan(as_of=as_of)
    for header in _headers_with_main(conn):
        case_id = header["CASE_ID"]
        latest = decisions.get(case_id)
        decision = dict(zip(DECISION_FIELDS, latest, strict=True)) if latest else None
        in_flight, reason = is_in_flight(header, decision, reference, as_of, appeal_window_days)
        if not in_flight:
            plan.excluded.append(ExcludedCase(case_id, header["CASE_REF"], reason or DEFAULT_EXCLUSION_REASON))
            continue
        iso3, _ = nationality.map(header.get("NATIONALITY"))
        facts = case_facts(header, flags.get(case_id, frozenset()), iso3, header.get("GENDER"), as_of, older_months)
        rule = first_match(WAVES, facts)
        plan.cases.append(PlannedCase(case_id, header["CASE_REF"], rule.outcome, rule.name))
    return plan
