"""The batch every stage takes and returns: the job, then what each stage adds to it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migration.extract.batch import LegacyBatch
    from migration.extract.reference import LegacyReference
    from migration.extract.unreadable import Unreadable
    from migration.transform.batch import TransformResult


def _no_cases() -> LegacyBatch:
    # Imported on use: the extract package imports this module.
    from migration.extract.batch import LegacyBatch

    return LegacyBatch()


# CASE_ID -> (CASE_REF, reason) of a planned case no longer in flight.
Left = dict[int, tuple[str | None, str]]


@dataclass(frozen=True)
class BatchJob:
    """One batch of a wave's run: which cases, at what as-of date, and where its record goes."""

    wave: str
    run_id: uuid.UUID
    batch_no: int
    case_ids: list[int]
    as_of: dt.date
    appeal_window_days: int | None = None  # None: the rules' appeal window


@dataclass(frozen=True)
class Batch:
    """A batch on its way through the stages; each stage returns a copy with its part filled in."""

    job: BatchJob
    reference: LegacyReference
    legacy: LegacyBatch = field(default_factory=_no_cases)  # read from CID and still in flight
    left: Left = field(default_factory=dict)  # no longer in flight: they leave the target
    unreadable: list[Unreadable] = field(default_factory=list)  # hold a value the driver refuses
    unchanged: int = 0  # cases whose CID rows are those already migrated
    result: TransformResult | None = None

    @property
    def transformed(self) -> TransformResult:
        """The transform's result (the load and the bookkeeping come after the transform)."""
        if self.result is None:
            raise RuntimeError(f"batch {self.job.batch_no} of wave {self.job.wave} is not transformed")
        return self.result

    def counts(self) -> dict[str, int]:
        """What the batch did, case by case: the figures of its record and its ledger entry."""
        result = self.transformed
        return {"cases": len(self.job.case_ids), "migrated": result.migrated, "quarantined": result.quarantined,
                "unchanged": self.unchanged, "excluded": len(self.left)}
