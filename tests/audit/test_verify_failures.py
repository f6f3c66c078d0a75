"""`cutover audit verify` when the record was tampered with: one line, exit 1, never a value of the
record; what is not a pack or a ledger at all is bad input (exit 2); a witness's cosignature is
checked when the auditor names the witness."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import bagit_utils
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from audit.entries import canonical
from audit.keys import load_or_create_key, public_pem
from audit.merkle import leaf_hash
from audit.origin import read_origin
from audit.state import state_file
from core.db import create_engine
from cutover.cli import main
from tests.audit.test_log import export, grow, resign, superuser, verify

NAME = "MANSOUR Huda 1962-12-24"  # stands for a value of CID that a tampered record could hold


@pytest.fixture
def pack(data_dir: Path) -> Path:
    """A pack of a small ledger with a report (SQLite: a pack is verified without any database)."""
    target = f"sqlite:///{data_dir.parent / 'target.db'}"
    grow(target, 3, report=True)
    grow(target, 2)
    return export(target, data_dir / "pack")


def failure(capsys: pytest.CaptureFixture[str], *args: str, code: int = 1) -> str:
    """The one line a refused verification prints, after checking its exit code."""
    capsys.readouterr()
    assert verify(*args) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and NAME not in err, err
    return err.strip()


def key_file(data_dir: Path) -> Path:
    """The signing key the data folder's cutover made."""
    return data_dir / "keys" / "ledger-ed25519.pem"


def rebuild_manifests(pack: Path) -> None:
    """What anyone can do to a pack without its key: make its manifests agree with its files again."""
    bag = bagit_utils.Bag(pack)
    bag.set_manifests(["sha256", "sha512"])
    bag.set_baginfo({**bag.baginfo, "Payload-Oxum": [bagit_utils.Bag.get_payload_oxum(pack / "data")]})
    bag.set_tag_manifests(["sha256", "sha512"])


