"""The transform stage: a batch's cases to target rows, outcomes and findings."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from core.log import get_logger
from migration.batch import Batch
from migration.rules.policies import policy
from migration.transform.batch import CaseOutcome, TransformResult, transform_batch
from migration.transform.findings import Finding

if TYPE_CHECKING:
    from migration.extract.unreadable import Unreadable

log = get_logger("transform")


def Transform(batch: Batch) -> Batch:
    """Transform and validate the batch's cases; those holding an unreadable value are quarantined."""
    result = transform_batch(batch.legacy, batch.reference, batch.job.as_of)
    quarantine_unreadable(result, batch.unreadable)
    return replace(batch, result=result)


def quarantine_unreadable(result: TransformResult, unreadable: list[Unreadable]) -> None:
    """Quarantine the cases holding a value the driver refuses, each with a finding naming the
    table, column and row key (rule `read.unreadable_value`)."""
    rule = policy("read.unreadable_value")
    for u in unreadable:
        result.outcomes.append(CaseOutcome(u.case_id, u.legacy_ref, "quarantined", "", None))
        result.findings.append(Finding(u.case_id, u.legacy_ref, "read.unreadable_value", u.table, u.column,
                                       u.legacy_key, rule.defect, rule.action))
        log.warning("case %s: a value in %s.%s cannot be read (%s); quarantined", u.legacy_ref or u.case_id,
                    u.table, u.column, u.fault)
