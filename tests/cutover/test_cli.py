"""The command line: bad input gives one line, exit code 2, and overwrites nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cutover.cli import main
from tests.helpers import generate


def cutover(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "cutover.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.mark.parametrize("args", [
    ["generate", "--cases", "-5"],
    ["generate", "--cases", "10000000"],
    ["generate", "--cases", "abc"],
    ["generate", "--cases", "5", "--bogus"],
    ["generate", "--cases", "5", "--legacy", "postgresql+psycopg://nobody@127.0.0.1:1/none"],
    ["generate", "--cases", "5", "--legacy", "not a url"],
    ["plan", "--as-of", "31/12/2026"],
    ["run", "--wave", "nonsense", "--as-of", "2026-11-01"],
    ["run", "--all", "--lanes", "0", "--as-of", "2026-11-01"],
    ["frobnicate"],
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as raised:
        code = main(args)
        raise SystemExit(code)
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cutover: error:") and "\n" not in err, err


def test_a_legacy_database_with_data_is_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(url, 50, seed=1)
    before = _contents(tmp_path / "cid.db")
    assert main(["generate", "--cases", "10", "--legacy", url, "--quiet"]) == 2
    assert "use --replace" in capsys.readouterr().err
    assert _contents(tmp_path / "cid.db") == before
    assert main(["generate", "--cases", "10", "--legacy", url, "--replace", "--quiet", "--workers", "1"]) == 0


def _contents(path: Path) -> list[str]:
    """Every schema object and row of a SQLite database, as SQL. (Not its bytes: whichever
    connection closes last folds the write-ahead log into the file, rewriting the same rows.)"""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())


def test_missing_legacy_database_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["plan", "--legacy", f"sqlite:///{tmp_path / 'nope.db'}", "--as-of", "2026-11-01"])
    assert code == 2 and "no SQLite database" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_a_setting_out_of_range_is_named(tmp_path: Path, capsys: pytest.CaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOVER_LANES", "0")
    code = main(["run", "--all", "--legacy", f"sqlite:///{tmp_path / 'cid.db'}", "--as-of", "2026-11-01"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.endswith("lanes must be between 1 and 64, got 0") and "\n" not in err


def test_help_explains_every_command() -> None:
    result = cutover("--help")
    assert result.returncode == 0
    for command in ("generate", "churn", "init-target", "plan", "run", "status", "reconcile", "explain"):
        assert command in result.stdout


def test_plan_writes_nothing_and_prints_waves(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    legacy_file, target_file = tmp_path / "cid.db", tmp_path / "target.db"
    legacy, target = f"sqlite:///{legacy_file}", f"sqlite:///{target_file}"
    generate(legacy, 300, seed=2)
    assert main(["init-target", "--target", target]) == 0
    before = {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in (legacy_file, target_file)}
    capsys.readouterr()
    assert main(["plan", "--legacy", legacy, "--target", target, "--as-of", "2026-11-01", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["in_flight"] == sum(w["cases"] for w in payload["waves"])
    assert payload["excluded_total"] == 300 - payload["in_flight"]
    assert {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in before} == before


def test_every_command_names_a_handler_that_exists() -> None:
    """Handlers are imported when their command runs: each one named in the table must resolve."""
    import argparse

    from cutover.cli import build_parser

    def handlers(parser: argparse.ArgumentParser) -> list[object]:
        found = [parser.get_default("handler")]
        for action in parser._actions:  # noqa: SLF001 - argparse keeps sub-commands only here
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                for sub in action.choices.values():
                    found.extend(handlers(sub))
        return [h for h in found if h is not None]

    named = handlers(build_parser())
    assert len(named) == 14  # generate .. audit cosign
    assert all(callable(h.resolve()) for h in named)  # type: ignore[attr-defined]


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """`cutover plan | head -1`: the pipe closes under the command; no traceback, SIGPIPE's code."""
    legacy = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(legacy, 50, seed=2)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the command writes
    try:
        result = subprocess.run([sys.executable, "-m", "cutover.cli", "plan", "--legacy", legacy, "--as-of",
                                 "2026-11-01"], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (141, "")


def test_after_a_run_the_sqlite_target_file_alone_holds_everything(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    legacy, target = tmp_path / "cid.db", tmp_path / "atlas.db"
    generate(f"sqlite:///{legacy}", 60, seed=2)
    assert main(["run", "--all", "--as-of", "2026-11-01", "--legacy", f"sqlite:///{legacy}",
                 "--target", f"sqlite:///{target}", "--quiet"]) == 0
    copy = tmp_path / "copy.db"
    copy.write_bytes(target.read_bytes())  # the file alone, as a careless backup takes it
    counts = []
    for path in (target, copy):
        with contextlib.closing(sqlite3.connect(path)) as conn:
            counts.append(conn.execute("SELECT count(*), max(seq) FROM cutover_ledger").fetchone())
    assert counts[0] == counts[1] and counts[0][0] > 0
