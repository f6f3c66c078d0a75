"""Reconciliation: prove, from both databases on their own, that nothing was lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from core.dialects import dialect_of
from migration.rules import current_rules
from migration.rules.waves import wave_order
from reconciliation.attribution import attributed
from reconciliation.cases import balance
from reconciliation.changes import changed_since_migration
from reconciliation.compare import Discrepancy, Reconciliation, UnknownWave, distinct, restricted
from reconciliation.fields import check_fields
from reconciliation.integrity import check_integrity

STEPS = 4
T = TypeVar("T")


def reconcile(legacy: Engine, target: Engine, as_of: dt.date, *, wave: str | None = None,
              appeal_window_days: int | None = None, progress: Callable[[int], None] | None = None) -> Reconciliation:
    """Reconcile CID with the target as of a date, overall or for one wave (every check runs,
    and the result is the overall one restricted to the wave); `progress` is told of each of
    the STEPS steps as it ends. The checks that load one database each (integrity on
    the target, fingerprints on CID, field checks) run side by side with the balance, so both
    servers work at once; each streams or pages, so memory does not grow with the data."""
    step = progress or (lambda done: None)
    if appeal_window_days is None:
        appeal_window_days = current_rules().appeal_window_days

    def then_step(work: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            out = work()
            step(1)
            return out
        return run

    if wave is not None and wave not in wave_order():
        raise UnknownWave(f"unknown wave; the waves are {', '.join(wave_order())}")
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="reconcile") as pool:
        tampered_job = pool.submit(then_step(lambda: _on(target, check_integrity)))
        changed_job = pool.submit(then_step(lambda: _on_both(legacy, target, changed_since_migration)))
        fields_job = pool.submit(then_step(lambda: _on_both(legacy, target, check_fields)))
        with ExitStack() as stack:
            l_stream, t_stream, l_read, t_read = (stack.enter_context(_session(e)) for e in (legacy, target) * 2)
            result = balance(l_stream, t_stream, (l_read, t_read), as_of, appeal_window_days)
            step(1)
        tampered, changed, mismatched = tampered_job.result(), changed_job.result(), fields_job.result()
    result.discrepancies.extend(tampered)
    changed_cases = set(changed)
    result.discrepancies.extend(d for d in mismatched if not (d.entity == "case" and d.legacy_key in changed_cases))
    result.discrepancies.extend(Discrepancy("changed_since_migration", "case", case_id, None, case_id)
                                for case_id in changed)
    with _session(legacy) as legacy_conn, _session(target) as target_conn:
        result.discrepancies = attributed(legacy_conn, target_conn, distinct(result.discrepancies))
    return result if wave is None else restricted(result, wave)


@contextmanager
def _session(engine: Engine) -> Iterator[Connection]:
    """A connection for one check. The checks already run side by side, so PostgreSQL's parallel
    workers would only add their start and coordination; and the planner cannot see the size of
    a list of keys sent as one parameter, so it would compile short aggregates to machine code
    (JIT) at more cost than running them. No compiled-statement cache: a cached statement keeps
    the values it was first compiled with, and reconciliation's statements carry whole key lists
    (about 100 MiB of them at a million cases), while it compiles each of its few statements
    about once anyway."""
    with engine.connect() as conn:
        conn.execution_options(compiled_cache=None)
        backend = dialect_of(conn)  # SET LOCAL: until the connection closes
        backend.set_local(conn, "max_parallel_workers_per_gather", "0")
        backend.set_local(conn, "jit", "off")
        yield conn


def _on(engine: Engine, check: Callable[[Connection], T]) -> T:
    with _session(engine) as conn:
        return check(conn)


def _on_both(legacy: Engine, target: Engine, check: Callable[[Connection, Connection], T]) -> T:
    with _session(legacy) as legacy_conn, _session(target) as target_conn:
        return check(legacy_conn, target_conn)


__all__ = ["Discrepancy", "Reconciliation", "UnknownWave", "reconcile"]
