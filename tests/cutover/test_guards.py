"""Careless commands refused before any write: exit 2, one line, both databases unchanged."""

from __future__ import annotations

import contextlib
import gc
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.keys import load_or_create_key
from core.db import create_engine
from cutover.cli import main
from migration.run import engine_for
from tests.conftest import AS_OF, Copier, Databases
from tests.cutover.snapshots import digest
from tests.helpers import generate

RUN = ["run", "--wave", "uasc", "--as-of", AS_OF.isoformat(), "--quiet"]


def refused(capsys: pytest.CaptureFixture, *args: str) -> str:
    """Run a command that must be refused; its one line."""
    capsys.readouterr()
    code = main(list(args))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("cutover: error:") and "\n" not in err, err
    return err


def execute(url: str, *statements: str) -> None:
    """Run SQL on a database outside the tool."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_target_that_is_the_legacy_database_is_refused(databases: Databases, capsys: pytest.CaptureFixture) -> None:
    legacy = databases.new("cid")
    generate(legacy, 40, seed=1)
    before = digest(legacy)
    err = refused(capsys, *RUN, "--legacy", legacy, "--target", legacy)
    assert "--legacy and --target name the same database" in err
    err = refused(capsys, "init-target", "--target", legacy)
    assert "holds CID tables (CASE_HDR" in err
    assert digest(legacy) == before


def test_target_holding_cid_tables_is_refused(databases: Databases, capsys: pytest.CaptureFixture) -> None:
    legacy, other_cid = databases.new("cid"), databases.new("cid_copy")
    generate(legacy, 40, seed=1)
    generate(other_cid, 30, seed=2)
    before = digest(legacy), digest(other_cid)
    err = refused(capsys, *RUN, "--legacy", legacy, "--target", other_cid)
    assert "the target holds CID tables (CASE_HDR" in err
    assert (digest(legacy), digest(other_cid)) == before


@pytest.mark.parametrize("kind", ["empty", "other_app", "missing_column"])
def test_legacy_that_is_not_cid_is_refused_naming_what_is_missing(
        kind: str, databases: Databases, capsys: pytest.CaptureFixture) -> None:
    legacy, target = databases.new("notcid"), databases.new("atlas")
    if kind == "other_app":
        execute(legacy, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(40))",
                "INSERT INTO customers VALUES (1, 'someone')")
    elif kind == "missing_column":
        generate(legacy, 20, seed=3)
        execute(legacy, 'ALTER TABLE "PERSON" DROP COLUMN "SURNAME"')
    elif databases.kind == "sqlite":
        sqlite3.connect(Path(legacy.removeprefix("sqlite:///"))).close()
    before = digest(legacy), digest(target)
    err = refused(capsys, *RUN, "--legacy", legacy, "--target", target)
    expected = "no PERSON.SURNAME: not a CID database" if kind == "missing_column" else "no CASE_HDR: not a CID"
    assert err.endswith(expected) or expected in err, err
    assert refused(capsys, "plan", "--legacy", legacy) == err
    assert (digest(legacy), digest(target)) == before


def test_target_with_another_applications_tables_needs_allowing(databases: Databases,
                                                                capsys: pytest.CaptureFixture) -> None:
    legacy, target = databases.new("cid"), databases.new("shared")
    generate(legacy, 40, seed=1)
    execute(target, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)",
            "INSERT INTO invoices VALUES (1, 5)")
    before = digest(legacy), digest(target)
    err = refused(capsys, *RUN, "--legacy", legacy, "--target", target)
    assert "1 table(s) of another application (first: invoices)" in err and "--allow-other-tables" in err
    assert "another application" in refused(capsys, "init-target", "--target", target)
    assert (digest(legacy), digest(target)) == before
    assert main(["plan", "--as-of", AS_OF.isoformat(), "--legacy", legacy, "--target", target]) == 0
    suggested = capsys.readouterr().out.splitlines()[-1].split(": ", 1)[1]  # the whole command plan suggests
    assert suggested.endswith(f"--allow-other-tables --legacy {legacy} --target {target}"), suggested
    assert main([*RUN[:-1], "--legacy", legacy, "--target", target, "--allow-other-tables", "--dry-run"]) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    assert (digest(legacy), digest(target)) == before


def test_target_at_an_unknown_revision_is_refused_by_every_command(
        migrated_copy: Copier, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    legacy, target = migrated_copy(120, seed=5, batch_size=50)
    key = tmp_path / "ledger-key.pem"
    load_or_create_key(key)  # audit export needs a key before it looks at the target
    monkeypatch.setenv("CUTOVER_SIGNING_KEY", str(key))
    execute(target, "UPDATE alembic_version SET version_num = '0099'")
    before = digest(legacy), digest(target)
    commands = [
        [*RUN, "--legacy", legacy, "--target", target],
        ["rollback", "--wave", "uasc", "--yes", "--target", target],
        ["status", "--target", target, "--legacy", legacy],
        ["reconcile", "--legacy", legacy, "--target", target],
        ["explain", "CID/2020/0000001", "--target", target],
        ["init-target", "--target", target],
        ["plan", "--legacy", legacy, "--target", target],
        ["audit", "verify", "--target", target],
        ["audit", "export", "--target", target, "--out", str(tmp_path / "pack")],
        ["report", "--legacy", legacy, "--target", target, "--out", str(tmp_path / "report")],
    ]
    for args in commands:
        err = refused(capsys, *args)
        assert "revision '0099', which this version of cutover does not ship" in err, (args, err)
    assert (digest(legacy), digest(target)) == before
    assert not (tmp_path / "pack").exists() and not (tmp_path / "report").exists()


@pytest.mark.parametrize("args", [
    ["status"], ["explain", "CID/2020/0000001"], ["reconcile"], ["audit", "verify"],
])
def test_reading_a_mistyped_sqlite_path_creates_nothing(args: list[str], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    typo = tmp_path / "data" / "typo.db"
    legacy = tmp_path / "cid.db"
    generate(f"sqlite:///{legacy}", 20, seed=1)
    before = digest(f"sqlite:///{legacy}")
    extra = ["--legacy", f"sqlite:///{legacy}"] if args[0] == "reconcile" else []
    err = refused(capsys, *args, "--target", f"sqlite:///{typo}", *extra)
    assert f"no SQLite database at {typo}" in err
    assert not typo.parent.exists()
    assert digest(f"sqlite:///{legacy}") == before


def test_plan_leaves_a_sqlite_cid_byte_for_byte(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A CID kept in rollback-journal mode stays so: plan neither writes nor switches it to WAL."""
    path = tmp_path / "cid.db"
    generate(f"sqlite:///{path}", 60, seed=2)
    gc.collect()  # the generator's pooled connections close, so the journal mode can change
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    before = digest(f"sqlite:///{path}")
    assert main(["plan", "--legacy", f"sqlite:///{path}", "--as-of", AS_OF.isoformat()]) == 0
    assert "Nothing written" in capsys.readouterr().out
    assert digest(f"sqlite:///{path}") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cid.db"]


