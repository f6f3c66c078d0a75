"""No personal data anywhere: a whole cutover at debug level, then every byte it wrote is searched
for every surname, forename, birth date, address line, postcode and note text CID holds."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import ADDRESS, CASE_NOTE, PERSON
from migration.parsers import normalise_postcode
from migration.target_schema import CUTOVER_CHECKPOINT, CUTOVER_LEDGER, CUTOVER_REPORT, CUTOVER_TABLES
from tests.helpers import generate

ROOT = Path(__file__).resolve().parents[1]


def _personal_values(legacy: str) -> tuple[set[str], set[str]]:
    """(single words: names, birth dates, postcodes; longer texts: address lines, note texts)."""
    words: set[str] = set()
    texts: set[str] = set()
    with create_engine(legacy).connect() as conn:
        for surname, forenames, dob in conn.execute(sa.select(PERSON.c.SURNAME, PERSON.c.FORENAMES, PERSON.c.DOB)):
            for name in (surname, forenames):
                words |= {part.strip() for part in re.split(r"[,\s]+", name or "") if len(part.strip()) >= 2}
            if dob:
                words.add(dob)
        for line1, line2, postcode in conn.execute(sa.select(ADDRESS.c.LINE1, ADDRESS.c.LINE2, ADDRESS.c.POSTCODE)):
            texts |= {v for v in (line1, line2) if v}
            if postcode and normalise_postcode(postcode)[0]:  # junk like "12345" identifies nobody
                words |= {"".join(postcode.split()).upper(), postcode.strip()}
                texts.add(postcode)
        texts |= {t for t in conn.execute(sa.select(CASE_NOTE.c.NOTE_TEXT)).scalars() if t}
    return words, texts


def _cli(home: Path, *args: str) -> str:
    env = {**os.environ, "CUTOVER_DATA_DIR": str(home / "data"), "PREFECT_HOME": str(home / "prefect"),
           "CUTOVER_LOG_LEVEL": "DEBUG"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-m", "cutover.cli", *args], capture_output=True, text=True, cwd=home,
                          env=env, timeout=900)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return done.stdout + done.stderr


@pytest.mark.e2e
def test_no_personal_data_in_logs_reports_ledger_pack_or_prefect(tmp_path: Path) -> None:
    legacy = f"sqlite:///{tmp_path / 'data' / 'legacy.db'}"
    generate(legacy, 500, seed=71, scale=3.0, manifest=tmp_path / "manifest.json")
    refs = [r for refs in json.loads((tmp_path / "manifest.json").read_text())["defects"].values() for r in refs]
    (tmp_path / "refs.txt").write_text("\n".join(refs[:200]) + "\n")
    (tmp_path / "manifest.json").unlink()  # ground truth of the test, not something the tool wrote
    written = [_cli(tmp_path, "run", "--all", "--as-of", "2026-11-01", "--batch-size", "100"),
               _cli(tmp_path, "reconcile", "--format", "json", "--out", str(tmp_path / "out" / "rec.json")),
               _cli(tmp_path, "report", "--out", str(tmp_path / "out" / "report")),
               _cli(tmp_path, "explain", "--refs-file", str(tmp_path / "refs.txt"), "--format", "json"),
               _cli(tmp_path, "status"),
               _cli(tmp_path, "audit", "export", "--out", str(tmp_path / "out" / "pack"))]
    carried = {p.name.split("-", 1)[1] for p in (tmp_path / "out" / "pack" / "data" / "reports").iterdir()}
    assert {"index.html", "wave-rest.html", "reconciliation-all.json"} <= carried  # the pack carries the reports
    blobs = ["\n".join(written)]
    names = ["cli output"]
    binary = []  # indexes of blobs read from binary files (databases' pages)
    legacy_file = tmp_path / "data" / "legacy.db"
    target_file = tmp_path / "data" / "target.db"
    for path in [*tmp_path.joinpath("out").rglob("*"), *tmp_path.joinpath("prefect").rglob("*"),
                 *tmp_path.joinpath("data").rglob("*")]:
        # the two databases themselves (and their -wal/-shm files) hold the data by design
        if path.is_file() and not path.name.startswith((legacy_file.name, target_file.name)):
            raw = path.read_bytes()
            if b"\0" in raw:
                binary.append(len(blobs))
            blobs.append(raw.decode("utf-8", errors="replace"))
            names.append(str(path))
    engine = create_engine(f"sqlite:///{target_file}")
    with engine.connect() as conn:  # the tool's own tables of the target (business tables hold the data itself)
        for table in (*CUTOVER_TABLES, CUTOVER_LEDGER, CUTOVER_CHECKPOINT, CUTOVER_REPORT):
            blobs.append("\n".join(repr(tuple(row)) for row in conn.execute(sa.select(table))))
            names.append(table.name)
    with contextlib.closing(sqlite3.connect(tmp_path / "prefect" / "prefect.db")) as store:  # its rows, as text
        for (table,) in store.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            blobs.append("\n".join(repr(row) for row in store.execute(f'SELECT * FROM "{table}"')))
            names.append(f"Prefect's {table}")
    assert any("ledger checkpoint" in b for b in blobs) and len(blobs) > 20 and binary
    haystack = "\n".join(blobs)
    text_tokens = set(re.findall(r"[\w/\-']+", "\n".join(b for i, b in enumerate(blobs) if i not in binary)))
    binary_tokens = set(re.findall(r"[\w/\-']+", "\n".join(blobs[i] for i in binary)))
    words, texts = _personal_values(legacy)
    assert len(words) > 500 and len(texts) > 500
    # Two-letter names ("Le", "Wu") turn up by chance inside base64 signatures and keys, which
    # '+' splits into tokens: only names of three letters or more are searched for as words. Among
    # the bytes of a database's pages, three letters between two other bytes turn up by chance too
    # (a few a run, "Sme", "Oon"): there names of four letters or more are searched for, and every
    # row of Prefect's store is searched as text above.
    found = sorted(w for w in words if (len(w) > 2 and w in text_tokens) or (len(w) > 3 and w in binary_tokens))
    found += sorted(t for t in texts if t in haystack)
    where = {f: sorted({names[i] for i, b in enumerate(blobs) if f in b}) for f in found[:5]}
    assert found == [], (len(found), where)
