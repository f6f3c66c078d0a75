"""What the migration tells the ledger: bodies built from its own records, appended in order by
the one coordinator of a run (batches stage theirs in their own transaction)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audit.entries import make_body
from audit.ledger import append
from migration.load.staging import copy_rows
from migration.target_schema import CUTOVER_LEDGER_PENDING
from migration.transform import CaseOutcome, Finding


def stage(conn: Connection, run_id: uuid.UUID, batch_no: int, bodies: Iterable[dict[str, Any]]) -> None:
    """Keep a batch's bodies beside its data, in its transaction, until the coordinator appends them."""
    rows = [{"run_id": run_id, "batch_no": batch_no, "ord": i, "body": json.dumps(b)} for i, b in enumerate(bodies)]
    if rows:
        conn.execute(sa.delete(CUTOVER_LEDGER_PENDING).where(CUTOVER_LEDGER_PENDING.c.run_id == run_id,
                                                             CUTOVER_LEDGER_PENDING.c.batch_no == batch_no))
        copy_rows(conn, CUTOVER_LEDGER_PENDING, rows)


FLUSH_PAGE = 10_000


def flush(conn: Connection, run_id: uuid.UUID, page_size: int = FLUSH_PAGE, *, upto: int | None = None) -> int:
    """Append a run's staged bodies in batch order, a page at a time (a wave of a million-case CID
    stages hundreds of thousands), then forget them; return how many. With `upto`, only those of
    batches numbered up to it (the caller knows every one of those has ended: none stages more)."""
    pending = CUTOVER_LEDGER_PENDING
    order = sa.tuple_(pending.c.batch_no, pending.c.ord)
    mine = [pending.c.run_id == run_id, *([pending.c.batch_no <= upto] if upto is not None else [])]
    done, after = 0, None
    while True:
        page = (sa.select(pending.c.batch_no, pending.c.ord, pending.c.body).where(*mine)
                .order_by(pending.c.batch_no, pending.c.ord).limit(page_size))
        if after is not None:
            page = page.where(order > sa.tuple_(*after))
        rows = conn.execute(page).all()
        if not rows:
            break
        append(conn, [json.loads(body) for _, _, body in rows])
        done, after = done + len(rows), rows[-1][:2]
    if after is not None:  # exactly what was read and appended: up to the last row read, in batch order
        conn.execute(sa.delete(pending).where(*mine, order <= sa.tuple_(*after)))
    return done


def batch_bodies(run_id: uuid.UUID, wave: str, batch_no: int, case_ids: list[int], counts: Mapping[str, int],
                 outcomes: list[CaseOutcome], findings: list[Finding],
                 left: Mapping[int, tuple[str | None, str]]) -> list[dict[str, Any]]:
    """The batch commit (with a digest of what it decided per case), then each finding and exclusion."""
    digest = hashlib.sha256("\n".join(
        f"{o.legacy_case_id}:{o.state}:{o.legacy_fingerprint}:{o.target_fingerprint or ''}"
        for o in sorted(outcomes, key=lambda o: o.legacy_case_id)).encode()).hexdigest()
    rid = str(run_id)
    bodies = [make_body("batch_committed", run_id=rid, wave=wave, batch_no=batch_no, first_case_id=min(case_ids),
                        last_case_id=max(case_ids), counts=dict(counts), digest=digest)]
    bodies += [make_body(f.action, run_id=rid, wave=wave, batch_no=batch_no, legacy_case_id=f.legacy_case_id,
                         legacy_ref=f.legacy_ref, rule=f.rule, defect=f.defect, entity=f.entity, field=f.field,
                         legacy_key=f.legacy_key) for f in findings]
    bodies += [make_body("exclude", run_id=rid, wave=wave, batch_no=batch_no, legacy_case_id=cid, legacy_ref=ref,
                         reason=reason) for cid, (ref, reason) in sorted(left.items())]
    return bodies
