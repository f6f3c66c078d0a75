"""Load: staged batches, each in one transaction, idempotent by keys derived from legacy keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migration.load.schema import current_revision, head_revision, upgrade_target
from migration.load.writes import delete_cases, ensure_units, upsert

if TYPE_CHECKING:
    from migration.load.batch import Load


def __getattr__(name: str) -> Any:
    # The batch path (transform, rules, validation) is imported on first use, so the commands that
    # only read the target (reconcile, status, explain) start without it.
    if name == "Load":
        from migration.load.batch import Load

        return Load
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Load", "current_revision", "delete_cases", "ensure_units", "head_revision", "upgrade_target", "upsert"]
