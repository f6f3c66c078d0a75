"""How a wave is cut into batches: what the command fixed, else what an interrupted run of the
wave recorded (a resume cuts the same batches), else chosen for the wave's size and the lanes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa

from core.credentials import resolve
from core.settings import batch_size_for
from migration.run import RunConfig, engine_for
from migration.target_schema import CUTOVER_PLAN, CUTOVER_RUN


@dataclass(frozen=True)
class Cut:
    """The batch size and lanes the command fixed (flags or CUTOVER_* settings); None: chosen."""

    batch_size: int | None = None
    lanes: int | None = None


def cut_wave(cfg: RunConfig, wave: str, fixed: Cut, lanes_running: int) -> RunConfig:
    """`cfg` with the wave's batch size and lanes: those fixed; for the rest, those of the wave's
    interrupted run at the same as-of date (with the fixed ones), else `lanes_running` lanes and
    a batch size for the wave's planned cases on them. Only the target's URL and the as-of date
    of `cfg` are read (its URLs may be masked: the target is opened by the resolved one)."""
    with engine_for(resolve(cfg.target_url, "target")).connect() as conn:
        interrupted = conn.execute(sa.select(CUTOVER_RUN.c.batch_size, CUTOVER_RUN.c.lanes).where(
            CUTOVER_RUN.c.wave == wave, CUTOVER_RUN.c.status == "running", CUTOVER_RUN.c.as_of == cfg.as_of,
            CUTOVER_RUN.c.batch_size.is_not(None), CUTOVER_RUN.c.lanes.is_not(None),
            *([CUTOVER_RUN.c.batch_size == fixed.batch_size] if fixed.batch_size else []),
            *([CUTOVER_RUN.c.lanes == fixed.lanes] if fixed.lanes else []))
            .order_by(CUTOVER_RUN.c.started_at.desc()).limit(1)).first()
        if interrupted is not None:
            return dataclasses.replace(cfg, batch_size=interrupted.batch_size, lanes=interrupted.lanes)
        lanes = fixed.lanes or lanes_running
        if fixed.batch_size:
            return dataclasses.replace(cfg, batch_size=fixed.batch_size, lanes=lanes)
        cases = conn.execute(sa.select(sa.func.count()).where(CUTOVER_PLAN.c.wave == wave)).scalar() or 0
    return dataclasses.replace(cfg, batch_size=batch_size_for(int(cases), lanes), lanes=lanes)
