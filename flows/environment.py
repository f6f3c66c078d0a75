"""Prefect's environment, set before Prefect is imported: its own home, no telemetry, quiet logs."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_prefect_environment(data_dir: Path) -> None:
    """Default PREFECT_HOME under the data folder (one SQLite store per project, no sharing
    across concurrent test runs), analytics off offline, Prefect's console logs at WARNING, and
    time for the local server's first start."""
    os.environ.setdefault("PREFECT_HOME", str((data_dir / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    # A first start builds Prefect's database (15-20 s on two busy cores); its default of 20 s
    # to wait for the local server fails a cutover on a loaded machine for no reason.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
