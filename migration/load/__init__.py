"""Load: staged batches, each in one transaction, idempotent by UUIDv5 keys."""

from migration.load.batch import load_batch
from migration.load.schema import current_revision, head_revision, upgrade_target
from migration.load.writes import delete_cases, ensure_units, upsert


class Load:
    """The load stage: `Load.batch(conn, result, ...)` inside the batch's transaction."""

    batch = staticmethod(load_batch)
    init_target = staticmethod(upgrade_target)


__all__ = ["Load", "current_revision", "delete_cases", "ensure_units", "head_revision", "load_batch",
           "upgrade_target", "upsert"]
