"""Python's cyclic garbage collector, paused around bulk work.

A batch builds tens of thousands of row dicts that live until it ends; each collection of the
oldest generation walks every one of them (and every object of the imported libraries), so the
collector took about a quarter of a batch's transform. Reference counting still frees what the
work drops; the few cycles it makes wait for the collector's next run after the work."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_paused = 0  # how many threads of this process are inside `collector_paused`
_resume = False  # whether the collector was on when the first of them entered


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (in any thread: the switch is per process);
    the collector comes back as it was when the last thread inside leaves, and a thread that
    leaves while others are inside collects once itself."""
    global _paused, _resume
    with _lock:
        if _paused == 0:
            _resume = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            last, resume = _paused == 0, _resume
            if last and resume:
                gc.enable()
        if resume and not last:
            # Other threads keep it off (batches in threads can overlap for a whole run, and a
            # failed validation leaves a traceback cycle holding a batch's frame): collect now.
            gc.collect()


def freeze_imports() -> None:
    """Move every object alive now (imported modules, built schemas) out of the collector's sight
    for good: a process that has finished starting need not re-examine them at each collection."""
    gc.collect()
    gc.freeze()
