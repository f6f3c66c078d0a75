"""A batch that fails for another reason than an outage says what failed, never the driver's text."""

from __future__ import annotations

import datetime as dt
import traceback
import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from migration import run
from migration.retry import BatchFailed, OutageError, scrubbed


class _DriverError(Exception):
    sqlstate = "23514"


def _failing(exc: Exception):  # type: ignore[no-untyped-def]
    def attempt(cfg: run.RunConfig, batch: object) -> dict[str, int]:
        raise exc
    return attempt


def test_a_failed_batch_names_the_fault_and_never_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    refusal = IntegrityError("INSERT ...", {"surname": "Haile"}, _DriverError('value "Haile Tesfay" violates'))
    monkeypatch.setattr(run, "_migrate_once", _failing(refusal))
    cfg = run.RunConfig("sqlite://", "sqlite://", dt.date(2026, 11, 1), retry_attempts=1)
    with pytest.raises(BatchFailed) as raised:
        run.migrate_batch(cfg, None, "rest", uuid.uuid4(), 3, [1, 2])  # type: ignore[arg-type]
    shown = "".join(traceback.format_exception(raised.value))
    assert str(raised.value).startswith("batch 3 of wave rest failed: _DriverError 23514 at ")
    assert "Haile" not in shown and "violates" not in shown  # nor in the chained exception


def test_an_outage_and_the_tools_own_errors_pass_as_they_are() -> None:
    outage = OutageError("database unavailable; run the same command again")
    assert scrubbed(outage, "batch 1") is outage
    try:
        raise ValueError("Tesfay")
    except ValueError as exc:
        told = str(scrubbed(exc, "batch 1"))
    assert told.startswith("batch 1 failed: ValueError at test_scrubbed.py:") and "Tesfay" not in told
