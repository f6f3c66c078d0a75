"""The frame contract: every business table's frame shape, and rows to frames and back."""

from __future__ import annotations

import datetime as dt
import uuid

import polars as pl

from migration.target_schema import BUSINESS_TABLES
from migration.transform.frames import CASE_COLUMN, TABLE_NAMES, dicts_of, empty_frame, frame_of, frame_schema


def test_every_business_table_has_a_frame_of_its_columns_then_the_case() -> None:
    assert set(TABLE_NAMES) == {t.name for t in BUSINESS_TABLES}
    for table in BUSINESS_TABLES:
        names = frame_schema(table.name).names()
        assert names == [c.name for c in table.columns] + [CASE_COLUMN]
        assert empty_frame(table.name).height == 0


def test_rows_survive_a_frame_and_back() -> None:
    row = {"appointment_id": uuid.uuid5(uuid.NAMESPACE_OID, "a"), "case_id": uuid.uuid5(uuid.NAMESPACE_OID, "c"),
           "person_id": None, "kind": "screening", "venue": "", "outcome": None, "rebooked_from_id": None,
           "starts_at": dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC), "interpreter_language": "Dari",
           "remote": False, "legacy_appt_id": 3951, CASE_COLUMN: 395}
    frame = frame_of("appointment", [row])
    assert frame.schema["appointment_id"] == pl.String()
    assert frame["appointment_id"][0] == str(row["appointment_id"])
    back = dicts_of("appointment", frame)
    assert back == [row]
    assert dicts_of("appointment", frame, uuids=False)[0]["case_id"] == str(row["case_id"])
