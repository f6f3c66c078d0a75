"""Control totals of the child rows of migrated cases, per entity and per wave, taken a chunk of
cases at a time so memory stays flat: each database counts and hash-totals the legacy keys (one
aggregate per wave, entity and side); only where they differ are totals taken per case, and only
the cases that differ have their keys read, to name the rows. Persons and addresses, reached
through parties, are checked by key."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cutover.db import int_array, key_list
from migration.target_schema import CASE, CUTOVER_FINDING
from reconciliation.compare import Discrepancy
from reconciliation.legacy_side import CHILD_ENTITIES, case_persons, person_addresses
from reconciliation.target_side import CASE_ENTITIES, PERSON_ENTITIES, person_findings, present_keys

MULTIPLIER, MODULUS = 2654435761, 2**32  # Knuth's multiplicative hash: portable integer SQL
COUNTED = ("legacy", "target", "dropped", "merged", "unexpected")
Totals = dict[int, tuple[int, int]]


def key_hash(column: sa.ColumnElement) -> sa.ColumnElement:
    """A well-spread 32-bit hash of an integer key, in SQL both engines run."""
    return (sa.cast(column, sa.BigInteger) * MULTIPLIER) % MODULUS


def _per_case(conn: Connection, pairs: sa.Select) -> Totals:
    """Count and hash total of the keys per case, from a SELECT of (case id, key)."""
    sub = pairs.subquery()
    case_col, key_col = list(sub.c)
    stmt = sa.select(case_col, sa.func.count(), sa.func.sum(key_hash(key_col))).group_by(case_col)
    return {int(c): (int(n), int(t)) for c, n, t in conn.execute(stmt)}


def _overall(conn: Connection, pairs: sa.Select) -> tuple[int, int]:
    """Count and hash total of all the keys, from a SELECT of (case id, key)."""
    sub = pairs.subquery()
    key_col = list(sub.c)[1]
    count, total = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(key_hash(key_col)), 0))).one()
    return int(count), int(total)


Pairs = Callable[[Connection, Sequence[int] | None], sa.Select]


class Chunk:
    """Migrated cases taken together: their CASE_IDs per wave, and on PostgreSQL the (case, wave)
    list as a table the server unnests from two arrays, built once for every aggregate."""

    def __init__(self, wave_of: dict[int, str]) -> None:
        ids = sorted(wave_of)
        self.by_wave: dict[str, list[int]] = defaultdict(list)
        for case_id in ids:
            self.by_wave[wave_of[case_id]].append(case_id)
        self.waves = list(self.by_wave)
        number = {wave: n for n, wave in enumerate(self.waves)}
        self.low, self.high = ids[0], ids[-1]
        self.cases = sa.func.unnest(int_array(ids), int_array(number[wave_of[c]] for c in ids)).table_valued(
            sa.column("case_id", sa.BigInteger), sa.column("wave", sa.Integer)).render_derived(name="chunk")


def wave_totals(conn: Connection, pairs: Pairs, chunk: Chunk) -> dict[str, tuple[int, int]]:
    """Count and hash total of the keys per wave, from `pairs(conn, case_ids)`, a SELECT of (case
    id, key). On PostgreSQL one aggregate joins the rows of the chunk's key range to its (case,
    wave) table; elsewhere one aggregate per wave."""
    if conn.dialect.name != "postgresql":
        return {wave: _overall(conn, pairs(conn, cases)) for wave, cases in chunk.by_wave.items()}
    sub = pairs(conn, None).subquery()
    case_col, key_col = list(sub.c)
    cases = chunk.cases
    stmt = (sa.select(cases.c.wave, sa.func.count(), sa.func.sum(key_hash(key_col)))
            .select_from(sub.join(cases, cases.c.case_id == case_col))
            .where(case_col.between(chunk.low, chunk.high)).group_by(cases.c.wave))
    return {chunk.waves[n]: (int(c), int(t)) for n, c, t in conn.execute(stmt)}


def _among(conn: Connection, column: sa.ColumnElement, case_ids: Sequence[int] | None) -> list[sa.ColumnElement[bool]]:
    return [] if case_ids is None else [key_list(conn, column, case_ids)]


def legacy_pairs(conn: Connection, entity: str, case_ids: Sequence[int] | None) -> sa.Select:
    """SELECT (CASE_ID, key) of CID's rows of an entity for these cases (None: every case)."""
    table, key, case_col = CHILD_ENTITIES[entity]
    return sa.select(table.c[case_col], table.c[key]).where(*_among(conn, table.c[case_col], case_ids))


