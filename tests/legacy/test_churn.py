"""One simulated day of caseworking: changes, new cases, and silent updates that keep LAST_UPD_TS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.churn import apply_churn
from legacy.schema import CASE_HDR, LEGACY_TABLES
from tests.helpers import dump, generate


@pytest.mark.e2e
def test_churn_changes_rows_and_records_silent_updates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(url, 1500, seed=5)
    before = dump(url, LEGACY_TABLES)
    result = apply_churn(create_engine(url), seed=1, fraction=0.1, manifest=tmp_path / "day.json")
    after = dump(url, LEGACY_TABLES)
    manifest = json.loads((tmp_path / "day.json").read_text())
    assert before != after
    assert manifest["new_cases"] and manifest["defects"]["silent_update"]
    assert len(after["CASE_HDR"]) == len(before["CASE_HDR"]) + len(result.new_cases)
    with create_engine(url).connect() as conn:
        stamps = {ref: ts for ref, ts in conn.execute(sa.select(CASE_HDR.c.CASE_REF, CASE_HDR.c.LAST_UPD_TS))}
    # a silently updated case keeps a LAST_UPD_TS older than the churn day
    silent_case_stamps = [stamps[r] for r in manifest["defects"]["silent_update"] if r in stamps]
    assert any(ts.date() < result.day for ts in silent_case_stamps)


def test_churn_is_deterministic(tmp_path: Path) -> None:
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    for url in (a, b):
        generate(url, 500, seed=2)
        apply_churn(create_engine(url), seed=8, fraction=0.1)
    assert dump(a, LEGACY_TABLES) == dump(b, LEGACY_TABLES)
