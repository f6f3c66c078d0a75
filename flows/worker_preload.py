"""Loaded by each local Dask worker as it starts (Dask's `preload`): the batch code, Prefect's
task engine and pandera's schemas are made ready while the plan is recorded and Prefect's
server starts, not when the first batch arrives."""

import logging
import os
import signal
import threading

import prefect.task_engine  # noqa: F401
from prefect.context import refresh_global_settings_context

import flows.cutover_flows  # noqa: F401
from core.process import freeze_imports
from flows.environment import LOCAL_WORKER
from migration.transform.validate import warm_up

# A worker forked from the local cluster's fork server holds the Prefect settings read there, as
# Prefect loaded; its environment is the run's (flows.fork_server).
refresh_global_settings_context()
warm_up()
freeze_imports()
if os.environ.get(LOCAL_WORKER) and threading.current_thread() is threading.main_thread():
    # A worker of the run's own cluster: Ctrl-C reaches the terminal's whole process group, the
    # run's process stops the cluster, and a worker that took the interrupt too would only print a
    # traceback of its own as it went.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Its batch, cancelled as the run's process closes the cluster, is no news either.
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)
