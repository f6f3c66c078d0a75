"""End to end through the real command line and real Prefect flows (local ephemeral Prefect)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import generate


def cutover(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUTOVER_DATA_DIR": str(cwd / "data"), "PREFECT_HOME": str(cwd / "prefect")}
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([sys.executable, "-m", "cutover.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=900)


@pytest.mark.e2e
def test_run_all_then_reconcile_explain_and_status(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    generate(f"sqlite:///{tmp_path / 'data' / 'legacy.db'}", 800, seed=4, manifest=manifest, scale=3.0)
    run = cutover(tmp_path, "run", "--all", "--as-of", "2026-11-01", "--batch-size", "200")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "wave specialisms" in run.stdout
    assert "quarantined in this run" in run.stdout and "cutover explain" in run.stdout  # the count, where to look

    rec = cutover(tmp_path, "reconcile", "--format", "json")
    assert rec.returncode == 0, rec.stdout[-2000:]
    report = json.loads(rec.stdout)
    assert report["balanced"] and report["totals"]["unexplained"] == 0
    assert {w["name"] for w in report["waves"]} >= {"resettlement", "rest", "catch_up"}

    refs = json.loads(manifest.read_text())["defects"]["two_main_applicants"]
    explained = cutover(tmp_path, "explain", *refs, "--format", "json")
    entries = json.loads(explained.stdout)
    for entry in entries:
        assert entry["state"] in ("quarantined", "excluded")
        if entry["state"] == "quarantined":
            assert "two_main_applicants" in {a["defect"] for a in entry["actions"]}
    assert set(entries[0]) >= {"legacy_ref", "state", "wave", "owning_unit", "next_task", "actions"}

    status = cutover(tmp_path, "status", "--format", "json")
    rows = json.loads(status.stdout)
    assert sum(r["pending"] for r in rows) == 0 and sum(r["migrated"] for r in rows) > 300

    again = cutover(tmp_path, "run", "--wave", "rest", "--as-of", "2026-11-01", "--batch-size", "200")
    assert again.returncode == 0 and "migrated        0" in again.stdout
