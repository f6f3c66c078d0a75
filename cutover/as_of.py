"""The sticky as-of date: the one the target recorded is kept unless a later one is asked for."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cutover.guards import GuardError
from migration.target_schema import CUTOVER_PLAN, CUTOVER_RUN


def recorded_as_of(engine: Engine) -> dt.date | None:
    """The target's as-of date: the latest any run or plan recorded (None before the first run)."""
    tables = set(sa.inspect(engine).get_table_names())
    dates: list[dt.date] = []
    with engine.connect() as conn:
        for table in (CUTOVER_RUN, CUTOVER_PLAN):
            if table.name in tables:
                latest = conn.execute(sa.select(sa.func.max(table.c.as_of))).scalar()
                if latest is not None:
                    dates.append(latest if isinstance(latest, dt.date) else dt.date.fromisoformat(str(latest)))
    return max(dates, default=None)


def choose_as_of(given: dt.date | None, recorded: dt.date | None) -> dt.date:
    """The as-of date a run uses: the recorded one unless a later one is given; never an earlier one."""
    if given is None:
        if recorded is None:
            raise GuardError("the target has no recorded as-of date: give --as-of YYYY-MM-DD (the day the "
                             "cutover judges cases in flight on)")
        return recorded
    return not_before(given, recorded)


def not_before(given: dt.date, recorded: dt.date | None, what: str = "the target's recorded as-of") -> dt.date:
    """`given`, unless it is earlier than the recorded date: no command judges the target on a day
    before the one it was migrated on (every case run since would look unexpected)."""
    if recorded is not None and given < recorded:
        raise GuardError(f"--as-of {given.isoformat()} is earlier than {what} {recorded.isoformat()}; "
                         "the as-of date never moves backwards")
    return given


def resync_changes(legacy: Engine, target: Engine, as_of: dt.date, *, appeal_window_days: int | None = None,
                   older_months: int | None = None) -> tuple[int, int]:
    """What moving the as-of date to `as_of` does: (planned cases that leave flight, cases that
    join the catch-up wave). Reads both databases, writes neither."""
    from migration.plan import PlannedCase, classify_cases
    from migration.target_schema import CUTOVER_CASE

    with target.connect() as conn:
        planned = set(conn.execute(sa.select(CUTOVER_PLAN.c.legacy_case_id)).scalars())
        gone = set(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id)
                                .where(CUTOVER_CASE.c.state == "excluded")).scalars())
    leaving = joining = 0
    with legacy.connect() as conn:
        for case in classify_cases(conn, as_of, appeal_window_days=appeal_window_days, older_months=older_months):
            if isinstance(case, PlannedCase):
                joining += case.case_id not in planned
            else:
                leaving += case.case_id in planned and case.case_id not in gone
    return leaving, joining


def wave_as_of(engine: Engine, wave: str) -> dt.date | None:
    """The as-of date a wave last ran at (None if it never ran): the date to judge it on."""
    if CUTOVER_RUN.name not in sa.inspect(engine).get_table_names():
        return None
    with engine.connect() as conn:
        latest = conn.execute(sa.select(sa.func.max(CUTOVER_RUN.c.as_of)).where(CUTOVER_RUN.c.wave == wave)).scalar()
    return latest if latest is None or isinstance(latest, dt.date) else dt.date.fromisoformat(str(latest))
