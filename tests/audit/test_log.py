"""One log per target, every entry covered, and an auditor's own state: on SQLite and PostgreSQL.

The ledgers here are written straight through the audit API (no migration runs): what is under
test is the record, not the cutover that fills it."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
import bagit_utils
import pytest

from audit.entries import make_body
from audit.ledger import append
from audit.origin import checkpoints_file, read_origin
from audit.reports import record_report
from core.db import create_engine
from core.settings import load_settings
from cutover.audit_commands import write_checkpoint
from cutover.cli import main
from migration.load.schema import upgrade_target


def grow(target: str, entries: int, label: str = "a", report: bool = False) -> None:
    """Append `entries` run entries (and a report), then sign a checkpoint as the CLI does after a run."""
    engine = create_engine(target)
    upgrade_target(engine)
    with engine.begin() as conn:
        append(conn, [make_body("run_started", wave=label, as_of="2026-11-01", counts={"n": i})
                      for i in range(entries)])
        if report:
            record_report(conn, f"reconciliation-{label}.json", {"totals": {"in_flight": entries}})
    write_checkpoint(load_settings(target_url=target), engine)


def superuser(target: str, statements: list[str]) -> None:
    """Change the record behind its triggers' back, as whoever owns the database can."""
    engine = create_engine(target)
    with engine.begin() as conn:
        for table in ("cutover_ledger", "cutover_checkpoint"):
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                for event in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
        for statement in statements:
            conn.exec_driver_sql(statement)
        if conn.dialect.name == "postgresql":
            for table in ("cutover_ledger", "cutover_checkpoint"):
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def restore_to(target: str, size: int) -> None:
    """The target as a backup taken at ledger size `size` would bring it back."""
    superuser(target, [f"DELETE FROM cutover_ledger WHERE seq > {size}",
                       f"DELETE FROM cutover_checkpoint WHERE size > {size}",
                       f"DELETE FROM cutover_report WHERE ledger_seq > {size}"])


def export(target: str, out: Path) -> Path:
    assert main(["audit", "export", "--target", target, "--out", str(out), "--quiet"]) == 0
    return out


def verify(*args: str) -> int:
    """The exit code of `cutover audit verify ARGS` (argparse's own refusals exit through SystemExit)."""
    try:
        return main(["audit", "verify", *args])
    except SystemExit as exit_:
        return int(exit_.code or 0)


