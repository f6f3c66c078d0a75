"""The load stage's entry point, exported by `migration.load`."""

from migration.load.batch import load_batch
from migration.load.schema import upgrade_target


class Load:
    """The load stage: `Load.batch(conn, result, ...)` inside the batch's transaction."""

    batch = staticmethod(load_batch)
    init_target = staticmethod(upgrade_target)
