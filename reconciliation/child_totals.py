"""Control totals of the child rows of migrated cases, per entity and per wave, computed by each
database (count and a hash total of the legacy keys); only an (entity, wave) whose totals differ
has its keys read, to name the rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cutover.db import key_list
from migration.target_schema import CASE, CUTOVER_FINDING
from reconciliation.compare import Discrepancy
from reconciliation.legacy_side import CHILD_ENTITIES
from reconciliation.target_side import CASE_ENTITIES

CHUNK = 100_000
MULTIPLIER, MODULUS = 2654435761, 2**32  # Knuth's multiplicative hash: portable integer SQL


def key_hash(column: sa.ColumnElement) -> sa.ColumnElement:
    """A well-spread 32-bit hash of an integer key, in SQL both engines run."""
    return (sa.cast(column, sa.BigInteger) * MULTIPLIER) % MODULUS


def _sum(conn: Connection, inner: sa.Select) -> tuple[int, int]:
    sub = inner.subquery()
    column = next(iter(sub.c))
    count, total = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(key_hash(column)), 0))).one()
    return int(count), int(total)


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i:i + CHUNK]) for i in range(0, len(ids), CHUNK)]


Span = tuple[int, int] | None


def legacy_totals(conn: Connection, entity: str, case_ids: Sequence[int], span: Span = None) -> tuple[int, int]:
    """Count and hash total of CID's rows of an entity for these cases (keys within `span`)."""
    table, key, case_col = CHILD_ENTITIES[entity]
    within = [table.c[key].between(*span)] if span else []
    count = total = 0
    for chunk in _chunks(case_ids):
        c, t = _sum(conn, sa.select(table.c[key]).where(key_list(conn, table.c[case_col], chunk), *within))
        count, total = count + c, total + t
    return count, total


def target_totals(conn: Connection, entity: str, case_ids: Sequence[int],
                  span: Span = None) -> tuple[tuple[int, int], tuple[int, int]]:
    """(count, hash total) of the target's distinct legacy keys, and of the dropped ones, for these
    cases (keys within `span`)."""
    table, legacy_key = CASE_ENTITIES[entity]
    within = [table.c[legacy_key].between(*span)] if span else []
    dropped_within = [CUTOVER_FINDING.c.legacy_key.between(*span)] if span else []
    loaded = dropped = (0, 0)
    for chunk in _chunks(case_ids):
        rows = (sa.select(table.c[legacy_key]).join(CASE, CASE.c.case_id == table.c.case_id)
                .where(key_list(conn, CASE.c.legacy_case_id, chunk), *within).distinct())
        gone = (sa.select(CUTOVER_FINDING.c.legacy_key).where(
            CUTOVER_FINDING.c.action == "drop", CUTOVER_FINDING.c.entity == entity,
            key_list(conn, CUTOVER_FINDING.c.legacy_case_id, chunk), *dropped_within).distinct())
        a, b = _sum(conn, rows), _sum(conn, gone)
        loaded, dropped = (loaded[0] + a[0], loaded[1] + a[1]), (dropped[0] + b[0], dropped[1] + b[1])
    return loaded, dropped


def _keys(legacy: Connection, target: Connection, entity: str, case_ids: Sequence[int], span: tuple[int, int]):  # type: ignore[no-untyped-def]
    table, key, case_col = CHILD_ENTITIES[entity]
    t_table, legacy_key = CASE_ENTITIES[entity]
    cid, tid = {}, {}
    dropped: set[int] = set()
    for chunk in _chunks(case_ids):
        cid.update(dict(legacy.execute(sa.select(table.c[key], table.c[case_col]).where(
            key_list(legacy, table.c[case_col], chunk), table.c[key].between(*span))).all()))
        tid.update(dict(target.execute(sa.select(t_table.c[legacy_key], CASE.c.legacy_case_id).join(
            CASE, CASE.c.case_id == t_table.c.case_id).where(key_list(target, CASE.c.legacy_case_id, chunk),
                                                           t_table.c[legacy_key].between(*span))).all()))
        dropped |= set(target.execute(sa.select(CUTOVER_FINDING.c.legacy_key).where(
            CUTOVER_FINDING.c.action == "drop", CUTOVER_FINDING.c.entity == entity,
            key_list(target, CUTOVER_FINDING.c.legacy_case_id, chunk),
            CUTOVER_FINDING.c.legacy_key.between(*span))).scalars())
    return cid, tid, dropped


LEAF_ROWS, FANOUT = 64, 16


def _narrow(legacy: Connection, target: Connection, entity: str, ids: Sequence[int], span: tuple[int, int],
            wave: str, row: dict[str, Any], discrepancies: list[Discrepancy]) -> None:
    """Recurse into the key ranges whose totals differ; name the rows only in the smallest ones."""
    in_cid = legacy_totals(legacy, entity, ids, span)
    loaded, dropped = target_totals(target, entity, ids, span)
    if in_cid == (loaded[0] + dropped[0], loaded[1] + dropped[1]):
        return
    lo, hi = span
    if max(in_cid[0], loaded[0] + dropped[0]) > LEAF_ROWS and hi > lo:
        width = max(1, -(-(hi - lo + 1) // FANOUT))
        for start in range(lo, hi + 1, width):
            _narrow(legacy, target, entity, ids, (start, min(hi, start + width - 1)), wave, row, discrepancies)
        return
    cid, tid, gone = _keys(legacy, target, entity, ids, span)
    row["target"] -= len(set(tid) - set(cid))
    row["dropped"] -= len(gone - set(cid)) + len(gone & set(tid) & set(cid))
    for key in sorted(set(cid) - set(tid) - gone):
        discrepancies.append(Discrepancy("child_row_missing", entity, key, None, cid[key], wave))
    for key in sorted(set(tid) - set(cid)):
        discrepancies.append(Discrepancy("unexpected_in_target", entity, key, None, tid[key], wave))
        row["unexpected"] += 1


def case_child_totals(legacy: Connection, target: Connection, migrated_by_wave: dict[str, set[int]],
                      waves: dict[str, dict[str, Any]], discrepancies: list[Discrepancy]) -> list[dict[str, Any]]:
    """Per entity (and per wave in `waves`): legacy = target + dropped, by count and hash total."""
    overall = []
    for entity in CASE_ENTITIES:
        sums = {"legacy": 0, "target": 0, "dropped": 0, "merged": 0, "unexpected": 0}
        for wave, cases in migrated_by_wave.items():
            ids = sorted(cases)
            cid_side = legacy_totals(legacy, entity, ids)
            loaded, dropped = target_totals(target, entity, ids)
            row = {"legacy": cid_side[0], "target": loaded[0], "dropped": dropped[0], "merged": 0, "unexpected": 0}
            if cid_side != (loaded[0] + dropped[0], loaded[1] + dropped[1]):
                _narrow(legacy, target, entity, ids, (0, 2**31 - 1), wave, row, discrepancies)
            row["balanced"] = row["legacy"] == row["target"] + row["dropped"] and not row["unexpected"]
            if wave in waves:
                waves[wave].setdefault("entities", []).append({"entity": entity, **row})
            for k in sums:
                sums[k] += int(row[k])
        overall.append({"entity": entity, **sums,
                        "balanced": sums["legacy"] == sums["target"] + sums["dropped"] and not sums["unexpected"]})
    return overall