def test_plan_and_reconcile_against_a_migrated_target_write_neither(migrated_copy: Copier,
                                                                    capsys: pytest.CaptureFixture) -> None:
    legacy, target = migrated_copy(120, seed=5, batch_size=50)
    before = digest(legacy), digest(target)
    assert main(["plan", "--legacy", legacy, "--target", target, "--format", "json"]) == 0
    assert f'"as_of": "{AS_OF.isoformat()}"' in capsys.readouterr().out  # the recorded date, not today
    assert main(["reconcile", "--legacy", legacy, "--target", target]) == 0
    assert f"Reconciliation as of {AS_OF.isoformat()}: BALANCED" in capsys.readouterr().out
    assert main(["status", "--legacy", legacy, "--target", target]) == 0
    assert f"as of {AS_OF.isoformat()}" in capsys.readouterr().out
    assert (digest(legacy), digest(target)) == before


def test_report_out_a_file_and_a_missing_pack_are_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    with pytest.raises(SystemExit) as raised:
        main(["report", "--out", str(readme)])
    err = capsys.readouterr().err.strip()
    assert raised.value.code == 2 and "\n" not in err and f"{readme} is a file, not a folder" in err
    assert readme.read_text() == "# notes\n"
    with pytest.raises(SystemExit) as raised:
        main(["audit", "verify", "--pack", str(tmp_path / "nonexistent")])
    err = capsys.readouterr().err.strip()
    assert raised.value.code == 2 and "\n" not in err and "no folder at" in err


def test_reconcile_of_an_unknown_wave_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    legacy = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(legacy, 20, seed=1)
    err = refused(capsys, "reconcile", "--wave", "uasx", "--legacy", legacy, "--target", legacy)
    assert "unknown wave 'uasx'" in err


def test_a_target_schema_is_created_only_after_the_checks(databases: Databases, capsys: pytest.CaptureFixture) -> None:
    """init-target on an empty database passes the checks, which read it without creating anything."""
    target = databases.new("atlas")
    assert main(["init-target", "--target", target]) == 0
    engine = sa.create_engine(target)
    assert sa.inspect(engine).has_table("cutover_plan")
    engine.dispose()


