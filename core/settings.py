"""Settings in one typed place (pydantic-settings): defaults, overridden by CUTOVER_* environment
variables, then by the command line's flags."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import CutoverError
from migration.rules import Rules, RulesError, current_rules, use_rules


class SettingsError(CutoverError):
    """A setting has a value that cannot be used."""


# Whole-number settings with their bounds: (name in messages, lowest, highest or None).
RANGES: dict[str, tuple[str, int, int | None]] = {
    "batch_size": ("batch size", 1, 100_000), "lanes": ("lanes", 1, 64), "threads": ("threads", 1, 64),
    "workers": ("workers", 1, 64),
}
# A batch pays its own costs whatever its size (a Prefect task run, on a Dask worker several
# times a thread's, its reads of CID, its statements to the target and their planning, its
# validation, its transaction): below MIN_BATCH they weigh on the batch's work. At 1,000,000 cases
# batches of 10,000 took a tenth less of the workers' CPU than batches of 5,000 (0.39 against 0.43
# ms a case) for a worker's peak of 625 MiB against 465; above MAX_BATCH memory grows on.
MIN_BATCH, MAX_BATCH = 1_000, 10_000
# Batches per lane in a wave, below MAX_BATCH: one. Each batch pays its own costs (see MIN_BATCH)
# and a wave's lanes start together; a second round of smaller batches pays them twice (at
# 100,000 cases, whose waves are all under MAX_BATCH a lane, the run takes 2 s longer).
BATCHES_PER_LANE = 1
# Local Dask workers at most, one per core below that: PostgreSQL and the run's own process need
# cores too, and more writers than this only queue on the target's locks.
MAX_LOCAL_WORKERS = 8
# CID cases from which a local Dask cluster pays: each worker process costs several CPU-seconds
# that a thread does not (its start, its imports, its first batches), while threads of one process
# share one core between them (the GIL), a loss that grows with the work. Below this size the
# start costs more than the second core gains (`bench/dask_workers.py` compares the two).
LOCAL_CLUSTER_MIN_CASES = 50_000


class Settings(BaseSettings):
    """Every tunable of the tool; each field is overridable by CUTOVER_<FIELD NAME IN UPPER CASE>."""

    model_config = SettingsConfigDict(env_prefix="CUTOVER_", frozen=True, extra="ignore")

    data_dir: Path = Path("data")
    legacy_url: str = ""
    target_url: str = ""
    batch_size: int | None = None  # cases per batch; None: chosen per wave (batch_size_for)
    lanes: int | None = None  # batches of a wave run at once (waves are cut into a multiple); None: the workers
    log_level: str = "INFO"
    threads: int | None = None  # threads of the run's process running batches
    workers: int | None = None  # processes of a local Dask cluster running batches
    retry_attempts: int = 5
    retry_max_wait_seconds: float = 30.0
    signing_key: Path | None = None
    checkpoints: Path | None = None
    log_origin: str = ""  # the ledger's origin for a new target; empty: a name and a fresh UUID
    dask_address: str = ""
    rules: Path | None = None  # a folder or file replacing shipped rules files (migration/rules/tables)
    # Polars' allocator settings (jemalloc's, as _RJEM_MALLOC_CONF takes them) that local workers add
    # after Polars' own and any the run was given; empty: none added.
    worker_allocator: str = "muzzy_decay_ms:-1"

    @model_validator(mode="before")
    @classmethod
    def _paths_under_data_dir(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        data = Path(values.get("data_dir") or "data")
        defaults = {"legacy_url": f"sqlite:///{data / 'legacy.db'}", "target_url": f"sqlite:///{data / 'target.db'}",
                    "signing_key": data / "keys" / "ledger-ed25519.pem"}
        return {**values, **{k: v for k, v in defaults.items() if not values.get(k)}}

    @field_validator(*RANGES)
    @classmethod
    def _in_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        name, low, high = RANGES[str(info.field_name)]
        setting = f"setting {info.field_name} (CUTOVER_{str(info.field_name).upper()})"
        if high is None and value < low:
            raise ValueError(f"{setting}: {name} must be at least {low}, got {value}")
        if high is not None and not low <= value <= high:
            raise ValueError(f"{setting}: {name} must be between {low} and {high}, got {value}")
        return value

    @property
    def rules_in_force(self) -> Rules:
        """The rules in force (`load_settings` puts the shipped files with `rules`' replacement in force)."""
        return current_rules()

    @property
    def appeal_window_days(self) -> int:
        """The appeal window of the rules in force (rules file dates.toml)."""
        return self.rules_in_force.appeal_window_days

    @property
    def older_case_months(self) -> int:
        """The older-case months of the rules in force (rules file dates.toml)."""
        return self.rules_in_force.older_case_months


def load_settings(**overrides: object) -> Settings:
    """Build settings from defaults, then CUTOVER_* variables, then explicit non-None overrides,
    and put their rules in force."""
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
        use_rules(settings.rules)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "value_error":  # one of the range checks above, worded for the reader
            raise SettingsError(first["msg"].removeprefix("Value error, ")) from None
        name = ".".join(str(p) for p in first["loc"])
        # The message names the setting and the fault, never the value (a URL can hold a password).
        raise SettingsError(f"setting {name} (CUTOVER_{name.upper()}): {first['msg']}") from None
    except RulesError as exc:
        raise SettingsError(str(exc)) from None
    return settings


@dataclass(frozen=True)
class Parallelism:
    """Where a run's batches run: on a named Dask cluster, on a local Dask cluster of `workers`
    processes, or on `threads` threads of the run's own process."""

    threads: int = 1
    workers: int | None = None
    dask_address: str | None = None

    def describe(self) -> str:
        """One line for the console (never the cluster's address: it is the operator's)."""
        if self.dask_address:
            return "batches on the named Dask cluster"
        if self.workers:
            return f"batches on a local Dask cluster of {self.workers} process(es)"
        return f"batches on {self.threads} thread(s)"


def usable_cores() -> int:
    """The cores this process may run on (its affinity, which containers and taskset narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def choose_parallelism(settings: Settings, target_url: str, cases: int, cores: int | None = None) -> Parallelism:
    """A named Dask cluster, local workers or threads as set; unset, chosen for the machine, the
    target and the CID's `cases`: on SQLite one thread (one writer at a time); on PostgreSQL with
    two cores or more and LOCAL_CLUSTER_MIN_CASES cases or more, a local Dask cluster of a process
    per core (the transform is CPU-bound Python: threads of one process take turns on one core);
    else two threads (one's database waits overlap the other's work)."""
    if settings.dask_address:
        return Parallelism(dask_address=settings.dask_address)
    if settings.workers:
        return Parallelism(workers=settings.workers)
    if settings.threads:
        return Parallelism(threads=settings.threads)
    if target_url.startswith("sqlite"):
        return Parallelism(threads=1)
    cores = usable_cores() if cores is None else cores
    if cores >= 2 and cases >= LOCAL_CLUSTER_MIN_CASES:
        return Parallelism(workers=min(cores, MAX_LOCAL_WORKERS))
    return Parallelism(threads=2)


def batch_size_for(cases: int, lanes: int) -> int:
    """The batch size of a wave of `cases` cases on `lanes` lanes: BATCHES_PER_LANE batches a
    lane, within MIN_BATCH and MAX_BATCH."""
    wanted = -(-cases // (max(lanes, 1) * BATCHES_PER_LANE))
    return max(MIN_BATCH, min(MAX_BATCH, wanted))
