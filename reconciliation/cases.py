"""Balance the two sides: conservation of cases per wave, child rows, control totals; every
difference becomes a discrepancy. Both sides are streamed in key order, so memory stays flat."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Connection

from migration.rules.waves import CATCH_UP, wave_order
from reconciliation.child_totals import PAGE, ChildTally, Migrated
from reconciliation.compare import TOTAL_KEYS, Discrepancy, Reconciliation
from reconciliation.legacy_side import classified_cases
from reconciliation.target_side import case_records, completed_waves

Target = tuple[int, str | None, str | None, bool]  # legacy CASE_ID, planned wave, state, has a case row


def case_state(target: Target | None, completed_waves: set[str]) -> tuple[str, str | None]:
    """How an in-flight case stands in the target: (state, the kind of discrepancy or None)."""
    _, planned, state, loaded = target if target is not None else (0, None, None, False)
    if loaded:
        return ("migrated", None) if state == "migrated" else ("unexplained", "unexpected_in_target")
    if state == "quarantined":
        return "quarantined", None
    if state == "migrated" or (planned is not None and planned in completed_waves):
        return "unexplained", "missing_in_target"
    return "pending", None


def merged_by_key(left: Iterator[tuple[Any, ...]], right: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, Any, Any]]:
    """Merge two streams sorted by their first item: (key, left row or None, right row or None)."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            yield a[0], a, None
            a = next(left, None)
        elif a is None or b[0] < a[0]:
            yield b[0], None, b
            b = next(right, None)
        else:
            yield a[0], a, b
            a, b = next(left, None), next(right, None)


def balance(legacy: Connection, target: Connection, reading: tuple[Connection, Connection], as_of: dt.date,
            appeal_window_days: int, page_size: int = PAGE) -> Reconciliation:
    """Walk CID's cases and the target's record of them side by side in key order (two streams),
    count every in-flight case per wave, and take child totals of the migrated ones on the
    `reading` connections (CID, target); only the migrated cases' keys and waves are held (9
    bytes a case)."""
    result = Reconciliation()
    waves: dict[str, Counter[str]] = {w: Counter() for w in wave_order()}
    completed = completed_waves(target)
    migrated = Migrated()
    excluded = 0
    for case_id, cid, tgt in merged_by_key(classified_cases(legacy, as_of, appeal_window_days), case_records(target)):
        wave = (tgt[1] if tgt is not None else None) or CATCH_UP
        if cid is not None and cid[1] is not None:
            excluded += 1
        if cid is None or cid[1] is not None:
            if tgt is not None and tgt[3]:
                result.discrepancies.append(Discrepancy("unexpected_in_target", "case", case_id, None, case_id, wave))
            continue
        state, problem = case_state(tgt, completed)
        waves[wave]["in_flight"] += 1
        waves[wave][state] += 1
        if problem:
            field = "state" if problem == "unexpected_in_target" else None
            result.discrepancies.append(Discrepancy(problem, "case", case_id, field, case_id, wave))
        if state == "migrated":
            migrated.add(case_id, wave)
    tally = ChildTally(*reading, result.discrepancies, page_size)
    tally.add(migrated, spare=(legacy, target))  # the streams are read: their connections help
    for wave, counts in waves.items():
        result.waves[wave] = {k: counts.get(k, 0) for k in TOTAL_KEYS if k != "excluded"}
        result.waves[wave]["entities"] = []
    for key in TOTAL_KEYS:
        result.totals[key] = sum(int(w.get(key, 0)) for w in result.waves.values())
    result.totals["excluded"] = excluded
    result.entities = tally.entity_rows(result.waves)
    return result
