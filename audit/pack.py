"""The evidence pack: a BagIt 1.0 bag (RFC 8493) of the ledger, its checkpoints, the public key,
every report ever recorded and an RFC 9162 inclusion proof of each report's entry. An Ed25519
signature over the bag's declaration, its bag-info and its payload manifests is itself a tag file,
so the tag manifests cover every file. Verified offline, with no database."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import bagit
import bagit_utils
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Connection

from audit.checkpoint import parse_text
from audit.keys import fingerprint, load_public_pem, public_pem
from audit.ledger import Entry, iter_entries
from audit.merkle import inclusion_proof, leaf_hash, verify_inclusion
from audit.note import split
from audit.origin import read_origin
from audit.provenance import rules_digest, software_version
from audit.verify import Verification, Witness, verify_ledger
from core.errors import CutoverError
from migration.target_schema import CUTOVER_CHECKPOINT, CUTOVER_REPORT

SIGNATURE = "signature-ed25519.txt"
SIGNED_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt")
TAG_FILES = frozenset({*SIGNED_FILES, "tagmanifest-sha256.txt", "tagmanifest-sha512.txt", SIGNATURE})
EXPORT_STEPS = 3


def export_pack(conn: Connection, key: Ed25519PrivateKey, out: Path,
                progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the evidence pack to `out` (which must not exist or be empty); `progress` is told of
    each of the EXPORT_STEPS steps."""
    step = progress or (lambda done: None)
    if out.exists() and any(out.iterdir()):
        raise CutoverError(f"{out} is not empty; give a new folder for the evidence pack")
    origin = read_origin(conn)
    notes = list(conn.execute(sa.select(CUTOVER_CHECKPOINT.c.note).order_by(CUTOVER_CHECKPOINT.c.checkpoint_id))
                 .scalars())
    if not notes or origin is None:
        raise CutoverError("the ledger has no checkpoint yet; run `cutover run` first")
    (out / "reports").mkdir(parents=True)
    leaves, as_of = [], ""
    with (out / "ledger.jsonl").open("w", encoding="utf-8", newline="\n") as ledger:
        for entry in iter_entries(conn):
            ledger.write(entry.body + "\n")
            leaves.append(leaf_hash(entry.body.encode()))
            as_of = json.loads(entry.body).get("as_of", as_of)
    step(1)
    # A checkpoint signed again at the same size (an export after a run) is one checkpoint.
    checkpoints = {parse_text(split(n)[0]) for n in notes}
    sizes = sorted({c.size for c in checkpoints})
    reports = conn.execute(sa.select(CUTOVER_REPORT.c.name, CUTOVER_REPORT.c.body, CUTOVER_REPORT.c.ledger_seq)
                           .order_by(CUTOVER_REPORT.c.ledger_seq)).all()
    with (out / "proofs.jsonl").open("w", encoding="utf-8") as proofs:
        for name, body, seq in reports:
            (out / "reports" / report_file(seq, name)).write_text(body, encoding="utf-8", newline="")
            proofs.write(json.dumps(_proof(seq, leaves, sizes)) + "\n")
    (out / "checkpoints.jsonl").write_text("".join(json.dumps({"note": n}) + "\n" for n in notes))
    (out / "public_key.pem").write_text(public_pem(key.public_key()))
    bagit.make_bag(str(out), bag_info={
        "External-Description": "cutover evidence pack: ledger, checkpoints, reports, inclusion proofs",
        "Log-Origin": origin, "Ledger-Entries": str(len(leaves)), "Checkpoints": str(len(checkpoints)),
        "Key-Fingerprint": fingerprint(key.public_key()), "Software-Version": software_version(),
        "Rules-Digest": rules_digest(), "As-Of": as_of or "none",
    }, checksums=["sha256", "sha512"])
    step(1)
    bag = bagit_utils.Bag(out)
    bag.generate_bagit_declaration()  # BagIt 1.0
    (out / SIGNATURE).write_text(base64.b64encode(key.sign(signed_blob(out))).decode() + "\n")
    bag.set_tag_manifests(["sha256", "sha512"])
    step(1)
    return {"entries": len(leaves), "checkpoints": len(checkpoints), "reports": len(reports)}


def report_file(seq: int, name: str) -> str:
    """A report's file name in the pack: its ledger entry, then its name."""
    return f"{seq:08d}-{name}"


