"""Reconciliation: prove, from both databases on their own, that nothing was lost."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from reconciliation.compare import Discrepancy, Reconciliation, balance
from reconciliation.legacy_side import child_keys, in_flight_cases
from reconciliation.target_side import read_target


def reconcile(legacy: Engine, target: Engine, as_of: dt.date, *, wave: str | None = None,
              appeal_window_days: int = 14) -> Reconciliation:
    """Reconcile CID with the target as of a date, overall or for one wave."""
    with target.connect() as conn:
        target_side = read_target(conn)
    with legacy.connect() as conn:
        legacy_side = in_flight_cases(conn, as_of, appeal_window_days)
        child_keys(conn, legacy_side, target_side.migrated & set(legacy_side.in_flight))
    return balance(legacy_side, target_side, wave)


class Reconcile:
    """The reconciliation stage: `Reconcile.run(legacy_engine, target_engine, as_of)`."""

    run = staticmethod(reconcile)


__all__ = ["Discrepancy", "Reconcile", "Reconciliation", "reconcile"]
