"""Which CID cases are in flight as of a date, and the wave each belongs to."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl
from sqlalchemy.engine import Connection

from migration.extract.reference import LegacyReference, read_reference
from migration.parsers import flag, parse_cid_date
from migration.plan.classify import RECEIVED_AFTER_AS_OF, classified_frames
from migration.rules import Rules, current_rules


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

    def counting_frames(self, frames: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        """Pass classified frames (classify.CLASSIFIED_SCHEMA) through, counting their cases."""
        for frame in frames:
            waves = frame["wave"]
            self.waves.update(dict(waves.drop_nulls().value_counts().iter_rows()))
            self.reasons.update(dict(frame.filter(waves.is_null())["reason"].value_counts().iter_rows()))
            yield frame

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


def classify_cases(conn: Connection, as_of: dt.date, *, appeal_window_days: int | None = None,
                   older_months: int | None = None, reference: LegacyReference | None = None,
                   rules: Rules | None = None) -> Iterator[Classified]:
    """Every CID case in key order, in flight with its wave (first match) or excluded with the
    reason (`reference`: CID's code tables, when already read). The rules in force decide unless
    `rules` is given; the two periods override theirs when given."""
    for frame in classified(conn, as_of, appeal_window_days=appeal_window_days, older_months=older_months,
                            reference=reference, rules=rules):
        for case_id, ref, wave, rule, reason in frame.iter_rows():
            yield PlannedCase(case_id, ref, wave, rule) if wave is not None else ExcludedCase(case_id, ref, reason)


def classified(conn: Connection, as_of: dt.date, *, appeal_window_days: int | None = None,
               older_months: int | None = None, reference: LegacyReference | None = None,
               rules: Rules | None = None) -> Iterator[pl.DataFrame]:
    """classify_cases' verdicts as frames of classify.CLASSIFIED_SCHEMA, a key range of cases each."""
    rules = rules or current_rules()
    if older_months is not None and older_months != rules.older_case_months:
        rules = replace(rules, older_case_months=older_months)
    if reference is None:
        reference = read_reference(conn, cross_case=False)
    return classified_frames(conn, as_of, reference, rules, appeal_window_days)


def build_plan(conn: Connection, as_of: dt.date, *, appeal_window_days: int | None = None,
               older_months: int | None = None) -> Plan:
    """The counts of the plan as of a date (nothing written)."""
    plan = Plan(as_of=as_of)
    for _ in plan.counting_frames(classified(conn, as_of, appeal_window_days=appeal_window_days,
                                             older_months=older_months)):
        pass
    return plan