def _proof(seq: int, leaves: Sequence[bytes], sizes: Sequence[int]) -> dict[str, Any]:
    covering = next((s for s in sizes if s >= seq), None)
    if covering is None:
        raise CutoverError(f"ledger entry {seq} is covered by no checkpoint; sign one first")
    path = inclusion_proof(seq - 1, leaves[:covering])
    return {"entry": seq, "leaf_index": seq - 1, "tree_size": covering, "leaf_hash": leaves[seq - 1].hex(),
            "proof": [p.hex() for p in path]}


def signed_blob(path: Path) -> bytes:
    """What the pack's signature covers: each signed tag file's name, length and bytes."""
    blob = b""
    for name in SIGNED_FILES:
        data = (path / name).read_bytes()
        blob += f"{name}\n{len(data)}\n".encode() + data
    return blob


def verify_pack(path: Path, expect_key: str | None, published: Sequence[str] = (),
                witness: Witness | None = None) -> Verification:
    """Validate the bag with both validators, reject unexpected files, check the signature, the
    ledger, every checkpoint (the pack's and those of its log among `published`), every report
    and its inclusion proof, and the witness's cosignature when one is given. Raise CutoverError
    only for what is not a pack at all; anything wrong inside a pack fails the verification."""
    if not path.is_dir():
        raise CutoverError(f"no evidence pack at {path}")
    if not (path / "bagit.txt").is_file():
        raise CutoverError(f"no evidence pack at {path}: it holds no bagit.txt")
    result = Verification()
    failure = _bag_problem(path)
    if failure:
        result.failure = failure
        return result
    data = path / "data"
    try:
        key = pack_key(path)
    except (CutoverError, ValueError, UnsupportedAlgorithm, OSError):
        result.failure = "the pack's public key is not a PEM Ed25519 public key"
        return result
    if expect_key and fingerprint(key).lower() != expect_key.lower():
        result.failure = f"the pack's key {fingerprint(key)} is not the expected {expect_key}"
        return result
    try:
        key.verify(base64.b64decode((path / SIGNATURE).read_text()), signed_blob(path))
    except (InvalidSignature, OSError, ValueError):
        result.failure = "the pack's signature does not verify (the pack was changed or re-signed)"
        return result
    try:
        origin = pack_origin(path)
        notes = [_record(line, "note", str) for line in _lines(data / "checkpoints.jsonl")]
    except PackError as exc:
        result.failure = str(exc)
        return result
    entries = (_file_entry(n, line) for n, line in enumerate(_ledger_lines(data / "ledger.jsonl"), start=1))
    try:
        result = verify_ledger(entries, notes, key, expect_key, origin, keep_leaves=True, witness=witness,
                               published=published)
    except PackError as exc:
        result = Verification(failure=str(exc))
    result.origin = origin
    if result.ok:
        try:
            _check_reports(result, data)
        except PackError as exc:
            result.failure = str(exc)
    return result


def _shown(name: str) -> str:
    """A name found in a pack, as a failure line shows it: quoted and cut short (whoever changed the
    pack chose it, line breaks included)."""
    return repr(name)[:80]


class PackError(ValueError):
    """A file of the pack that does not hold what a pack's file holds."""


def _lines(file: Path) -> list[str]:
    """The lines of one of the pack's text files."""
    try:
        return [line for line in file.read_bytes().decode("utf-8").splitlines() if line]
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{file.name} is not a text file of the pack") from exc


def _record(line: str, field: str, kind: type) -> Any:
    """The `field` of one JSON line of the pack."""
    try:
        value = json.loads(line)[field]
    except (ValueError, KeyError, TypeError) as exc:
        raise PackError(f"a line of the pack holds no {field}") from exc
    if not isinstance(value, kind):
        raise PackError(f"a line of the pack holds no {field}")
    return value


def _ledger_lines(file: Path) -> Iterator[str]:
    """The ledger file's entries. Only "\n" ends one: canonical JSON escapes it inside strings,
    but not U+2028 and its kin."""
    try:
        lines = file.open("rb")
    except OSError as exc:
        raise PackError(f"{file.name} cannot be read") from exc
    with lines:
        for number, raw in enumerate(lines, start=1):
            try:
                yield raw.removesuffix(b"\n").decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PackError(f"entry {number}: the line is not UTF-8 text") from exc


def pack_key(path: Path) -> Ed25519PublicKey:
    """The public key a pack carries."""
    return load_public_pem((path / "data" / "public_key.pem").read_text())


def pack_origin(path: Path) -> str:
    """The log origin a pack's bag-info names."""
    info = bagit.Bag(str(path)).info
    origin = info.get("Log-Origin")
    if not isinstance(origin, str):
        raise PackError("the pack's bag-info names no single log origin")
    return origin


