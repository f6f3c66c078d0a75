"""Transform: legacy rows to target rows by the rule tables, validated, with a findings table."""

from migration.transform.batch import CaseOutcome, TransformResult, transform_batch
from migration.transform.findings import FINDING_FIELDS, Finding, Findings


class Transform:
    """The transform stage: `Transform.batch(cases, reference, as_of)`."""

    batch = staticmethod(transform_batch)


__all__ = ["FINDING_FIELDS", "CaseOutcome", "Finding", "Findings", "Transform", "TransformResult",
           "transform_batch"]
