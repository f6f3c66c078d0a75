"""The quarantine worklist, the operations team's to-do list: what to fix in CID, grouped by fix,
each case with its legacy owning unit, CASE_ID and CASE_REF as CID holds them when the report is made."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from legacy.schema import CASE_HDR
from migration.rules.policies import POLICIES
from migration.target_schema import CUTOVER_CASE, CUTOVER_EXCLUSION, CUTOVER_FINDING

WORKLIST_FIELDS = ("owning_unit", "case_id", "case_ref", "wave", "rule", "reason", "where", "fix", "pair_case_ids")
COLLISION_RULE = "case.reference_collision"
_CHUNK = 500
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class WorkItem:
    """One thing to fix on one quarantined case."""

    owning_unit: str
    case_id: int
    case_ref: str
    wave: str
    rule: str
    reason: str
    where: str
    fix: str
    pair_case_ids: str  # for a reference collision: the CASE_IDs holding the same reference, else empty


@dataclass(frozen=True)
class FixGroup:
    """The work items that one fix answers."""

    rule: str
    reason: str
    fix: str
    items: list[WorkItem]


def worklist(target: Connection, legacy: Connection, wave: str | None) -> list[WorkItem]:
    """Every quarantine finding of the wave's quarantined cases, by owning unit then CASE_ID."""
    scope = [CUTOVER_CASE.c.wave == wave] if wave else []
    rows = target.execute(
        sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.legacy_ref, CUTOVER_CASE.c.wave,
                  CUTOVER_FINDING.c.rule, CUTOVER_FINDING.c.entity, CUTOVER_FINDING.c.field, CUTOVER_FINDING.c.defect)
        .join(CUTOVER_FINDING, CUTOVER_FINDING.c.legacy_case_id == CUTOVER_CASE.c.legacy_case_id)
        .where(CUTOVER_CASE.c.state == "quarantined", CUTOVER_FINDING.c.action == "quarantine", *scope)
        .order_by(CUTOVER_CASE.c.legacy_case_id, CUTOVER_FINDING.c.finding_id)).all()
    headers = _headers(legacy, sorted({r.legacy_case_id for r in rows}))
    pairs = _collision_pairs(legacy, sorted({r.legacy_case_id for r in rows if r.rule == COLLISION_RULE}))
    items = []
    for r in rows:
        ref, unit = headers.get(r.legacy_case_id, (r.legacy_ref or "", ""))
        policy = POLICIES[r.rule]
        where = f"{r.entity}.{r.field or '*'}" + (f" ({r.defect})" if r.defect else "")
        others = " ".join(str(c) for c in pairs.get(r.legacy_case_id, ())) if r.rule == COLLISION_RULE else ""
        items.append(WorkItem(owning_unit=unit, case_id=r.legacy_case_id, case_ref=ref, wave=r.wave, rule=r.rule,
                              reason=policy.label, where=where, fix=policy.fix, pair_case_ids=others))
    return sorted(items, key=lambda i: (i.owning_unit, i.case_id, i.rule))


def pair_states(target: Connection, items: Iterable[WorkItem]) -> dict[int, tuple[str, str]]:
    """CASE_ID -> (wave, state) of the cases the items name as collision pairs: one may be in another
    wave, or not in flight (no wave, its reason of exclusion)."""
    wanted = sorted({int(c) for i in items for c in i.pair_case_ids.split()})
    found: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(wanted):
        for cid, wave, state in target.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.wave,
                                                         CUTOVER_CASE.c.state)
                                               .where(CUTOVER_CASE.c.legacy_case_id.in_(chunk))):
            found[cid] = (wave, state)
        for cid, reason in target.execute(sa.select(CUTOVER_EXCLUSION.c.legacy_case_id, CUTOVER_EXCLUSION.c.reason)
                                          .where(CUTOVER_EXCLUSION.c.legacy_case_id.in_(chunk))):
            found.setdefault(cid, ("", f"excluded: {reason}"))
    return found


def group_by_fix(items: Iterable[WorkItem]) -> list[FixGroup]:
    """The items grouped by the fix they need, the biggest group first; the cases of one colliding
    reference next to each other."""
    groups: dict[str, list[WorkItem]] = defaultdict(list)
    for item in items:
        groups[item.rule].append(item)
    collisions = groups.get(COLLISION_RULE, [])
    collisions.sort(key=lambda i: (min([i.case_id, *(int(c) for c in i.pair_case_ids.split())]), i.case_id))
    return sorted((FixGroup(rule, POLICIES[rule].label, POLICIES[rule].fix, its) for rule, its in groups.items()),
                  key=lambda g: (-len(g.items), g.rule))


def worklist_csv(items: Iterable[WorkItem]) -> str:
    """The worklist as CSV text; a CID value a spreadsheet would run as a formula is kept as text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=WORKLIST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _as_text(v) for k, v in asdict(i).items()} for i in items)
    return out.getvalue()


def _as_text(value: object) -> object:
    # CID's free-typed references and unit codes could start a formula in a spreadsheet (CSV injection)
    return f"'{value}" if isinstance(value, str) and value[:1] in _FORMULA_STARTS else value


def _chunks(values: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _headers(legacy: Connection, case_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """CASE_ID -> (CASE_REF as stored, OWNING_UNIT_CD), read from CID."""
    found: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(case_ids):
        for cid, ref, unit in legacy.execute(sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.CASE_REF,
                                                       CASE_HDR.c.OWNING_UNIT_CD)
                                             .where(CASE_HDR.c.CASE_ID.in_(chunk))):
            found[cid] = (ref or "", (unit or "").strip())
    return found


def _reference_key(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """A CASE_REF compared as references collide: spaces and letter case ignored."""
    return sa.func.upper(sa.func.replace(column, " ", ""))


def _collision_pairs(legacy: Connection, case_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """CASE_ID -> the other CASE_IDs whose CASE_REF is the same once spaces and case are ignored."""
    keys: set[str] = set()
    for chunk in _chunks(case_ids):
        keys |= set(legacy.execute(sa.select(_reference_key(CASE_HDR.c.CASE_REF))
                                   .where(CASE_HDR.c.CASE_ID.in_(chunk))).scalars())
    holders: dict[str, list[int]] = defaultdict(list)
    ordered = sorted(k for k in keys if k)
    for start in range(0, len(ordered), _CHUNK):
        key = _reference_key(CASE_HDR.c.CASE_REF)
        for ref_key, cid in legacy.execute(sa.select(key, CASE_HDR.c.CASE_ID)
                                           .where(key.in_(ordered[start:start + _CHUNK]))
                                           .order_by(CASE_HDR.c.CASE_ID)):
            holders[ref_key].append(cid)
    pairs: dict[int, tuple[int, ...]] = {}
    for held in holders.values():
        for cid in held:
            pairs[cid] = tuple(c for c in held if c != cid)
    return pairs
