"""Defects are data: every repair, quarantine, drop and merge is a row of a findings table."""

from __future__ import annotations

from dataclasses import astuple, dataclass

import petl as etl

from migration.rules import Rules, current_rules

FINDING_FIELDS = ("legacy_case_id", "legacy_ref", "rule", "entity", "field", "legacy_key", "defect", "action")


@dataclass(frozen=True)
class Finding:
    """One thing the migration did about one value or row, with the rule and the defect it answers."""

    legacy_case_id: int
    legacy_ref: str | None
    rule: str
    entity: str
    field: str | None
    legacy_key: int | None
    defect: str | None
    action: str


class Findings:
    """Collects findings for a batch; the action and defect come from the policy table."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or current_rules()
        self.rows: list[Finding] = []
        self.quarantined: set[int] = set()

    def add(self, case_id: int, ref: str | None, rule: str, entity: str, field: str | None = None,
            key: int | None = None) -> str:
        """Record a finding under its rule's policy; return the action taken."""
        p = self.rules.policy(rule)
        self.rows.append(Finding(case_id, ref, rule, entity, field, key, p.defect, p.action))
        if p.action == "quarantine":
            self.quarantined.add(case_id)
        return p.action

    def table(self) -> etl.Table:
        """The findings as a petl table (header: FINDING_FIELDS)."""
        return etl.wrap([list(FINDING_FIELDS)] + [list(astuple(f)) for f in self.rows])