def target_pairs(conn: Connection, entity: str, case_ids: Sequence[int] | None) -> tuple[sa.Select, sa.Select]:
    """SELECTs of (legacy CASE_ID, legacy key): the target's distinct rows of an entity for these
    cases (None: every case), and the dropped ones."""
    table, legacy_key = CASE_ENTITIES[entity]
    loaded = (sa.select(CASE.c.legacy_case_id, table.c[legacy_key]).join(CASE, CASE.c.case_id == table.c.case_id)
              .where(*_among(conn, CASE.c.legacy_case_id, case_ids)).distinct())
    gone = (sa.select(CUTOVER_FINDING.c.legacy_case_id, CUTOVER_FINDING.c.legacy_key).where(
        CUTOVER_FINDING.c.action == "drop", CUTOVER_FINDING.c.entity == entity,
        *_among(conn, CUTOVER_FINDING.c.legacy_case_id, case_ids)).distinct())
    return loaded, gone


def _keys(legacy: Connection, target: Connection, entity: str,
          case_ids: Sequence[int]) -> tuple[dict[int, int], dict[int, int], set[int]]:
    """Legacy key -> CASE_ID in CID and in the target, and the dropped keys, of these cases."""
    loaded, gone = target_pairs(target, entity, case_ids)
    cid = {key: case for case, key in legacy.execute(legacy_pairs(legacy, entity, case_ids))}
    tid = {key: case for case, key in target.execute(loaded)}
    return cid, tid, {key for _, key in target.execute(gone)}


