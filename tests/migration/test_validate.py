"""Validation of target rows: each failing value names its case and column; the quick pass and
pandera agree on whether a frame passes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaErrors

from migration.transform import transform_batch
from migration.transform.frames import CASE_COLUMN, frame_of
from migration.transform.validate import all_pass, schema_failures, schema_for
from tests.migration.test_golden import AS_OF, REFERENCE, legacy_cases, load_batch


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


GOLDEN = Path(__file__).parent / "golden"


# The quick pass (all_pass) decides alone whenever a frame passes: it must say "passes" exactly
# where pandera finds nothing, for any value put anywhere in real transformed rows.
def _transformed_rows() -> dict[str, pl.DataFrame]:
    batch = load_batch([c for path in sorted(GOLDEN.glob("*.json"))
                        for c in legacy_cases(json.loads(path.read_text()))])
    rows = transform_batch(batch, REFERENCE, AS_OF).rows
    return {table: frame for table, frame in rows.items() if frame.height >= 2}


ROWS = _transformed_rows()
TEXTS = st.one_of(st.none(), st.text(max_size=5), st.text(min_size=90, max_size=300), st.sampled_from(
    ["CID/2019/0000001", "CID/19/1", "GBR", "XXX", "ZZZ", "review_case", "standard", "day", "male", "unknown"]))
NUMBERS = st.one_of(st.none(), st.integers(min_value=-3, max_value=3), st.integers(min_value=-2**40, max_value=2**40))


def _pandera_finds_nothing(table: str, frame: pl.DataFrame) -> bool:
    try:
        schema_for(table).validate(frame, lazy=True)
    except SchemaErrors:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(ROWS)), st.data())
def test_the_quick_pass_agrees_with_pandera_whatever_value_a_column_holds(table: str, data: st.DataObject) -> None:
    frame = ROWS[table]
    for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
        column = data.draw(st.sampled_from([c for c in frame.columns if c != CASE_COLUMN]))
        dtype = frame.schema[column]
        place = data.draw(st.integers(min_value=0, max_value=frame.height - 1))
        if dtype == pl.String:
            value = data.draw(st.one_of(TEXTS, st.sampled_from(frame[column].to_list())))
        elif dtype == pl.Int64:
            value = data.draw(st.one_of(NUMBERS, st.sampled_from(frame[column].to_list())))
        else:
            value = data.draw(st.one_of(st.none(), st.sampled_from(frame[column].to_list())))
        values = frame[column].to_list()
        values[place] = value
        frame = frame.with_columns(pl.Series(column, values, dtype=dtype))
    assert all_pass(table, frame) == _pandera_finds_nothing(table, frame)


def test_a_frame_of_another_shape_is_left_to_pandera() -> None:
    frame = ROWS["case"]
    assert all_pass("case", frame)
    assert not all_pass("case", frame.drop("case_ref"))
    assert not all_pass("case", frame.with_columns(pl.lit(1).alias("extra")))
    assert not all_pass("case", frame.with_columns(pl.col(CASE_COLUMN).cast(pl.Int32)))
