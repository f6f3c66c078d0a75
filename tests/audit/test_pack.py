"""The evidence pack: verified offline; any change to it is found."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import bagit
import bagit_utils
import pytest

from audit.keys import fingerprint, load_or_create_key, public_pem
from audit.pack import SIGNATURE, export_pack, signed_blob, verify_pack
from core.db import create_engine


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One pack exported from a small cutover (the pack is offline: one engine is enough)."""
    from tests.audit.conftest import make_ledger

    folder = tmp_path_factory.mktemp("pack")
    target, key, _ = make_ledger(f"sqlite:///{folder / 'legacy.db'}", f"sqlite:///{folder / 'target.db'}", folder)
    out = folder / "pack"
    with create_engine(target).connect() as conn:
        counts = export_pack(conn, key, out)
    assert counts["reports"] == 1 and counts["checkpoints"] == 2
    return out, fingerprint(key.public_key())


@pytest.fixture
def pack(exported: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A fresh copy of the exported pack for a test to tamper with."""
    copy = tmp_path / "pack"
    shutil.copytree(exported[0], copy)
    return copy, exported[1]


def test_a_clean_pack_verifies(pack) -> None:  # type: ignore[no-untyped-def]
    path, fpr = pack
    result = verify_pack(path, fpr)
    assert result.ok, result.failure
    assert "Key-Fingerprint: " + fpr in (path / "bag-info.txt").read_text()


def _files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("which", range(11))
def test_a_flipped_byte_in_any_file_is_found(pack, which: int) -> None:  # type: ignore[no-untyped-def]
    path, fpr = pack
    files = _files(path)
    target = path / files[which % len(files)]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert not verify_pack(path, fpr).ok


def test_a_file_added_or_removed_is_found(pack) -> None:  # type: ignore[no-untyped-def]
    path, fpr = pack
    (path / "data" / "extra.txt").write_text("x")
    assert "unexpected file" in (verify_pack(path, fpr).failure or "")
    (path / "data" / "extra.txt").unlink()
    (path / "notes.txt").write_text("a tag file nobody listed")
    assert "unexpected file" in (verify_pack(path, fpr).failure or "")
    (path / "notes.txt").unlink()
    assert verify_pack(path, fpr).ok
    (path / "data" / "checkpoints.jsonl").unlink()
    assert not verify_pack(path, fpr).ok


def test_manifests_regenerated_after_an_edit_are_found(pack) -> None:  # type: ignore[no-untyped-def]
    path, fpr = pack
    ledger = path / "data" / "ledger.jsonl"
    ledger.write_text(ledger.read_text().replace('"migrated":', '"migrated":1', 1))
    bagit.Bag(str(path)).save(manifests=True)
    assert bagit.Bag(str(path)).is_valid()  # the bag alone is fooled
    assert "signature" in (verify_pack(path, fpr).failure or "")


def test_a_re_signature_with_another_key_is_found(pack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, fpr = pack
    other = load_or_create_key(tmp_path / "other.pem")
    (path / "data" / "public_key.pem").write_text(public_pem(other.public_key()))
    bag = bagit_utils.Bag(path)
    bag.set_manifests(["sha256", "sha512"])
    (path / SIGNATURE).write_text(base64.b64encode(other.sign(signed_blob(path))).decode())
    bag.set_tag_manifests(["sha256", "sha512"])
    result = verify_pack(path, fpr)
    assert not result.ok and "not the expected" in (result.failure or "")
    copy = path.parent / "copy"
    shutil.copytree(path, copy)
    unpinned = verify_pack(copy, None)  # without a pin the checkpoints still betray the key change
    assert not unpinned.ok