def _bag_problem(path: Path) -> str | None:
    # bagit logs each file that fails its checksum, values included: the one line below says enough.
    quiet = logging.getLogger("bagit")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        return _bag_check(path)
    finally:
        quiet.setLevel(level)


def _bag_check(path: Path) -> str | None:
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        return f"not a valid bag: {str(exc).splitlines()[0][:200]}"
    if bag.version_info != (1, 0):
        return f"the bag is BagIt {bag.version}, not 1.0"
    listed = {str(Path(p)) for p in bag.payload_entries()}
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = str(file.relative_to(path))
        if relative not in TAG_FILES and relative not in listed:
            return f"unexpected file in the pack: {_shown(relative)}"
    try:
        bag.validate(fast=False)
    except bagit.BagValidationError as exc:
        return f"the bag does not validate: {_first_detail(exc)}"
    report = bagit_utils.Bag(path).validate()
    if not report.valid:
        first = next((i.message for i in report.issues if i.level == "error"), "invalid")
        return f"the bag does not validate: {first.splitlines()[0][:200]}"
    return None


def _first_detail(exc: bagit.BagValidationError) -> str:
    """The first failure bagit found, named by its file (no checksums, which say nothing to a reader)."""
    for detail in exc.details:
        if isinstance(detail, bagit.ChecksumMismatch):
            return f"{_shown(detail.path)}: its content differs from the manifest's checksum"
        if isinstance(detail, bagit.FileMissing):
            return f"{_shown(detail.path)}: listed in a manifest but missing"
        if isinstance(detail, bagit.UnexpectedFile):
            return f"{_shown(detail.path)}: not listed in the manifests"
    return str(exc).splitlines()[0][:200]


def _file_entry(line_no: int, line: str) -> Entry:
    """An entry as the pack's ledger file holds it: its body, and the seq the body claims (the
    line number when it claims none, so that verification names what is wrong with it)."""
    try:
        body = json.loads(line)
    except ValueError:
        body = None
    seq = body.get("seq") if isinstance(body, dict) else None
    return Entry(seq if isinstance(seq, int) else line_no, line, leaf_hash(line.encode()).hex())


def _check_reports(result: Verification, data: Path) -> None:
    """Every report entry has its file and its inclusion proof; no file is left over."""
    files = {p.name for p in (data / "reports").iterdir()} if (data / "reports").is_dir() else set()
    proofs = {}
    for line in _lines(data / "proofs.jsonl"):
        seq = _record(line, "entry", int)
        proofs[seq] = json.loads(line)
    for entry in result.reports:
        name = report_file(entry["seq"], entry["report"])
        if name not in files:
            result.failure = f"the report of ledger entry {entry['seq']} is missing from the pack"
            return
        files.discard(name)
        try:
            body = (data / "reports" / name).read_bytes()
        except OSError as exc:
            raise PackError(f"the report of ledger entry {entry['seq']} cannot be read") from exc
        if hashlib.sha256(body).hexdigest() != entry.get("digest"):
            result.failure = f"the report of ledger entry {entry['seq']} is not the one the ledger recorded"
            return
        if name.endswith(".json"):
            try:
                totals = {k: int(v) for k, v in json.loads(body).get("totals", {}).items() if not isinstance(v, bool)}
            except (ValueError, TypeError, AttributeError):
                totals = None
            if totals != entry.get("counts"):
                result.failure = f"the report of ledger entry {entry['seq']}: its totals differ from the ledger's"
                return
        if not _proof_holds(proofs.get(entry["seq"]), entry["seq"], result):
            result.failure = f"the report of ledger entry {entry['seq']}: its inclusion proof does not verify"
            return
    if files:
        result.failure = f"the report file {_shown(sorted(files)[0])} is in the pack but not in the ledger"


def _proof_holds(proof: dict[str, Any] | None, seq: int, result: Verification) -> bool:
    if not proof or proof.get("tree_size") not in result.roots:
        return False
    try:
        path = [bytes.fromhex(p) for p in proof["proof"]]
        return verify_inclusion(seq - 1, proof["tree_size"], result.leaves[seq - 1], path,
                                result.roots[proof["tree_size"]]) and proof["leaf_hash"] == result.leaves[seq - 1].hex()
    except (KeyError, TypeError, ValueError, IndexError):
        return False


__all__ = ["export_pack", "pack_key", "pack_origin", "verify_pack"]
