"""Python's cyclic garbage collector, told once at a process's entry point what it need not scan."""

from __future__ import annotations

import gc


def freeze_imports() -> None:
    """Move every object alive now (imported modules, built schemas) out of the collector's sight
    for good: a process that has finished starting need not re-examine them at each collection."""
    gc.collect()
    gc.freeze()
