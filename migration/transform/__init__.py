"""Transform: legacy rows to target rows by the rule tables, validated, with a findings table."""

from migration.transform.batch import CaseOutcome, TransformResult, transform_batch
from migration.transform.findings import FINDING_FIELDS, Finding
from migration.transform.stage import Transform

__all__ = ["FINDING_FIELDS", "CaseOutcome", "Finding", "Transform", "TransformResult",
           "transform_batch"]
