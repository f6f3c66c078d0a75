"""Defects are data: every repair, quarantine, drop and merge is a row of a findings table.

The transform gathers them as frames of FINDINGS_SCHEMA and turns them into Finding records, with
each rule's action and defect from the policy table, at the end of the batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from migration.rules import Rules

FINDING_FIELDS = ("legacy_case_id", "legacy_ref", "rule", "entity", "field", "legacy_key", "defect", "action")
FINDINGS_SCHEMA = pl.Schema({"legacy_case_id": pl.Int64(), "rule": pl.String(), "entity": pl.String(),
                             "field": pl.String(), "legacy_key": pl.Int64()})


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


def found(frame: pl.DataFrame, when: pl.Expr, rule: str | pl.Expr, entity: str, field: str | None,
          legacy_key: str, case: str = "CASE_ID") -> pl.DataFrame:
    """A findings frame: one finding of `rule` for each row of the frame where `when` holds."""
    return frame.filter(when).select(
        pl.col(case).cast(pl.Int64).alias("legacy_case_id"),
        (pl.lit(rule) if isinstance(rule, str) else rule).cast(pl.String).alias("rule"),
        pl.lit(entity, dtype=pl.String).alias("entity"), pl.lit(field, dtype=pl.String).alias("field"),
        pl.col(legacy_key).cast(pl.Int64).alias("legacy_key"))


def all_found(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Findings frames as one."""
    return pl.concat([pl.DataFrame(schema=FINDINGS_SCHEMA), *frames], how="vertical_relaxed")


def quarantined_by(findings: pl.DataFrame, rules: Rules) -> set[int]:
    """The cases a finding under a quarantine policy holds back."""
    holding = pl.Series([rule for rule, p in rules.policies.items() if p.action == "quarantine"], dtype=pl.String)
    return set(findings.filter(pl.col("rule").is_in(holding.implode()))["legacy_case_id"].to_list())


def finding_records(findings: pl.DataFrame, refs: Mapping[int, str | None], rules: Rules) -> list[Finding]:
    """The findings as records, with each case's legacy reference and each rule's policy."""
    records = []
    for case_id, rule, entity, field, legacy_key in findings.iter_rows():
        p = rules.policy(rule)
        records.append(Finding(case_id, refs.get(case_id), rule, entity, field, legacy_key, p.defect, p.action))
    return records
