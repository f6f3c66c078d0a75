"""Golden cases: legacy cases in (small JSON files in golden/), the target rows and findings out.

A file holds `legacy` (one case, or a list of cases transformed as one batch), optionally
`reference` (the cross-case sets a batch cannot see: `duplicate_ho_refs`, `colliding_refs`), and
`expected`: the state of each case, the listed columns of every row of the listed tables, and the
findings as [rule, action, defect]. A file with `edit` instead is a fingerprint case: the legacy
rows go into a CID database, the edit changes a row without moving LAST_UPD_TS, and the case's
fingerprint must change."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.defects import INJECTORS
from legacy.refdata import REF_NATIONALITY_ROWS, REF_STATUS_ROWS, REF_UNIT_ROWS
from legacy.schema import legacy_metadata
from migration.extract import LegacyBatch, LegacyReference, extract_batch
from migration.extract.batch import legacy_frame, legacy_schema
from migration.target_schema import NOTE_TEXT_MAX
from migration.transform import transform_batch
from migration.transform.frames import CASE_COLUMN, dicts_of
from tests.conftest import Databases

GOLDEN_FILES = sorted((Path(__file__).parent / "golden").glob("*.json"))
SPECS = {p.stem: json.loads(p.read_text()) for p in GOLDEN_FILES}
GOLDEN = [p for p in GOLDEN_FILES if "edit" not in SPECS[p.stem]]
AS_OF = dt.date(2026, 11, 1)
REFERENCE = LegacyReference(
    statuses={code: (terminal == "Y", bool(retired)) for code, _, _, _, terminal, retired in REF_STATUS_ROWS},
    nationalities={code: iso3 for code, _, iso3 in REF_NATIONALITY_ROWS},
    unit_regions={code: region for code, _, region, _ in REF_UNIT_ROWS},
    duplicate_ho_refs=frozenset(), colliding_refs=frozenset(),
)
TIMESTAMPS = {"LAST_UPD_TS", "APPT_TS", "CREATED_TS"}


def _row(raw: dict[str, Any]) -> dict[str, Any]:
    row = {k: (dt.datetime.fromisoformat(v) if k in TIMESTAMPS and v else v) for k, v in raw.items()}
    if isinstance(row.get("NOTE_TEXT"), str) and row["NOTE_TEXT"].startswith("REPEAT:"):
        body = row["NOTE_TEXT"].removeprefix("REPEAT:")
        row["NOTE_TEXT"] = body * (2 * NOTE_TEXT_MAX // len(body) - 5)
    return row


def _frame(table: str, rows: list[dict[str, Any]]) -> Any:
    return legacy_frame(table, [tuple(_row(r).get(c) for c in legacy_schema(table).names()) for r in rows])


def load_case(spec: dict[str, Any]) -> LegacyBatch:
    """One case of a golden file's `legacy` part as CID's frames."""
    tables = {"CASE_HDR": _frame("CASE_HDR", [spec["header"]]), "PERSON": _frame("PERSON", spec["persons"]),
              "ADDRESS": _frame("ADDRESS", [a for rows in spec["addresses"].values() for a in rows])}
    tables |= {table: _frame(table, rows) for table, rows in spec["children"].items()}
    return LegacyBatch(tables)


def load_batch(cases: list[dict[str, Any]]) -> LegacyBatch:
    """The cases of a golden file's `legacy` part as one batch of CID's frames."""
    return LegacyBatch.joined([load_case(c) for c in cases])


def legacy_cases(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The `legacy` part of a golden file as a list of cases."""
    legacy = spec["legacy"]
    return legacy if isinstance(legacy, list) else [legacy]


def reference_for(spec: dict[str, Any]) -> LegacyReference:
    """The code tables, with the cross-case sets the file names."""
    sets = spec.get("reference", {})
    return dataclasses.replace(REFERENCE, duplicate_ho_refs=frozenset(sets.get("duplicate_ho_refs", ())),
                               colliding_refs=frozenset(sets.get("colliding_refs", ())))


def row_order(row: dict[str, Any]) -> tuple[int, ...]:
    """Rows compared in case, then legacy key, then part order."""
    return tuple(row.get(k) or 0 for k in (CASE_COLUMN, "legacy_appt_id", "legacy_note_id", "legacy_address_id",
                                           "part"))


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_case(path: Path) -> None:
    spec = SPECS[path.stem]
    result = transform_batch(load_batch(legacy_cases(spec)), reference_for(spec), AS_OF)
    expected = spec["expected"]
    states = expected["states"] if "states" in expected else [expected["state"]]
    assert [o.state for o in result.outcomes] == states
    for table, rows in expected["rows"].items():
        actual = sorted(dicts_of(table, result.rows[table], uuids=False), key=row_order)
        assert len(actual) == len(rows), table
        for got, want in zip(actual, rows, strict=True):
            assert {k: _plain(got[k]) for k in want} == want, table
    findings = [[f.rule, f.action, f.defect] for f in result.findings]
    for finding in expected["findings"]:
        assert finding in findings
    assert len(findings) == len(expected["findings"]), findings


FINGERPRINT_CASES = [p for p in GOLDEN_FILES if "edit" in SPECS[p.stem]]


def _insert_case(conn: sa.Connection, spec: dict[str, Any]) -> None:
    tables = legacy_metadata.tables
    conn.execute(tables["CASE_HDR"].insert(), [_row(spec["header"])])
    conn.execute(tables["PERSON"].insert(), [_row(p) for p in spec["persons"]])
    for table, rows in spec["children"].items():
        conn.execute(tables[table].insert(), [_row(r) for r in rows])
    addresses = [_row(a) for rows in spec["addresses"].values() for a in rows]
    if addresses:
        conn.execute(tables["ADDRESS"].insert(), addresses)


@pytest.mark.parametrize("path", FINGERPRINT_CASES, ids=[p.stem for p in FINGERPRINT_CASES])
def test_golden_fingerprint_case(path: Path, databases: Databases) -> None:
    """Each edit changes a row without moving its LAST_UPD_TS, and the case's fingerprint changes."""
    spec = SPECS[path.stem]
    (case,) = legacy_cases(spec)
    engine = create_engine(databases.new("legacy"))
    legacy_metadata.create_all(engine)
    with engine.begin() as conn:
        _insert_case(conn, case)

    def fingerprint() -> str:
        with engine.connect() as conn:
            extracted = extract_batch(conn, [case["header"]["CASE_ID"]])
        return extracted.fingerprints[case["header"]["CASE_ID"]]

    seen = [fingerprint()]
    assert fingerprint() == seen[0]  # unchanged rows, unchanged fingerprint
    for edit in spec["edit"]:
        table = legacy_metadata.tables[edit["table"]]
        where = sa.and_(*(table.c[k] == v for k, v in edit["key"].items()))
        with engine.begin() as conn:
            stamp = conn.execute(sa.select(table.c.LAST_UPD_TS).where(where)).scalar_one()
            conn.execute(sa.update(table).where(where).values(edit["set"]))
            assert conn.execute(sa.select(table.c.LAST_UPD_TS).where(where)).scalar_one() == stamp
        seen.append(fingerprint())
        assert seen[-1] not in seen[:-1], edit
    engine.dispose()


def test_every_defect_has_a_golden_case() -> None:
    """Every defect identifier of CID-SCHEMA.md is shown by at least one golden file."""
    shown = {f[2] for spec in SPECS.values() if "expected" in spec for f in spec["expected"]["findings"]}
    shown |= {spec["defect"] for spec in SPECS.values() if "edit" in spec}
    assert set(INJECTORS) | {"silent_update"} <= shown
