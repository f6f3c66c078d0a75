"""Retry a whole transaction on transient database faults (tenacity), logged without the
database's message, which can echo row values; when the retries run out, one OutageError."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from core.errors import CutoverError
from core.log import get_logger

T = TypeVar("T")
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"})
# Words of a driver's own message that mark a lost connection or a busy database. Matched only
# in messages that quote no value (SQLite's decoding errors quote the text they could not read).
_TRANSIENT_WORDS = ("locked", "connection", "server closed")
_VALUE_QUOTING = ("could not decode",)
log = get_logger("retry")


class OutageError(CutoverError):
    """The database stayed unreachable through every retry; the same command, run again, resumes."""


class BatchFailed(CutoverError):
    """A batch failed for a reason other than an outage, told by the fault's class and SQLSTATE only:
    its own message, which can quote values, stays out of logs and of Prefect's store."""


def scrubbed(exc: Exception, what: str) -> CutoverError:
    """The error to raise in place of `exc`: an outage as it is, anything else as BatchFailed naming
    the fault and where it was raised, never its message."""
    if isinstance(exc, CutoverError):
        return exc
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f" at {frame.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno}" if frame else ""
    return BatchFailed(f"{what} failed: {fault_name(exc)}{where}")


def fault_name(exc: BaseException) -> str:
    """The driver's error class and SQLSTATE: what may be said about a database error (its message
    can quote values)."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return f"{type(orig).__name__} {code}" if code else type(orig).__name__


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
            if any(word in text for word in _VALUE_QUOTING):
                return False
            return any(word in text for word in _TRANSIENT_WORDS)
    return False


def _log_retry(state) -> None:  # type: ignore[no-untyped-def]
    exc = state.outcome.exception() if state.outcome else None
    log.warning("transient database fault (%s), attempt %d, retrying", fault_name(exc) if exc else "?",
                state.attempt_number)


def with_retries(work: Callable[[], T], attempts: int = 5, max_wait: float = 30.0, what: str = "the batch") -> T:
    """Run `work` (one whole transaction), retrying transient faults with bounded backoff; raise
    OutageError (one line, no database message) when they persist."""
    try:
        for attempt in Retrying(retry=retry_if_exception(is_transient), wait=wait_random_exponential(max=max_wait),
                                stop=stop_after_attempt(attempts), reraise=True, before_sleep=_log_retry):
            with attempt:
                return work()
    except Exception as exc:
        if is_transient(exc):
            raise OutageError(f"database unavailable during {what} ({fault_name(exc)}) after {attempts} attempts; "
                              "run the same command again to resume") from None
        raise
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["OutageError", "fault_name", "is_transient", "with_retries"]
