"""Prefect's environment, set before Prefect is imported: its own home, no telemetry, quiet logs."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_prefect_environment(data_dir: Path) -> None:
    """Default PREFECT_HOME under the data folder (one SQLite store per project, no sharing
    across concurrent test runs), analytics off offline, and Prefect's console logs at WARNING."""
    os.environ.setdefault("PREFECT_HOME", str((data_dir / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "false")
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
