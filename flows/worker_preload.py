"""Loaded by each local Dask worker as it starts (Dask's `preload`): the batch code and Prefect's
task engine are imported while the plan is recorded, not when the first batch arrives."""

import prefect.task_engine  # noqa: F401

import flows.cutover_flows  # noqa: F401
