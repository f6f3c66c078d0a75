"""At the terminal: Ctrl-C mid-run gives one line and exit 130, and the same command resumes;
--quiet prints errors only, whatever the command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from cutover.console import command_console, interrupted_line
from migration.target_schema import CUTOVER_RUN
from tests.helpers import committed_batches, generate

ROOT = Path(__file__).resolve().parents[2]


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CUTOVER_DATA_DIR": str(home / "data"), "PREFECT_HOME": str(home / "prefect")}
    env.pop("PREFECT_API_URL", None)
    # its own process group, as a shell gives a foreground job: Ctrl-C reaches the group
    return subprocess.Popen([sys.executable, "-m", "cutover.cli", *args], cwd=home, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _cutover(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _start(home, *args)
    out, err = proc.communicate(timeout=900)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_the_interrupted_line_is_the_command_to_paste_without_passwords() -> None:
    line = interrupted_line(["run", "--wave", "uasc", "--as-of", "2026-11-01", "--target",
                             "postgresql://mover:hunter2@db/atlas", "--legacy=postgresql://reader:s3c@ret@cid/cid"])
    # pasted, it reads the passwords where they are kept (PGPASSWORD, ~/.pgpass), as every hint does
    assert line == ("interrupted: run the same command again to resume: cutover run --wave uasc --as-of 2026-11-01 "
                    "--target postgresql://mover@db/atlas --legacy=postgresql://reader@cid/cid")


def test_after_ctrl_c_whatever_fails_on_the_way_out_is_the_interrupt() -> None:
    """Prefect reports the crash to a server that may be going: that error is not the story; and
    library consoles are silent from the interrupt on."""
    import logging

    console = logging.StreamHandler(sys.stderr)
    library = logging.getLogger("library.under.test")
    library.addHandler(console)
    try:
        with pytest.raises(KeyboardInterrupt), command_console(quiet=False):
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            finally:
                raise ConnectionError("the server is gone")
        assert console.filter(logging.LogRecord("library.under.test", logging.ERROR, "", 0, "Crash", None,
                                                None)) is False
        with command_console(quiet=False):  # the next command starts afresh
            pass
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        library.removeHandler(console)
        logging.raiseExceptions = True


def test_after_ctrl_c_under_quiet_a_coroutine_left_unawaited_is_not_reported_at_exit() -> None:
    """The interrupt can land between Prefect making a coroutine and awaiting it; Python reports
    such a coroutine as the process ends, after --quiet has put its warning filters back."""
    script = (
        "import os, signal, sys, time\n"
        "from cutover.console import command_console\n"
        "async def create_run(): pass\n"
        "left = []\n"
        "try:\n"
        "    with command_console(quiet=True):\n"
        "        left.append(create_run())\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', file=sys.stderr)\n"
        "    sys.exit(130)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "interrupted\n")


def test_quiet_drops_standard_output_only(capsys: pytest.CaptureFixture[str]) -> None:
    with command_console(quiet=True):
        print("a result")
        print("an error", file=sys.stderr)
    print("after")
    assert capsys.readouterr() == ("after\n", "an error\n")


@pytest.mark.e2e
@pytest.mark.parametrize("runner", [(), ("--workers", "2")], ids=["threads", "local-dask-workers"])
def test_ctrl_c_mid_run_prints_one_line_and_the_same_command_resumes(tmp_path: Path, runner: tuple[str, ...]) -> None:
    """Ctrl-C reaches the whole process group, Dask's worker processes too: still one line."""
    generate(f"sqlite:///{tmp_path / 'data' / 'legacy.db'}", 1500, seed=24)
    target = f"sqlite:///{tmp_path / 'data' / 'target.db'}"
    args = ("run", "--all", "--as-of", "2026-11-01", "--batch-size", "40", *runner, "--quiet")
    proc = _start(tmp_path, *args)
    deadline = time.monotonic() + 300
    while committed_batches(target) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    assert (out, err) == ("", f"cutover: {interrupted_line(list(args))}\n")  # no Prefect crash report
    verified = _cutover(tmp_path, "audit", "verify", "--target", target, "--quiet")
    assert verified.returncode == 0, verified.stderr  # what the interrupted run committed is signed

    again = _cutover(tmp_path, *args)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        runs = conn.execute(sa.select(CUTOVER_RUN.c.wave, CUTOVER_RUN.c.status)).all()
    engine.dispose()
    # Resumed, not started again: a run interrupted inside a wave and started afresh would be left
    # `abandoned` beside the new one (the interrupt can also land between two waves, when no run is open).
    assert {status for _, status in runs} == {"completed"}


@pytest.mark.e2e
def test_quiet_prints_nothing_but_errors_for_every_command(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    data = tmp_path / "data"
    quiet = ("--quiet",)
    steps = [
        ("generate", "--cases", "200", "--seed", "3", "--manifest", str(manifest), "--workers", "1"),
        ("init-target",),
        ("plan", "--as-of", "2026-11-01"),
        ("run", "--all", "--as-of", "2026-11-01"),
        ("status",),
        ("reconcile",),
        ("report", "--out", str(tmp_path / "report")),
        ("audit", "verify", "--target", f"sqlite:///{data / 'target.db'}"),
        ("audit", "export", "--out", str(tmp_path / "pack")),
        ("rollback", "--wave", "rest", "--yes"),
        ("churn", "--seed", "5"),
        ("plan", "--as-of", "2026-11-01", "--format", "json"),
    ]
    for step in steps:
        done = _cutover(tmp_path, *step, *quiet)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), step
    ref = next(refs for refs in json.loads(manifest.read_text())["defects"].values() if refs)[0]
    done = _cutover(tmp_path, "explain", ref, *quiet)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    # an error still shows: one line on standard error, the code that says what kind
    failed = _cutover(tmp_path, "rollback", "--wave", "nowhere", "--yes", *quiet)
    assert failed.returncode == 2 and failed.stdout == "" and len(failed.stderr.splitlines()) == 1
    unknown = _cutover(tmp_path, "explain", "CID/0000/NOTHERE", *quiet)
    assert unknown.returncode == 1 and unknown.stdout == "" and "unknown to the cutover" in unknown.stderr
