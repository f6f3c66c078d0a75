"""pandera validation of target rows: each failing value names its case and column."""

from __future__ import annotations

import uuid

from migration.transform.frames import frame_of
from migration.transform.validate import schema_failures


def _task(n: int, case: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {"task_id": uuid.UUID(int=n), "case_id": uuid.UUID(int=1000 + n),
                              "unit_code": "ASY-NW", "kind": "review_case", "priority_band": "standard",
                              "priority_rank": 3, "_case": case}
    return row | changes


def test_clean_rows_pass() -> None:
    assert schema_failures("task", frame_of("task", [_task(1, 10), _task(2, 20)])) == []


def test_a_repeated_key_fails_both_cases_holding_it() -> None:
    rows = [_task(1, 10), _task(2, 20), _task(3, 30, task_id=uuid.UUID(int=1))]
    assert sorted(schema_failures("task", frame_of("task", rows))) == [(10, "task_id"), (30, "task_id")]


def test_a_missing_key_an_unknown_value_and_an_overlong_text_fail_their_case() -> None:
    rows = [_task(1, 10, case_id=None), _task(2, 20, kind="dance"), _task(3, 30, unit_code="U" * 200)]
    assert sorted(schema_failures("task", frame_of("task", rows))) == [(10, "case_id"), (20, "kind"), (30, "unit_code")]