def test_two_targets_in_one_data_folder_each_verify(databases, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    production, rehearsal = databases.new("prod"), databases.new("rehearsal")
    grow(production, 5)
    grow(rehearsal, 9)
    grow(production, 3)
    origins = []
    for target in (production, rehearsal):
        with create_engine(target).connect() as conn:
            origins.append(read_origin(conn))
        assert verify("--target", target) == 0
        assert "checkpoints, the last signed 20" in capsys.readouterr().out
    assert origins[0] != origins[1]
    for origin in origins:
        assert checkpoints_file(data_dir, str(origin)).exists()


def test_a_configured_origin_is_kept_and_another_is_refused(databases, data_dir: Path,  # type: ignore[no-untyped-def]
                                                            monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    target = databases.new("target")
    monkeypatch.setenv("CUTOVER_LOG_ORIGIN", "example.org/cutover-prod")
    grow(target, 2)
    with create_engine(target).connect() as conn:
        assert read_origin(conn) == "example.org/cutover-prod"
    monkeypatch.setenv("CUTOVER_LOG_ORIGIN", "example.org/other")
    assert main(["audit", "export", "--target", target, "--out", str(data_dir / "pack"), "--quiet"]) == 2
    assert "example.org/cutover-prod" in capsys.readouterr().err


def test_an_uncovered_tail_and_a_forged_chained_entry_fail(databases, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = databases.new("target")
    grow(target, 6)
    with create_engine(target).begin() as conn:  # a forged report, correctly chained, no checkpoint after it
        append(conn, [make_body("report", report="forged.json", digest="0" * 64, counts={})])
        append(conn, [make_body("run_finished", status="ok")])
    assert verify("--target", target) == 1
    err = capsys.readouterr().err
    assert "2 entries (7 to 8) lie beyond the last signed checkpoint (size 6)" in err
    export(target, data_dir / "pack")  # the export signs them, and says so
    assert "2 ledger entries after the last checkpoint (size 6) are signed now" in capsys.readouterr().err


def test_a_changed_kind_column_fails(databases, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = databases.new("target")
    grow(target, 4)
    superuser(target, ["UPDATE cutover_ledger SET kind = 'rollback' WHERE seq = 2"])
    assert verify("--target", target) == 1
    assert "entry 2: the row's kind column disagrees with its body" in capsys.readouterr().err


def test_truncation_restored_backup_and_fork_fail_against_the_state(databases, data_dir: Path,  # type: ignore[no-untyped-def]
                                                                     capsys) -> None:
    target, state = databases.new("target"), data_dir / "auditor"
    grow(target, 5, report=True)  # a backup would be taken here, at size 6
    grow(target, 4)  # size 10, then 13
    first = export(target, data_dir / "pack1")
    assert verify("--pack", str(first), "--state", str(state)) == 0
    grow(target, 3)
    later = export(target, data_dir / "pack2")
    assert verify("--pack", str(later), "--state", str(state)) == 0  # the untouched log extends what was seen
    capsys.readouterr()
    restore_to(target, 6)  # a restored backup (or a truncated ledger), re-exported with the real key
    truncated = export(target, data_dir / "pack3")
    assert verify("--pack", str(truncated)) == 0  # alone, it is a consistent log
    assert verify("--pack", str(truncated), "--state", str(state)) == 1
    err = capsys.readouterr().err
    assert "size 6, smaller than size 13" in err and "origin cutover.local/" in err
    grow(target, 12)  # the restored target runs on: a forked history, longer than what was seen
    forked = export(target, data_dir / "pack4")
    assert verify("--pack", str(forked), "--state", str(state)) == 1
    err = capsys.readouterr().err
    assert "the checkpoint of size 18 does not extend size 13" in err
    assert verify("--pack", str(later), "--state", str(state)) == 0  # the true pack still passes


def test_published_checkpoints_are_honoured_for_packs(databases, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = databases.new("target")
    grow(target, 5)
    with create_engine(target).connect() as conn:
        published = checkpoints_file(data_dir, str(read_origin(conn)))
    copy = data_dir / "published.jsonl"
    copy.write_text(published.read_text())
    restore_to(target, 3)
    grow(target, 4)  # size 7: it would cover size 5 with another root
    pack = export(target, data_dir / "pack")
    assert verify("--pack", str(pack)) == 0
    assert verify("--pack", str(pack), "--checkpoints", str(copy)) == 1
    assert "Merkle root differs" in capsys.readouterr().err
    assert verify("--pack", str(pack), "--checkpoints", str(data_dir / "missing.jsonl")) == 2


def test_bad_input_is_one_line_and_exit_2(databases, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target, other = databases.new("target"), databases.new("other")
    grow(target, 3)
    grow(other, 2)
    state = data_dir / "auditor"
    assert verify("--pack", str(data_dir / "nowhere")) == 2
    assert verify("--pack", str(export(other, data_dir / "other-pack")), "--state", str(state)) == 0
    pack = export(target, data_dir / "pack")
    capsys.readouterr()
    assert verify("--pack", str(pack), "--state", str(state)) == 2  # a state folder that follows another log
    assert verify("--pack", str(pack), "--state", str(state), "--new-origin") == 0
    malformed = data_dir / "malformed.jsonl"
    malformed.write_text(json.dumps({"note": "not a note\n"}) + "\n")
    assert verify("--pack", str(pack), "--checkpoints", str(malformed)) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(errors) == 2 and all(line.startswith("cutover: error: ") for line in errors)


def test_the_pack_is_bagit_1_0_for_both_validators_and_holds_every_report(databases, data_dir: Path,  # type: ignore[no-untyped-def]
                                                                          capsys) -> None:
    target = databases.new("target")
    grow(target, 3, label="a", report=True)
    grow(target, 2, label="a", report=True)  # the same report name twice: both are kept
    pack = export(target, data_dir / "pack")
    assert (pack / "bagit.txt").read_text().startswith("BagIt-Version: 1.0\n")
    bagit.Bag(str(pack)).validate(fast=False)
    report = bagit_utils.Bag(pack, load=True).validate()
    assert report.valid, [i.message for i in report.issues]
    tagged = (pack / "tagmanifest-sha256.txt").read_text()
    assert "signature-ed25519.txt" in tagged
    info = bagit.Bag(str(pack)).info
    assert {"Log-Origin", "Software-Version", "Rules-Digest", "As-Of"} <= set(info)
    reports = sorted(p.name for p in (pack / "data" / "reports").iterdir())
    assert reports == ["00000004-reconciliation-a.json", "00000007-reconciliation-a.json"]
    proofs = [json.loads(line) for line in (pack / "data" / "proofs.jsonl").read_text().splitlines()]
    assert [(p["entry"], p["tree_size"]) for p in proofs] == [(4, 4), (7, 7)]  # each names its covering checkpoint
    assert verify("--pack", str(pack)) == 0
    capsys.readouterr()
    (pack / "data" / "reports" / reports[0]).unlink()  # dropped by the operator, who re-signs the pack
    resign(pack, data_dir / "keys" / "ledger-ed25519.pem")
    assert verify("--pack", str(pack)) == 1
    assert "the report of ledger entry 4 is missing from the pack" in capsys.readouterr().err


def resign(pack: Path, key_file: Path) -> None:
    """Rebuild a changed pack's manifests and signature with the signing key, as its operator could."""
    import base64

    from audit.keys import load_or_create_key
    from audit.pack import SIGNATURE, signed_blob

    bag = bagit_utils.Bag(pack)
    bag.set_manifests(["sha256", "sha512"])
    bag.set_baginfo({**bag.baginfo, "Payload-Oxum": [bagit_utils.Bag.get_payload_oxum(pack / "data")]})
    (pack / SIGNATURE).write_text(base64.b64encode(load_or_create_key(key_file).sign(signed_blob(pack))).decode())
    bag.set_tag_manifests(["sha256", "sha512"])


def test_cosign_adds_a_witness_line_after_the_same_checks(databases, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from audit.keys import load_or_create_key
    from audit.note import COSIGNATURE, Verifier, open_note

    target, state = databases.new("target"), data_dir / "witness"
    witness = load_or_create_key(data_dir / "witness.pem")
    grow(target, 4)
    pack = export(target, data_dir / "pack")
    capsys.readouterr()
    assert main(["audit", "cosign", "--pack", str(pack), "--state", str(state), "--key", str(data_dir / "witness.pem"),
                 "--name", "witness.example/w1"]) == 0
    cosigned = capsys.readouterr().out
    _, verified = open_note(cosigned, [Verifier("witness.example/w1", witness.public_key(), COSIGNATURE)])
    assert list(verified.values())[0] is not None
    restore_to(target, 2)
    assert main(["audit", "cosign", "--pack", str(export(target, data_dir / "old")), "--state", str(state),
                 "--key", str(data_dir / "witness.pem")]) == 1
    assert main(["audit", "cosign", "--pack", str(pack), "--state", str(state), "--key",
                 str(data_dir / "no-key.pem")]) == 2


def test_a_target_is_held_to_the_auditors_state_too(databases, data_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target, state = databases.new("target"), data_dir / "auditor"
    grow(target, 4)
    grow(target, 4)
    assert verify("--target", target, "--state", str(state)) == 0
    grow(target, 2)
    assert verify("--target", target, "--state", str(state)) == 0
    restore_to(target, 4)
    grow(target, 7)  # size 11 > 10, another history
    capsys.readouterr()
    assert verify("--target", target, "--state", str(state), "--checkpoints", str(data_dir / "none.jsonl")) == 2
    published = next((data_dir / "checkpoints").iterdir())
    assert verify("--target", target, "--checkpoints", str(published)) == 1  # the published size 8 and 10 differ
    (data_dir / "checkpoints" / published.name).rename(data_dir / "kept-aside.jsonl")
    assert verify("--target", target) == 0  # alone, the restored target is consistent
    assert verify("--target", target, "--state", str(state)) == 1
    assert "the checkpoint of size 11 does not extend size 10" in capsys.readouterr().err
