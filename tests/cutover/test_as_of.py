"""The sticky as-of date: a command without --as-of keeps the target's; later re-syncs; earlier is refused."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from cutover.cli import main
from cutover.hints import command_line
from migration.run import RunConfig, prepare, run_wave_locally
from migration.target_schema import CUTOVER_CASE
from tests.conftest import AS_OF, Copier
from tests.cutover.snapshots import digest
from tests.helpers import dump, generate, run_all

LATER = AS_OF + dt.timedelta(days=120)


def outcome(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of one command."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err.strip()


def test_a_first_run_without_as_of_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    legacy, target = f"sqlite:///{tmp_path / 'cid.db'}", tmp_path / "atlas.db"
    generate(legacy, 30, seed=1)
    before = digest(legacy)
    code, _, err = outcome(capsys, "run", "--wave", "uasc", "--legacy", legacy, "--target", f"sqlite:///{target}")
    assert code == 2 and "\n" not in err
    whole = command_line(["run", "--wave", "uasc", "--as-of", dt.date.today().isoformat()], legacy=legacy,
                         target=f"sqlite:///{target}")
    assert err == ("cutover: error: the target has no recorded as-of date: give the day the cutover judges cases in "
                   f"flight on, today's say: {whole}")
    assert not target.exists() and digest(legacy) == before


def test_run_without_as_of_keeps_the_recorded_date(migrated_copy: Copier, capsys: pytest.CaptureFixture) -> None:
    legacy, target = migrated_copy(200, seed=7, batch_size=50)
    before = digest(legacy), digest(target)
    code, out, _ = outcome(capsys, "run", "--wave", "uasc", "--legacy", legacy, "--target", target, "--dry-run")
    assert code == 0
    assert out.splitlines() == [f"as of {AS_OF.isoformat()} (the target's recorded date)", "dry run: nothing written"]
    assert (digest(legacy), digest(target)) == before


def test_an_earlier_as_of_is_refused_naming_both_dates(migrated_copy: Copier, capsys: pytest.CaptureFixture) -> None:
    legacy, target = migrated_copy(200, seed=7, batch_size=50)
    before = digest(legacy), digest(target)
    code, _, err = outcome(capsys, "run", "--wave", "uasc", "--as-of", "2026-10-01", "--legacy", legacy,
                           "--target", target)
    assert code == 2 and "\n" not in err
    assert "--as-of 2026-10-01 is earlier than the target's recorded as-of 2026-11-01" in err
    assert (digest(legacy), digest(target)) == before


def test_a_later_as_of_for_one_wave_is_refused_naming_the_whole_run(migrated_copy: Copier,
                                                                     capsys: pytest.CaptureFixture) -> None:
    legacy, target = migrated_copy(200, seed=7, batch_size=50)
    before = digest(legacy), digest(target)
    code, _, err = outcome(capsys, "run", "--wave", "rest", "--as-of", LATER.isoformat(), "--legacy", legacy,
                           "--target", target)
    assert code == 2 and "\n" not in err
    whole = command_line(["run", "--all", "--as-of", LATER.isoformat()], legacy=legacy, target=target)
    assert err.endswith(f"so every wave runs at it: {whole}"), err
    assert (digest(legacy), digest(target)) == before


def test_reading_commands_refuse_an_earlier_as_of_too(migrated_copy: Copier, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    legacy, target = migrated_copy(200, seed=7, batch_size=50)
    before = digest(legacy), digest(target)
    for words in (["reconcile"], ["reconcile", "--wave", "rest"], ["plan"], ["report", "--out", str(tmp_path / "r")]):
        code, _, err = outcome(capsys, *words, "--as-of", "2026-10-01", "--legacy", legacy, "--target", target)
        assert code == 2 and "\n" not in err, (words, err)
        assert "--as-of 2026-10-01 is earlier than" in err and "2026-11-01" in err, err
    assert (digest(legacy), digest(target)) == before and not (tmp_path / "r").exists()


def test_a_later_as_of_shows_what_it_changes_and_dry_run_writes_nothing(
        sqlite_migrated_copy: Copier, capsys: pytest.CaptureFixture) -> None:
    legacy, target = sqlite_migrated_copy(200, seed=7, batch_size=50)
    before = digest(legacy), digest(target)
    code, out, _ = outcome(capsys, "run", "--all", "--as-of", LATER.isoformat(), "--legacy", legacy,
                           "--target", target, "--dry-run")
    assert code == 0 and (digest(legacy), digest(target)) == before
    first = out.splitlines()[0]
    assert first.startswith(f"as of {LATER.isoformat()}, moved on from {AS_OF.isoformat()}: ")
    leaving = int(first.split(": ")[1].split(" planned")[0].replace(",", ""))
    assert leaving > 0
    # Running at the later date removes exactly the cases the preview said would leave flight.
    run_all(RunConfig(legacy_url=legacy, target_url=target, as_of=LATER, batch_size=50))
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).where(CUTOVER_CASE.c.state == "excluded")).scalar()
    engine.dispose()
    assert left == leaving


def test_reconcile_judges_on_the_recorded_date(migrated_copy: Copier, capsys: pytest.CaptureFixture) -> None:
    legacy, target = migrated_copy(200, seed=7, batch_size=50)
    code, out, _ = outcome(capsys, "reconcile", "--legacy", legacy, "--target", target)
    assert code == 0 and out.startswith(f"Reconciliation as of {AS_OF.isoformat()}: BALANCED")


def test_reconcile_of_a_wave_judges_it_on_the_date_it_ran(sqlite_migrated_copy: Copier,
                                                          capsys: pytest.CaptureFixture) -> None:
    """After catch-up ran at a later date, the wave that ran earlier is judged on its own date."""
    legacy, target = sqlite_migrated_copy(200, seed=7, batch_size=50)
    later = RunConfig(legacy_url=legacy, target_url=target, as_of=LATER, batch_size=50)
    reference, _ = prepare(later)
    run_wave_locally(later, reference, "catch_up")
    code, out, _ = outcome(capsys, "reconcile", "--wave", "rest", "--legacy", legacy, "--target", target)
    assert out.startswith(f"Reconciliation as of {AS_OF.isoformat()} (wave rest): BALANCED"), out
    assert code == 0
    code, out, _ = outcome(capsys, "reconcile", "--wave", "catch_up", "--legacy", legacy, "--target", target)
    assert out.startswith(f"Reconciliation as of {LATER.isoformat()} (wave catch_up)"), out


def test_hints_are_whole_commands_without_passwords() -> None:
    line = command_line(["run", "--wave", "uasc", "--as-of", "2026-11-01"], legacy="sqlite:///data/my cid.db",
                        target="postgresql+psycopg://cutover:s3cret@db:5432/atlas")
    assert line == ("cutover run --wave uasc --as-of 2026-11-01 --legacy 'sqlite:///data/my cid.db' "
                    "--target postgresql+psycopg://cutover@db:5432/atlas")


def test_rollback_hint_runs_the_wave_again_at_the_recorded_date(sqlite_migrated_copy: Copier,
                                                                capsys: pytest.CaptureFixture) -> None:
    _, target = sqlite_migrated_copy(200, seed=7, batch_size=50)
    code, out, _ = outcome(capsys, "rollback", "--wave", "rest", "--yes", "--target", target)
    assert code == 0
    assert out.splitlines()[-1].endswith(f"to run it again: cutover run --wave rest --as-of {AS_OF.isoformat()} "
                                         f"--target {target}")


def test_churn_prints_the_as_of_to_use_next(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOVER_DATA_DIR", str(tmp_path / "data"))  # no default target to follow
    legacy = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(legacy, 80, seed=7)
    code, out, _ = outcome(capsys, "churn", "--seed", "3", "--legacy", legacy)
    assert code == 0
    last = out.splitlines()[-1]
    day = last.split("CID is now as of ")[1].split(";")[0]
    assert dt.date.fromisoformat(day) >= AS_OF
    assert last.endswith(f"to follow it: cutover run --all --as-of {day} --legacy {legacy}")


@pytest.mark.e2e
def test_a_run_without_as_of_changes_nothing_that_was_migrated(tmp_path: Path) -> None:
    """Through the real command line and Prefect: the wave re-runs at the recorded date, every
    migrated row stays as it was."""
    legacy, target = f"sqlite:///{tmp_path / 'cid.db'}", f"sqlite:///{tmp_path / 'atlas.db'}"
    generate(legacy, 200, seed=7)
    run_all(RunConfig(legacy_url=legacy, target_url=target, as_of=AS_OF, batch_size=50))
    before = dump(target)
    env = {**os.environ, "CUTOVER_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-m", "cutover.cli", "run", "--wave", "uasc", "--legacy", legacy,
                           "--target", target, "--batch-size", "50"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"as of {AS_OF.isoformat()} (the target's recorded date)" in done.stdout
    assert dump(target) == before


def test_churn_never_suggests_an_as_of_before_the_targets(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    legacy, target = f"sqlite:///{tmp_path / 'cid.db'}", f"sqlite:///{tmp_path / 'atlas.db'}"
    generate(legacy, 80, seed=7)
    later = AS_OF + dt.timedelta(days=30)
    run_all(RunConfig(legacy_url=legacy, target_url=target, as_of=later, batch_size=50))
    monkeypatch.setenv("CUTOVER_TARGET_URL", target)
    code, out, _ = outcome(capsys, "churn", "--seed", "3", "--legacy", legacy)
    assert code == 0
    assert out.splitlines()[-1].endswith(f"to follow it: cutover run --all --as-of {later.isoformat()} "
                                         f"--legacy {legacy}")
    code, _, err = outcome(capsys, "run", "--all", "--as-of", later.isoformat(), "--legacy", legacy,
                           "--target", target, "--dry-run")
    assert (code, err) == (0, "")  # the suggested date is accepted
