"""An iterator's next item produced in a thread while the caller works on the current one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of `items`, in order, each next one produced by one thread of its own while the
    caller works on the one before (reads waiting on a database overlap the work on what they
    read: the driver and Polars let go of the GIL). The thread alone advances `items`, one step
    at a time, so what `items` uses (a connection) is never used by two threads at once; an error
    raised while producing an item is raised here, where that item would have come."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(_next, items)
        while (step := pending.result()) is not None:
            pending = pool.submit(_next, items)
            yield step[0]


def _next(items: Iterator[T]) -> tuple[T] | None:
    """The next item, boxed (an item may itself be None), or None at the end."""
    for item in items:
        return (item,)
    return None
