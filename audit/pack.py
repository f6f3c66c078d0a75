"""The evidence pack: a BagIt bag (RFC 8493) of the ledger, its checkpoints, the public key and the
reports, with an Ed25519 signature over the tag manifest. Verified offline, with no database."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import bagit
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection

from audit.keys import fingerprint, load_public_pem, public_pem
from audit.ledger import Entry, iter_entries
from audit.merkle import leaf_hash
from audit.reports import latest_reports
from audit.verify import Verification, verify_ledger
from cutover.errors import CutoverError
from migration.target_schema import CUTOVER_CHECKPOINT

SIGNATURE = "tagmanifest-sha256.txt.sig"
TAG_FILES = frozenset({"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
                       "tagmanifest-sha256.txt", "tagmanifest-sha512.txt", SIGNATURE})


EXPORT_STEPS = 3


def export_pack(conn: Connection, key: Ed25519PrivateKey, out: Path,
                progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the evidence pack to `out` (which must not exist or be empty); `progress` is told of
    each of the EXPORT_STEPS steps."""
    step = progress or (lambda done: None)
    import sqlalchemy as sa

    if out.exists() and any(out.iterdir()):
        raise CutoverError(f"{out} is not empty; give a new folder for the evidence pack")
    notes = list(conn.execute(sa.select(CUTOVER_CHECKPOINT.c.note).order_by(CUTOVER_CHECKPOINT.c.checkpoint_id))
                 .scalars())
    if not notes:
        raise CutoverError("the ledger has no checkpoint yet; run `cutover run` first")
    reports = latest_reports(conn)
    (out / "reports").mkdir(parents=True)
    entries = 0
    with (out / "ledger.jsonl").open("w", encoding="utf-8", newline="\n") as ledger:
        for entry in iter_entries(conn):  # streamed: a million-case ledger is never held at once
            ledger.write(entry.body + "\n")
            entries += 1
    step(1)
    (out / "checkpoints.jsonl").write_text("".join(json.dumps({"note": n}) + "\n" for n in notes))
    (out / "public_key.pem").write_text(public_pem(key.public_key()))
    for name, body in reports.items():
        (out / "reports" / name).write_text(body)
    bag = bagit.make_bag(str(out), bag_info={
        "External-Description": "cutover evidence pack: ledger, checkpoints, reconciliation reports",
        "Ledger-Entries": str(entries), "Checkpoints": str(len(notes)),
        "Key-Fingerprint": fingerprint(key.public_key()),
    }, checksums=["sha256", "sha512"])
    step(1)
    tag_manifest = Path(bag.path) / "tagmanifest-sha256.txt"
    (Path(bag.path) / SIGNATURE).write_text(base64.b64encode(key.sign(tag_manifest.read_bytes())).decode() + "\n")
    step(1)
    return {"entries": entries, "checkpoints": len(notes), "reports": len(reports)}


def verify_pack(path: Path, expect_key: str | None) -> Verification:
    """Validate the bag in full, reject unexpected files, check the signature, the ledger, every
    checkpoint and each report against its ledger entry. Offline: no database is touched."""
    result = Verification()
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        result.failure = f"not a valid bag: {exc}"
        return result
    listed = {str(Path(p)) for p in bag.payload_entries()}
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = str(file.relative_to(path))
        if relative not in TAG_FILES and relative not in listed:
            result.failure = f"unexpected file in the pack: {relative}"
            return result
    try:
        bag.validate(fast=False)
    except bagit.BagValidationError as exc:
        result.failure = f"the bag does not validate: {str(exc).splitlines()[0][:300]}"
        return result
    data = path / "data"
    key = load_public_pem((data / "public_key.pem").read_text())
    if expect_key and fingerprint(key).lower() != expect_key.lower():
        result.failure = f"the pack's key {fingerprint(key)} is not the expected {expect_key}"
        return result
    try:
        key.verify(base64.b64decode((path / SIGNATURE).read_text()), (path / "tagmanifest-sha256.txt").read_bytes())
    except (InvalidSignature, FileNotFoundError, ValueError):
        result.failure = "the signature over the tag manifest does not verify (the pack was changed or re-signed)"
        return result
    notes = [json.loads(line)["note"] for line in (data / "checkpoints.jsonl").read_text().splitlines() if line]
    # Only "\n" ends an entry: canonical JSON escapes it inside strings, but not U+2028 and its kin.
    with (data / "ledger.jsonl").open(encoding="utf-8", newline="\n") as lines:
        entries = (_file_entry(n, line.removesuffix("\n")) for n, line in enumerate(lines, start=1))
        result = verify_ledger(entries, notes, key, expect_key)
    if result.ok:
        _check_reports(result, data / "reports")
    return result


def _file_entry(line_no: int, line: str) -> Entry:
    """An entry as the pack's ledger file holds it: its body, and the seq the body claims (the
    line number when it claims none, so that verification names what is wrong with it)."""
    try:
        body = json.loads(line)
    except ValueError:
        body = None
    seq = body.get("seq") if isinstance(body, dict) else None
    return Entry(seq if isinstance(seq, int) else line_no, line, leaf_hash(line.encode()).hex())


def _check_reports(result: Verification, folder: Path) -> None:
    recorded = {(b.get("report"), b.get("digest")): b for b in result.reports}
    for file in sorted(folder.iterdir()):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        entry = recorded.get((file.name, digest))
        if entry is None:
            result.failure = f"report {file.name} is not the one the ledger recorded"
            return
        if file.suffix != ".json":
            continue
        totals = {k: int(v) for k, v in json.loads(file.read_text()).get("totals", {}).items()}
        if totals != entry.get("counts"):
            result.failure = f"report {file.name}: its totals differ from the ledger's"
            return
