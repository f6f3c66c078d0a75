"""What the cutover did with given cases, by their reference as stored in CID (no personal data)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from migration.rules.policies import POLICIES
from migration.target_schema import CASE, CUTOVER_CASE, CUTOVER_EXCLUSION, CUTOVER_FINDING, CUTOVER_PLAN, TASK


def _norm(ref: str) -> str:
    return "".join(ref.split()).upper()


def explain_cases(conn: Connection, refs: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """One entry per reference found; also the references the cutover has never seen."""
    known: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for table in (CUTOVER_PLAN, CUTOVER_EXCLUSION):
        for case_id, ref in conn.execute(sa.select(table.c.legacy_case_id, table.c.legacy_ref)):
            if ref is not None:
                known[ref].append((case_id, ref))
                known[_norm(ref)].append((case_id, ref))
    out, unknown = [], []
    for ref in refs:
        matches = known.get(ref) or known.get(_norm(ref)) or []
        if not matches:
            unknown.append(ref)
        for case_id in sorted({m[0] for m in matches}):
            out.append(_explain_one(conn, case_id, ref))
    return out, unknown


def _explain_one(conn: Connection, case_id: int, ref: str) -> dict[str, Any]:
    plan = conn.execute(sa.select(CUTOVER_PLAN).where(CUTOVER_PLAN.c.legacy_case_id == case_id)).mappings().first()
    excluded = conn.execute(sa.select(CUTOVER_EXCLUSION).where(
        CUTOVER_EXCLUSION.c.legacy_case_id == case_id)).mappings().first()
    state_row = conn.execute(sa.select(CUTOVER_CASE).where(CUTOVER_CASE.c.legacy_case_id == case_id)).mappings().first()
    target = conn.execute(sa.select(CASE.c.owning_unit, TASK.c.kind).select_from(
        CASE.outerjoin(TASK, TASK.c.case_id == CASE.c.case_id)).where(CASE.c.legacy_case_id == case_id)).first()
    if (plan is None and excluded is not None) or (state_row is not None and state_row["state"] == "excluded"):
        state = "excluded"
    elif state_row is not None and state_row["state"] in ("migrated", "quarantined"):
        state = state_row["state"]
    else:
        state = "pending"
    actions = [
        {"kind": r["action"], "defect": r["defect"], "rule": r["rule"], "entity": r["entity"], "field": r["field"],
         "legacy_key": r["legacy_key"], "reason": POLICIES[r["rule"]].fix if r["rule"] in POLICIES else None}
        for r in conn.execute(sa.select(CUTOVER_FINDING).where(CUTOVER_FINDING.c.legacy_case_id == case_id)
                              .order_by(CUTOVER_FINDING.c.finding_id)).mappings()
    ]
    return {
        "legacy_ref": ref, "legacy_case_id": case_id, "state": state, "wave": plan["wave"] if plan else None,
        "excluded_reason": excluded["reason"] if excluded and state == "excluded" else None,
        "owning_unit": target[0] if target else None, "next_task": target[1] if target else None,
        "actions": actions,
    }