class ChildTally:
    """Totals of the child rows of migrated cases, fed a chunk of (CASE_ID, wave) at a time in
    ascending CASE_ID order; every child row is in the target, dropped with a record, or merged."""

    def __init__(self, legacy: Connection, target: Connection, discrepancies: list[Discrepancy]) -> None:
        self.legacy, self.target, self.discrepancies = legacy, target, discrepancies
        self.counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        # A person shared by cases counts once, under the lowest migrated case that names it. Only
        # persons a later case still names are remembered (PERSON_ID -> that last case), so this
        # holds the persons shared across chunks, not every person counted so far.
        self.persons_seen: dict[int, int] = {}
        self.dropped, self.merged = person_findings(target)

    def add(self, chunk: Sequence[tuple[int, str]]) -> None:
        """Take the totals of these migrated cases (ascending CASE_IDs, each with its wave)."""
        if not chunk:
            return
        wave_of = dict(chunk)
        cases = Chunk(wave_of)
        for wave in cases.waves:
            for entity in (*PERSON_ENTITIES, *CASE_ENTITIES):
                self.counts[entity][wave].update(dict.fromkeys(COUNTED, 0))
        self._persons_and_addresses(sorted(wave_of), wave_of)
        for entity in CASE_ENTITIES:
            self._case_entity(entity, cases)

    def _persons_and_addresses(self, ids: list[int], wave_of: dict[int, str]) -> None:
        owned: dict[str, dict[int, list[int]]] = {"person": defaultdict(list), "address": defaultdict(list)}
        owner: dict[int, int] = {}
        for case_id, pid, last in case_persons(self.legacy, ids):
            if pid not in self.persons_seen and pid not in owner:
                owner[pid] = case_id
                owned["person"][case_id].append(pid)
                if last > ids[-1]:
                    self.persons_seen[pid] = last
        self.persons_seen = {pid: last for pid, last in self.persons_seen.items() if last > ids[-1]}
        for aid, pid in person_addresses(self.legacy, sorted(owner)):
            owned["address"][owner[pid]].append(aid)
        for entity, by_case in owned.items():
            keys = sorted(k for ks in by_case.values() for k in ks)
            present = present_keys(self.target, entity, keys)
            for case_id in sorted(by_case):
                expected = set(by_case[case_id])
                dropped = expected & self.dropped[entity]
                merged = expected & self.merged if entity == "person" else set()
                counts = self.counts[entity][wave_of[case_id]]
                counts["legacy"] += len(expected)
                counts["target"] += len(expected & present)
                counts["dropped"] += len(dropped - present)
                counts["merged"] += len(merged - present)
                for key in sorted(expected - present - dropped - merged):
                    self.discrepancies.append(Discrepancy("child_row_missing", entity, key, None, case_id,
                                                          wave_of[case_id]))

    def _case_entity(self, entity: str, chunk: Chunk) -> None:
        """Totals per wave (one grouped aggregate per side); per case only where a wave's totals differ."""
        in_cid = wave_totals(self.legacy, lambda c, cs: legacy_pairs(c, entity, cs), chunk)
        loaded = wave_totals(self.target, lambda c, cs: target_pairs(c, entity, cs)[0], chunk)
        dropped = wave_totals(self.target, lambda c, cs: target_pairs(c, entity, cs)[1], chunk)
        for wave, cases in chunk.by_wave.items():
            counts = self.counts[entity][wave]
            a, t, d = in_cid.get(wave, (0, 0)), loaded.get(wave, (0, 0)), dropped.get(wave, (0, 0))
            counts["legacy"] += a[0]
            counts["target"] += t[0]
            counts["dropped"] += d[0]
            if a == (t[0] + d[0], t[1] + d[1]):
                continue
            loaded_q, dropped_q = target_pairs(self.target, entity, cases)
            per_a = _per_case(self.legacy, legacy_pairs(self.legacy, entity, cases))
            per_t, per_d = _per_case(self.target, loaded_q), _per_case(self.target, dropped_q)
            differing = [c for c in cases if per_a.get(c, (0, 0)) != tuple(
                x + y for x, y in zip(per_t.get(c, (0, 0)), per_d.get(c, (0, 0)), strict=True))]
            self._name_rows(entity, wave, differing)

    def _name_rows(self, entity: str, wave: str, case_ids: list[int]) -> None:
        """Read the keys of cases whose totals differ; name what is missing or unexpected."""
        counts = self.counts[entity][wave]
        cid, tid, gone = _keys(self.legacy, self.target, entity, case_ids)
        counts["target"] -= len(set(tid) - set(cid))
        counts["dropped"] -= len(gone - set(cid)) + len(gone & set(tid) & set(cid))
        for key in sorted(set(cid) - set(tid) - gone):
            self.discrepancies.append(Discrepancy("child_row_missing", entity, key, None, cid[key], wave))
        for key in sorted(set(tid) - set(cid)):
            self.discrepancies.append(Discrepancy("unexpected_in_target", entity, key, None, tid[key], wave))
            counts["unexpected"] += 1

    def entity_rows(self, waves: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows per entity overall (case-keyed entities first); per-wave rows go into `waves`."""
        overall = []
        for entity in (*CASE_ENTITIES, *PERSON_ENTITIES):
            sums: Counter[str] = Counter(dict.fromkeys(COUNTED, 0))
            for counts in self.counts[entity].values():
                sums.update(counts)
            overall.append(_row(entity, sums))
        for wave, info in waves.items():
            info["entities"] = [_row(e, self.counts[e][wave]) for e in (*PERSON_ENTITIES, *CASE_ENTITIES)
                                if wave in self.counts[e]]
        return overall


def _row(entity: str, counts: Counter[str]) -> dict[str, Any]:
    accounted = counts["target"] + counts["dropped"] + counts["merged"]
    return {"entity": entity, **{k: int(counts[k]) for k in COUNTED},
            "balanced": accounted == counts["legacy"] and not counts["unexpected"]}
