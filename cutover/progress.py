"""Progress on long work: a rich bar on a terminal, plain lines otherwise, nothing when quiet."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    """Something that is told how many more units of work are done."""

    def __call__(self, done: int) -> None: ...


@contextmanager
def progress(label: str, total: int, *, quiet: bool = False) -> Iterator[Progress]:
    """Yield a callback advancing a progress display of `total` units."""
    if quiet or total <= 0:
        yield lambda done: None
        return
    if sys.stderr.isatty():
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        with RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(),
                          TimeRemainingColumn(), transient=False) as bar:
            task = bar.add_task(label, total=total)
            yield lambda done: bar.advance(task, done)
        return
    yield _PlainLines(label, total)


class _PlainLines:
    """Plain progress lines at most every two seconds, with counts and rate."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.start = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        self.done += done
        now = time.monotonic()
        if now - self.last >= 2 or self.done >= self.total:
            rate = self.done / max(now - self.start, 1e-9)
            print(f"{self.label}: {self.done}/{self.total} ({rate:,.0f}/s)", file=sys.stderr, flush=True)
            self.last = now