def test_reading_commands_name_an_older_schema_and_leave_it(migrated_copy: Copier,
                                                            capsys: pytest.CaptureFixture) -> None:
    legacy, target = migrated_copy(120, seed=5, batch_size=50)
    execute(target, "UPDATE alembic_version SET version_num = '0005'")
    before = digest(legacy), digest(target)
    for args in (["status"], ["reconcile", "--legacy", legacy], ["explain", "CID/2020/0000001"]):
        err = refused(capsys, *args, "--target", target)
        assert "the target schema is at revision 0005, older than this cutover's" in err
        assert err.endswith(f"upgrade it first: cutover init-target --target {target}")
    assert (digest(legacy), digest(target)) == before


def test_churn_of_a_database_that_is_not_cid_changes_nothing(migrated_copy: Copier,
                                                             capsys: pytest.CaptureFixture) -> None:
    _, target = migrated_copy(120, seed=5, batch_size=50)
    before = digest(target)
    assert refused(capsys, "churn", "--seed", "1", "--legacy", target).endswith("no CASE_HDR: not a CID database")
    assert digest(target) == before


def test_the_legacy_engine_cannot_write(databases: Databases) -> None:
    """Whatever code runs on it, the engine a run reads CID through refuses every write."""
    legacy = databases.new("cid")
    generate(legacy, 10, seed=1)
    before = digest(legacy)
    for engine in (create_engine(legacy, read_only=True), engine_for(legacy, read_only=True)):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE stray (id INTEGER)")
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
            conn.exec_driver_sql('UPDATE "CASE_HDR" SET "DELETED_FLG" = \'Y\'')
    assert digest(legacy) == before


def test_a_sqlite_url_that_says_more_than_a_path_is_refused_before_any_write(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    legacy = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(legacy, 20, seed=1)
    before = digest(legacy)
    for target in (f"sqlite:///file:{tmp_path / 'cid.db'}?uri=true", f"sqlite:///{tmp_path / 'cid.db'}?mode=rw",
                   f"sqlite://mover:s3cret@/{tmp_path / 'new.db'}"):
        err = refused(capsys, *RUN, "--legacy", legacy, "--target", target)
        assert "names a file and nothing else" in err or "name the same database" in err, err
        assert "s3cret" not in err
    assert digest(legacy) == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("cid.db-")) == ["cid.db"]


def test_generate_into_a_migrated_target_changes_nothing(migrated_copy: Copier,
                                                         capsys: pytest.CaptureFixture) -> None:
    _, target = migrated_copy(120, seed=5, batch_size=50)
    before = digest(target)
    for extra in ([], ["--replace"]):
        err = refused(capsys, "generate", "--cases", "10", "--seed", "1", "--legacy", target, "--quiet", *extra)
        assert "that are not CID's" in err
    assert digest(target) == before


def test_careless_arguments_are_one_line_and_change_nothing(migrated_copy: Copier, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    legacy, target = migrated_copy(120, seed=5, batch_size=50)
    monkeypatch.setenv("CUTOVER_SIGNING_KEY", str(tmp_path / "ledger-key.pem"))
    load_or_create_key(tmp_path / "ledger-key.pem")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "kept.txt").write_text("x")
    (tmp_path / "binary.db").write_bytes(bytes(range(256)))
    before = digest(legacy), digest(target)
    capsys.readouterr()
    for args, said in [
        (["audit", "export", "--target", target, "--out", str(tmp_path / "binary.db")], "is a file, not a folder"),
        (["audit", "export", "--target", target, "--out", str(tmp_path / "full")], "is not empty"),
        (["reconcile", "--legacy", legacy, "--target", target, "--out", str(tmp_path)], "is a folder, not a file"),
        (["explain", "--refs-file", str(tmp_path / "binary.db"), "--target", target], "is not a text file"),
        (["status", "--target", "mysql://mover:s3cret@127.0.0.1:1/x"], "unsupported database URL"),
        (["status", "--target", "postgresql+psycopg://mover:s3cret@127.0.0.1:abc/x"], "not a database URL"),
        (["status", "--target", target, "--legacy", f"sqlite:///{tmp_path / 'mistyped.db'}"], "no SQLite database"),
        ([*RUN, "--legacy", legacy, "--target", target, "--threads", "2", "--workers", "2"], "not allowed with"),
    ]:
        try:
            code = main(args)
        except SystemExit as exit_:  # argparse's own refusals exit through SystemExit
            code = int(exit_.code or 0)
        err = capsys.readouterr().err.strip()
        assert code == 2, (args, err)
        assert said in err and "\n" not in err and "s3cret" not in err, (args, err)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def closed(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", closed)  # Ctrl-D at the question
    assert "nothing rolled back" in refused(capsys, "rollback", "--wave", "rest", "--target", target)
    assert (digest(legacy), digest(target)) == before
