"""Golden cases: a legacy case in (small JSON files in golden/), the target rows and findings out."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from legacy.refdata import REF_NATIONALITY_ROWS, REF_STATUS_ROWS, REF_UNIT_ROWS
from migration.extract import LegacyCase, LegacyReference
from migration.target_schema import NOTE_TEXT_MAX
from migration.transform import transform_batch

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.json"))
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


def load_case(spec: dict[str, Any]) -> LegacyCase:
    """A LegacyCase from a golden file's `legacy` part."""
    case = LegacyCase(_row(spec["header"]))
    for table, rows in spec["children"].items():
        case.children[table] = [_row(r) for r in rows]
    case.persons = {p["PERSON_ID"]: _row(p) for p in spec["persons"]}
    case.addresses.update({int(k): [_row(a) for a in v] for k, v in spec["addresses"].items()})
    return case


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_case(path: Path) -> None:
    spec = json.loads(path.read_text())
    result = transform_batch([load_case(spec["legacy"])], REFERENCE, AS_OF)
    expected = spec["expected"]
    assert [o.state for o in result.outcomes] == [expected["state"]]
    for table, rows in expected["rows"].items():
        actual = sorted(result.rows.get(table, []), key=lambda r: (r.get("legacy_appt_id") or 0, r.get("part") or 0))
        assert len(actual) == len(rows), table
        for got, want in zip(actual, rows, strict=True):
            assert {k: _plain(got[k]) for k in want} == want, table
    findings = [[f.rule, f.action, f.defect] for f in result.findings]
    for finding in expected["findings"]:
        assert finding in findings
    assert len(findings) == len(expected["findings"]), findings
