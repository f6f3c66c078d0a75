"""Control totals of the child rows of migrated cases, per entity and per wave. The list of
migrated cases and their waves is sent to each database as one table: each counts and
hash-totals the legacy keys of those cases' rows per wave in one aggregate per entity and side;
only where a wave's totals differ are totals taken per case, and only the cases that differ have
their keys read, to name the rows. Persons and addresses, reached through parties, are matched
by key inside CID's database, the target's keys sent a page at a time. Held in memory: 9 bytes a
migrated case, and one page of keys."""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.db import JoinedInts, int_table, joined_ints, key_list
from migration.target_schema import CASE, CUTOVER_FINDING
from reconciliation.compare import Discrepancy
from reconciliation.legacy_side import CHILD_ENTITIES, WAVE_SLOTS, owned_rows
from reconciliation.target_side import CASE_ENTITIES, PERSON_ENTITIES, keys_held, person_findings, present_key_pages

MULTIPLIER, MODULUS = 2654435761, 2**32  # Knuth's multiplicative hash: portable integer SQL
COUNTED = ("legacy", "target", "dropped", "merged", "unexpected")
PAGE = 200_000  # target keys of persons (or addresses) matched in CID at a time
Totals = dict[int, tuple[int, int]]


def key_hash(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A well-spread 32-bit hash of an integer key, in SQL both engines run."""
    return (sa.cast(column, sa.BigInteger) * MULTIPLIER) % MODULUS


def _per_case(conn: Connection, pairs: sa.Select[Any]) -> Totals:
    """Count and hash total of the keys per case, from a SELECT of (case id, key)."""
    sub = pairs.subquery()
    case_col, key_col = list(sub.c)
    stmt = sa.select(case_col, sa.func.count(), sa.func.sum(key_hash(key_col))).group_by(case_col)
    return {int(c): (int(n), int(t)) for c, n, t in conn.execute(stmt)}


class Migrated:
    """The migrated in-flight cases in ascending CASE_ID order, each with its wave, held in two
    compact arrays (9 bytes a case) and sent to a database as one table (case_id, wave number)."""

    def __init__(self) -> None:
        self.ids, self.wave_no = array("q"), array("B")
        self.waves: list[str] = []
        self._number: dict[str, int] = {}
        self._joined: tuple[JoinedInts, JoinedInts] | None = None

    def add(self, case_id: int, wave: str) -> None:
        """Add a case (CASE_IDs come in ascending order)."""
        number = self._number.get(wave)
        if number is None:
            number = self._number[wave] = len(self.waves)
            self.waves.append(wave)
        self.ids.append(case_id)
        self.wave_no.append(number)
        self._joined = None

    def __len__(self) -> int:
        return len(self.ids)

    def joined(self) -> tuple[JoinedInts, JoinedInts]:
        """The CASE_IDs and wave numbers as text, joined once (they are sent with many statements)."""
        if self._joined is None:
            self._joined = joined_ints(self.ids), joined_ints(self.wave_no)
        return self._joined

    def table(self, conn: Connection) -> sa.FromClause:
        """The cases as a table of (case_id, wave) for one statement on this connection."""
        case_ids, waves = self.joined()
        return int_table(conn, "migrated", {"case_id": case_ids, "wave": waves})

    def of_wave(self, wave: str) -> list[int]:
        """The CASE_IDs of one wave, ascending."""
        number = self._number[wave]
        return [case_id for case_id, n in zip(self.ids, self.wave_no, strict=True) if n == number]


def wave_totals(conn: Connection, pairs: sa.Select[Any], migrated: Migrated) -> dict[str, tuple[int, int]]:
    """Count and hash total per wave of the keys of the migrated cases, from `pairs`, a SELECT of
    (case id, key) over every case: one aggregate joined to the table of migrated cases."""
    sub = pairs.subquery()
    case_col, key_col = list(sub.c)
    cases = migrated.table(conn)
    stmt = (sa.select(cases.c.wave, sa.func.count(), sa.func.sum(key_hash(key_col)))
            .select_from(sub.join(cases, cases.c.case_id == case_col)).group_by(cases.c.wave))
    return {migrated.waves[int(n)]: (int(c), int(t)) for n, c, t in conn.execute(stmt)}


def _among(conn: Connection, column: sa.ColumnElement[Any],
           case_ids: Sequence[int] | None) -> list[sa.ColumnElement[bool]]:
    return [] if case_ids is None else [key_list(conn, column, case_ids)]


def legacy_pairs(conn: Connection, entity: str, case_ids: Sequence[int] | None) -> sa.Select[Any]:
    """SELECT (CASE_ID, key) of CID's rows of an entity for these cases (None: every case)."""
    table, key, case_col = CHILD_ENTITIES[entity]
    return sa.select(table.c[case_col], table.c[key]).where(*_among(conn, table.c[case_col], case_ids))


def target_pairs(conn: Connection, entity: str,
                 case_ids: Sequence[int] | None) -> tuple[sa.Select[Any], sa.Select[Any]]:
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
    """Totals of the child rows of migrated cases: every child row is in the target, dropped with
    a record, or merged."""

    def __init__(self, legacy: Connection, target: Connection, discrepancies: list[Discrepancy],
                 page_size: int = PAGE) -> None:
        self.legacy, self.target, self.discrepancies = legacy, target, discrepancies
        self.page_size = page_size
        self.counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))

    def add(self, migrated: Migrated, spare: tuple[Connection, Connection] | None = None) -> None:
        """Take the totals of the child rows of these migrated cases; given a spare pair of
        connections (CID, target), the case-keyed entities are totalled on them meanwhile."""
        if not migrated:
            return
        for wave in migrated.waves:
            for entity in (*PERSON_ENTITIES, *CASE_ENTITIES):
                self.counts[entity][wave].update(dict.fromkeys(COUNTED, 0))
        migrated.joined()  # once, before two threads send it
        found: list[Discrepancy] = []
        if spare is None:
            self._person_entities(migrated)
            self._case_entities(migrated, self.legacy, self.target, found)
        else:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-cases") as pool:
                cases = pool.submit(self._case_entities, migrated, *spare, found)
                self._person_entities(migrated)
                cases.result()
        self.discrepancies.extend(found)  # after the persons', as when run in turn

    def _person_entities(self, migrated: Migrated) -> None:
        """Persons and addresses, range by range of PERSON_ID."""
        dropped, merged = person_findings(self.target)
        for entity, (_, key, person) in PERSON_ENTITIES.items():
            for low, high, page in present_key_pages(self.target, entity, self.page_size):
                # Ranges are of PERSON_ID: an address key cannot be placed in one, so every range
                # is sent all the dropped addresses (few).
                span = (low, high) if key == person else (None, None)
                found = {"present": page, "dropped": _within(dropped[entity], *span),
                         "merged": _within(merged, *span) if entity == "person" else []}
                self._match_keys(entity, migrated, low, high, found)

    def _case_entities(self, migrated: Migrated, legacy: Connection, target: Connection,
                       out: list[Discrepancy]) -> None:
        """The entities keyed by case, on these connections."""
        for entity in CASE_ENTITIES:
            self._case_entity(entity, migrated, legacy, target, out)

    def _match_keys(self, entity: str, migrated: Migrated, low: int | None, high: int | None,
                    found: dict[str, list[int]]) -> None:
        """Persons (or their addresses) with PERSON_ID in (low, high] (None: open), each owned by
        the lowest migrated case naming the person, counted per wave in CID's database against the
        target's keys there that are present, dropped and merged; those that are none of these,
        and not in the target under another person either, are named."""
        owned = owned_rows(entity, migrated.table(self.legacy), low, high).subquery("owned")
        tables = {name: int_table(self.legacy, name, {"key": keys}) for name, keys in found.items()}
        joined: sa.FromClause = owned
        for table in tables.values():
            joined = joined.outerjoin(table, table.c.key == owned.c.key)
        is_present, is_dropped, is_merged = (tables[n].c.key.is_not(None) for n in ("present", "dropped", "merged"))

        def number(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        wave = owned.c.owner % WAVE_SLOTS
        totals = sa.select(wave, sa.func.count(), number(is_present), number(~is_present & is_dropped),
                           number(~is_present & ~is_dropped & is_merged)).select_from(joined).group_by(wave)
        unaccounted = False
        for n, expected, present, dropped, merged in self.legacy.execute(totals):
            counts = self.counts[entity][migrated.waves[int(n)]]
            counts["legacy"] += int(expected)
            counts["target"] += int(present)
            counts["dropped"] += int(dropped)
            counts["merged"] += int(merged)
            unaccounted = unaccounted or int(expected) != int(present) + int(dropped) + int(merged)
        if unaccounted:
            missing = (sa.select(owned.c.key, owned.c.owner).select_from(joined)
                       .where(~is_present, ~is_dropped, ~is_merged).order_by(owned.c.owner, owned.c.key))
            candidates = [(int(key), int(owner)) for key, owner in self.legacy.execute(missing)]
            # A row CID now files under another person than the target does sits in another range.
            elsewhere = keys_held(self.target, entity, [key for key, _ in candidates])
            for key, owner in candidates:
                case_id, n = divmod(owner, WAVE_SLOTS)
                if key in elsewhere:
                    self.counts[entity][migrated.waves[n]]["target"] += 1
                else:
                    self.discrepancies.append(Discrepancy("child_row_missing", entity, key, None, case_id,
                                                          migrated.waves[n]))

    def _case_entity(self, entity: str, migrated: Migrated, legacy: Connection, target: Connection,
                     out: list[Discrepancy]) -> None:
        """Totals per wave (one grouped aggregate per side); per case only where a wave's totals differ."""
        in_cid = wave_totals(legacy, legacy_pairs(legacy, entity, None), migrated)
        loaded_all, dropped_all = target_pairs(target, entity, None)
        loaded = wave_totals(target, loaded_all, migrated)
        dropped = wave_totals(target, dropped_all, migrated)
        for wave in migrated.waves:
            counts = self.counts[entity][wave]
            a, t, d = in_cid.get(wave, (0, 0)), loaded.get(wave, (0, 0)), dropped.get(wave, (0, 0))
            counts["legacy"] += a[0]
            counts["target"] += t[0]
            counts["dropped"] += d[0]
            if a == (t[0] + d[0], t[1] + d[1]):
                continue
            cases = migrated.of_wave(wave)
            loaded_q, dropped_q = target_pairs(target, entity, cases)
            per_a = _per_case(legacy, legacy_pairs(legacy, entity, cases))
            per_t, per_d = _per_case(target, loaded_q), _per_case(target, dropped_q)
            differing = [c for c in cases if per_a.get(c, (0, 0)) != tuple(
                x + y for x, y in zip(per_t.get(c, (0, 0)), per_d.get(c, (0, 0)), strict=True))]
            self._name_rows(entity, wave, differing, legacy, target, out)

    def _name_rows(self, entity: str, wave: str, case_ids: list[int], legacy: Connection, target: Connection,
                   out: list[Discrepancy]) -> None:
        """Read the keys of cases whose totals differ; name what is missing or unexpected."""
        counts = self.counts[entity][wave]
        cid, tid, gone = _keys(legacy, target, entity, case_ids)
        counts["target"] -= len(set(tid) - set(cid))
        counts["dropped"] -= len(gone - set(cid)) + len(gone & set(tid) & set(cid))
        for key in sorted(set(cid) - set(tid) - gone):
            out.append(Discrepancy("child_row_missing", entity, key, None, cid[key], wave))
        for key in sorted(set(tid) - set(cid)):
            out.append(Discrepancy("unexpected_in_target", entity, key, None, tid[key], wave))
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


def _within(keys: set[int], low: int | None, high: int | None) -> list[int]:
    """These keys in (low, high] (None: open), ascending."""
    return sorted(k for k in keys if (low is None or k > low) and (high is None or k <= high))


def _row(entity: str, counts: Counter[str]) -> dict[str, Any]:
    accounted = counts["target"] + counts["dropped"] + counts["merged"]
    return {"entity": entity, **{k: int(counts[k]) for k in COUNTED},
            "balanced": accounted == counts["legacy"] and not counts["unexpected"]}
