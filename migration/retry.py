"""Retry the whole transaction of a batch on transient database faults (tenacity), logged
without the database's message, which can echo row values."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from cutover.log import get_logger

T = TypeVar("T")
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"})
log = get_logger("retry")


def is_transient(exc: BaseException) -> bool:
    """Connection lost, server restarting, serialization failure, deadlock, SQLite busy."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code in TRANSIENT_SQLSTATES:
            return True
        if isinstance(exc, OperationalError):
            text = str(exc.orig).lower()
            return "locked" in text or "connection" in text or "server closed" in text
    return False


def _log_retry(state) -> None:  # type: ignore[no-untyped-def]
    exc = state.outcome.exception() if state.outcome else None
    log.warning("transient database fault (%s), attempt %d, retrying", type(exc).__name__, state.attempt_number)


def with_retries(work: Callable[[], T], attempts: int = 5, max_wait: float = 30.0) -> T:
    """Run `work` (one whole transaction), retrying transient faults with bounded backoff."""
    for attempt in Retrying(retry=retry_if_exception(is_transient), wait=wait_random_exponential(max=max_wait),
                            stop=stop_after_attempt(attempts), reraise=True, before_sleep=_log_retry):
        with attempt:
            return work()
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["is_transient", "logging", "with_retries"]
