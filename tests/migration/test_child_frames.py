"""The columnar child mappers give the rows and findings the row-wise mappers give (kept in
tests/migration/reference_child_rows.py), on the golden cases and on generated CID batches."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import legacy_metadata
from migration.extract.batch import legacy_frame, legacy_schema
from migration.parsers import flag
from migration.rules import Rules, current_rules
from migration.target_schema import NOTE_TEXT_MAX
from migration.transform.child_rows import CHILD_TABLES, FINDING_SCHEMA, child_frames
from migration.transform.frames import CASE_COLUMN, dicts_of, frame_schema
from migration.transform.keys import key, person_key
from tests.conftest import AS_OF, Databases
from tests.helpers import generate
from tests.migration import reference_child_rows as reference

Row = dict[str, Any]
GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.json"))
TIMESTAMPS = {"LAST_UPD_TS", "APPT_TS", "CREATED_TS"}
MAPPERS = {legacy: mapper for legacy, _, mapper in reference.CHILD_MAPPERS}


def _golden_row(raw: Row) -> Row:
    row = {k: (dt.datetime.fromisoformat(v) if k in TIMESTAMPS and v else v) for k, v in raw.items()}
    text = row.get("NOTE_TEXT")
    if isinstance(text, str) and text.startswith("REPEAT:"):
        body = text.removeprefix("REPEAT:")
        row["NOTE_TEXT"] = body * (2 * NOTE_TEXT_MAX // len(body) - 5)
    return row


def _golden_tables(path: Path) -> dict[str, list[Row]]:
    """A golden file's legacy rows, by CID table, as the driver would read them."""
    spec = json.loads(path.read_text())
    cases = spec["legacy"] if isinstance(spec["legacy"], list) else [spec["legacy"]]
    tables: dict[str, list[Row]] = {"CASE_HDR": [], "PERSON": []}
    for case in cases:
        tables["CASE_HDR"].append(_golden_row(case["header"]))
        tables["PERSON"].extend(_golden_row(p) for p in case["persons"])
        for table, rows in case["children"].items():
            tables.setdefault(table, []).extend(_golden_row(r) for r in rows)
    return tables


def party_keys(tables: Mapping[str, list[Row]], rules: Rules) -> dict[int, dict[int, uuid.UUID]]:
    """CASE_ID -> the person keys of its kept parties (not deleted, person present, role known)."""
    persons = {p["PERSON_ID"]: p for p in tables["PERSON"]}
    keys: dict[int, dict[int, uuid.UUID]] = {h["CASE_ID"]: {} for h in tables["CASE_HDR"]}
    for party in tables.get("CASE_PERSON", []):
        person = persons.get(party["PERSON_ID"])
        if flag(party.get("DELETED_FLG")) or person is None or flag(person.get("DELETED_FLG")):
            continue
        if (party.get("ROLE_CD") or "").strip().upper() not in rules.party_roles or party["CASE_ID"] not in keys:
            continue
        keys[party["CASE_ID"]].setdefault(person["PERSON_ID"], person_key(person["PERSON_ID"], person.get("HO_REF")))
    return keys


def row_wise(tables: Mapping[str, list[Row]], people: Mapping[int, dict[int, uuid.UUID]],
             rules: Rules) -> tuple[dict[str, list[Row]], list[tuple[Any, ...]]]:
    """The row-wise mappers' rows (each with `_case`) and findings, case by case."""
    ctx = reference.BatchContext(rules)
    out: dict[str, list[Row]] = {target: [] for target in CHILD_TABLES.values()}
    children: dict[tuple[str, int], list[Row]] = {}
    for legacy_table in CHILD_TABLES:
        for r in tables.get(legacy_table, []):
            children.setdefault((legacy_table, r["CASE_ID"]), []).append(r)
    for case_id, person_keys in people.items():
        state = reference.case_state(case_id, key("case", case_id), person_keys)
        for legacy_table, target in CHILD_TABLES.items():
            own = children.get((legacy_table, case_id), [])
            out[target].extend({**row, CASE_COLUMN: case_id} for row in MAPPERS[legacy_table](ctx, state, own))
    return out, ctx.findings


def columnar(tables: Mapping[str, list[Row]], people: Mapping[int, dict[int, uuid.UUID]],
             rules: Rules) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """child_frames of the same rows, given as frames."""
    legacy = {table: legacy_frame(table, [tuple(r.get(c) for c in legacy_schema(table).names()) for r in rows])
              for table, rows in tables.items()}
    parties = [{"CASE_ID": cid, "case_id": str(key("case", cid)), "PERSON_ID": pid, "person_id": str(pkey)}
               for cid, keys in people.items() for pid, pkey in (keys.items() or [(None, None)])]
    frame = pl.DataFrame(parties, schema={"CASE_ID": pl.Int64, "case_id": pl.String, "PERSON_ID": pl.Int64,
                                          "person_id": pl.String}, orient="row")
    return child_frames(legacy, frame, AS_OF, rules)