def test_a_changed_byte_is_named_by_file_in_one_short_line(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = pack / "data" / "ledger.jsonl"
    data = bytearray(ledger.read_bytes())
    data[len(data) // 2] ^= 0x01
    ledger.write_bytes(bytes(data))
    err = failure(capsys, "--pack", str(pack))
    assert "data/ledger.jsonl" in err and "expected=" not in err and len(err) < 200


def test_a_replaced_public_key_fails_whatever_it_holds(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    rsa_pem = rsa_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for content in (b"garbage\n", rsa_pem, None):
        copy = pack.parent / f"copy-{len(content or b'')}"
        shutil.copytree(pack, copy)
        public = copy / "data" / "public_key.pem"
        if content is None:
            public.unlink()
        else:
            public.write_bytes(content)
        rebuild_manifests(copy)
        assert "public key is not a PEM Ed25519 public key" in failure(capsys, "--pack", str(copy))


def test_what_is_not_a_pack_is_bad_input_and_a_broken_declaration_fails(
        pack: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = data_dir / "empty"
    empty.mkdir()
    assert "holds no bagit.txt" in failure(capsys, "--pack", str(empty), code=2)
    assert main(["audit", "cosign", "--pack", str(empty), "--state", str(data_dir / "w"), "--key",
                 str(key_file(data_dir))]) == 2
    (pack / "bagit.txt").write_text("garbage\n")
    assert "not a valid bag" in failure(capsys, "--pack", str(pack))


def test_files_the_key_holder_re_signed_malformed_fail_in_one_line(
        pack: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edits = {
        "proofs.jsonl": lambda text: text + "{bad\n",
        "checkpoints.jsonl": lambda text: text + "{}\n",
        "ledger.jsonl": lambda text: text.replace('"kind"', '"ki\udcffnd"', 1),
    }
    for name, edit in edits.items():
        copy = pack.parent / f"copy-{name}"
        shutil.copytree(pack, copy)
        file = copy / "data" / name
        file.write_bytes(edit(file.read_text()).encode("utf-8", "surrogateescape"))
        resign(copy, key_file(data_dir))
        failure(capsys, "--pack", str(copy))
    info = pack / "bag-info.txt"
    info.write_text("".join(line for line in info.read_text().splitlines(True) if not line.startswith("Log-Origin")))
    resign(pack, key_file(data_dir))
    assert "names no single log origin" in failure(capsys, "--pack", str(pack))


def test_a_forged_kind_is_not_echoed(databases, data_dir: Path,  # type: ignore[no-untyped-def]
                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = databases.new("target")
    grow(target, 3)
    with create_engine(target).connect() as conn:
        body = json.loads(conn.exec_driver_sql("SELECT body FROM cutover_ledger WHERE seq = 2").scalar_one())
    body["kind"] = NAME
    forged = canonical(body).decode()
    quoted = forged.replace("'", "''")
    superuser(target, [f"UPDATE cutover_ledger SET body = '{quoted}', kind = '{NAME}', "
                       f"leaf_hash = '{leaf_hash(forged.encode()).hex()}' WHERE seq = 2"])
    assert "entry 2: the ledger kind is not one of the known kinds" in failure(capsys, "--target", target)


def test_a_ledger_whose_checkpoints_or_log_were_removed_fails(databases, data_dir: Path,  # type: ignore[no-untyped-def]
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    empty, target, other = databases.new("empty"), databases.new("target"), databases.new("other")
    from migration.load.schema import upgrade_target

    upgrade_target(create_engine(empty))
    assert "no checkpoint to verify against" in failure(capsys, "--target", empty, code=2)
    grow(target, 3)
    superuser(target, ["DELETE FROM cutover_checkpoint"])
    assert "3 ledger entries and no checkpoint" in failure(capsys, "--target", target)
    grow(other, 2)
    superuser(other, ["DROP TRIGGER IF EXISTS cutover_log_no_delete", "DELETE FROM cutover_log"]
              if "sqlite" in other else ["ALTER TABLE cutover_log DISABLE TRIGGER USER", "DELETE FROM cutover_log"])
    assert "entries and no log record" in failure(capsys, "--target", other)


def test_options_that_cannot_go_together_are_bad_input(pack: Path, data_dir: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert "not both" in failure(capsys, "--pack", str(pack), "--target", "sqlite:///x.db", code=2)
    assert "64 hex digits" in failure(capsys, "--pack", str(pack), "--expect-key", "deadbeef", code=2)


def test_a_witness_cosignature_is_checked_when_the_witness_is_named(
        pack: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    witness, stranger = data_dir / "witness.pem", data_dir / "stranger.pem"
    load_or_create_key(witness)
    (data_dir / "stranger.pub").write_text(public_pem(load_or_create_key(stranger).public_key()))
    state = data_dir / "witness-state"
    assert main(["audit", "cosign", "--pack", str(pack), "--state", str(state), "--key", str(witness),
                 "--name", "witness.example/w1"]) == 0
    with create_engine(f"sqlite:///{data_dir.parent / 'target.db'}").connect() as conn:
        cosigned = state_file(state, str(read_origin(conn))).with_suffix(".cosigned")
    capsys.readouterr()
    named = ["--pack", str(pack), "--checkpoints", str(cosigned), "--witness-key", str(witness)]
    assert verify(*named, "--witness-name", "witness.example/w1") == 0
    out = capsys.readouterr().out
    assert "2 checkpoints" in out and "cosigned by witness witness.example/w1 up to size 6 at 20" in out, out
    assert "no checkpoint carries a cosignature of witness" in failure(capsys, *named)  # the default name: not it
    assert "witness.local/" in failure(capsys, "--pack", str(pack), "--checkpoints", str(cosigned),
                                       "--witness-key", str(data_dir / "stranger.pub"))
    with create_engine(f"sqlite:///{data_dir.parent / 'target.db'}").connect() as conn:
        origin = str(read_origin(conn))
    assert "the log's own key" in failure(capsys, "--pack", str(pack), "--witness-key", str(key_file(data_dir)),
                                          "--witness-name", origin)  # its own cosignature is no witness's
    note = json.loads(cosigned.read_text())["note"]
    line = note.splitlines()[-1]
    flipped = line[:-20] + ("A" if line[-20] != "A" else "B") + line[-19:]  # inside the signature's bytes
    cosigned.write_text(json.dumps({"note": note.replace(line, flipped)}) + "\n")
    assert "the cosignature of witness witness.example/w1 does not verify" in failure(
        capsys, *named, "--witness-name", "witness.example/w1")
