"""Reports recorded in the target and the ledger: the stored JSON and an entry with its digest."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.engine import Connection

from audit.entries import make_body
from audit.ledger import append
from migration.target_schema import CUTOVER_REPORT


def report_bytes(payload: dict[str, Any]) -> bytes:
    """The stored form of a report: sorted-key JSON, newline-terminated."""
    return (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode()


def record_report(conn: Connection, name: str, payload: dict[str, Any]) -> str:
    """Store a JSON report (`name` ends in .json) and its ledger entry (digest and totals)."""
    totals = {k: int(v) for k, v in payload.get("totals", {}).items() if not isinstance(v, bool)}
    return record_document(conn, name, report_bytes(payload), totals)


def record_document(conn: Connection, name: str, data: bytes, totals: dict[str, int]) -> str:
    """Store a report file of any kind and append its ledger entry; return the digest."""
    digest = hashlib.sha256(data).hexdigest()
    seq = append(conn, [make_body("report", report=name, digest=digest, counts=totals)])
    conn.execute(CUTOVER_REPORT.insert().values(name=name, digest=digest, body=data.decode(), ledger_seq=seq))
    return digest
