"""Loaded by each local Dask worker as it starts (Dask's `preload`): the batch code, Prefect's
task engine and pandera's schemas are made ready while the plan is recorded and Prefect's
server starts, not when the first batch arrives."""

import prefect.task_engine  # noqa: F401
from prefect.context import refresh_global_settings_context

import flows.cutover_flows  # noqa: F401
from core.process import freeze_imports
from migration.transform.validate import warm_up

# A worker forked from the local cluster's fork server holds the Prefect settings read there, as
# Prefect loaded; its environment is the run's (flows.fork_server).
refresh_global_settings_context()
warm_up()
freeze_imports()