def _comparable(rows: Iterable[Row]) -> Counter[tuple[tuple[str, Any], ...]]:
    def plain(value: Any) -> Any:
        return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value
    return Counter(tuple((k, plain(v)) for k, v in row.items()) for row in rows)


def assert_same(tables: Mapping[str, list[Row]]) -> set[str]:
    """Both forms of the mappers agree on these legacy rows; return the rules of their findings."""
    rules = current_rules()
    people = party_keys(tables, rules)
    want_rows, want_findings = row_wise(tables, people, rules)
    got_rows, got_findings = columnar(tables, people, rules)
    assert set(got_rows) == set(want_rows)
    for table, frame in got_rows.items():
        assert frame.schema == frame_schema(table), table
        assert _comparable(dicts_of(table, frame)) == _comparable(want_rows[table]), table
    assert got_findings.schema == FINDING_SCHEMA
    assert Counter(got_findings.iter_rows()) == Counter(want_findings)
    return {rule for _, rule, *_ in want_findings}


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_children_map_as_the_row_wise_mappers_map_them(path: Path) -> None:
    assert_same(_golden_tables(path))


def test_a_batch_of_every_golden_case_maps_as_the_row_wise_mappers_map_it() -> None:
    tables: dict[str, list[Row]] = {}
    for path in GOLDEN:
        for table, rows in _golden_tables(path).items():
            tables.setdefault(table, []).extend(rows)
    rules = assert_same(tables)
    assert {"appointment.dst_gap", "appointment.rebooking_loop", "note.split_long", "text.mojibake"} <= rules


def read_batch(url: str, batch: Sequence[int]) -> dict[str, list[Row]]:
    """The rows a batch of cases' children are mapped from, as the driver reads them."""
    engine = create_engine(url)
    tables: dict[str, list[Row]] = {}
    with engine.connect() as conn:
        for name in ("CASE_HDR", "CASE_PERSON", *CHILD_TABLES):
            table = legacy_metadata.tables[name]
            query = sa.select(table).where(table.c.CASE_ID.in_(batch)).order_by(*table.primary_key.columns)
            tables[name] = [dict(r) for r in conn.execute(query).mappings()]
        ids = {p["PERSON_ID"] for p in tables["CASE_PERSON"]}
        person = legacy_metadata.tables["PERSON"]
        tables["PERSON"] = [dict(r) for r in conn.execute(sa.select(person).where(person.c.PERSON_ID.in_(ids)))
                            .mappings()]
    engine.dispose()
    return tables


def test_generated_batches_map_as_the_row_wise_mappers_map_them(databases: Databases) -> None:
    url = databases.new("legacy")
    generate(url, 400, seed=26, scale=4.0)
    engine = create_engine(url)
    with engine.connect() as conn:
        case_ids = conn.execute(sa.text('SELECT "CASE_ID" FROM "CASE_HDR" ORDER BY "CASE_ID"')).scalars().all()
    engine.dispose()
    seen: set[str] = set()
    for start in range(0, len(case_ids), 150):
        seen |= assert_same(read_batch(url, case_ids[start:start + 150]))
    assert {"row.soft_deleted", "appointment.dst_gap", "appointment.dst_fold", "appointment.rebooking_loop",
            "appointment.rebooking_dangling", "text.mojibake", "text.control_chars", "note.split_long"} <= seen, seen


def test_a_batch_without_child_rows_gives_empty_frames_of_the_contract() -> None:
    parties = pl.DataFrame({"CASE_ID": [7], "case_id": [str(key("case", 7))], "PERSON_ID": [None],
                            "person_id": [None]},
                           schema={"CASE_ID": pl.Int64, "case_id": pl.String, "PERSON_ID": pl.Int64,
                                   "person_id": pl.String})
    frames, findings = child_frames({}, parties, AS_OF, current_rules())
    assert set(frames) == set(CHILD_TABLES.values())
    assert all(f.is_empty() and f.schema == frame_schema(t) for t, f in frames.items())
    assert findings.is_empty() and findings.schema == FINDING_SCHEMA


def test_rows_of_cases_outside_the_batch_are_not_mapped() -> None:
    tables = _golden_tables(GOLDEN[0])
    people = party_keys(tables, current_rules())
    outsider = {"APPT_ID": 999_999, "CASE_ID": -5, "APPT_TYPE": "SCREEN", "APPT_TS": dt.datetime(2024, 1, 1, 9)}
    frames, _ = columnar({**tables, "APPOINTMENT": [*tables.get("APPOINTMENT", []), outsider]}, people,
                         current_rules())
    assert -5 not in frames["appointment"][CASE_COLUMN].to_list()
    assert frames["appointment"].height == len(tables.get("APPOINTMENT", []))
