"""Plan: which cases are in flight as of a date, and which wave each moves in."""

from migration.plan.build import ExcludedCase, Plan, PlannedCase, build_plan, classified, classify_cases, is_in_flight
from migration.plan.record import planned_case_ids, record_plan, split_batches

__all__ = [
    "ExcludedCase", "Plan", "PlannedCase", "build_plan", "classified", "classify_cases", "is_in_flight",
    "planned_case_ids", "record_plan", "split_batches",
]
