"""The fork server that starts a local Dask cluster's workers: what it loads once for all of them,
and when a worker must start as a new interpreter instead."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

# What the fork server that starts the local workers loads once, for all of them (loaded by each
# worker instead, it costs about 2 CPU-seconds more of a run's start on two cores). Not Polars,
# nor anything that imports it: Polars starts threads as it loads (its allocator's, its memory
# manager's), and a process forked from one with threads may inherit a lock that no thread will
# ever release.
FORK_SERVER_PRELOAD = ("distributed", "prefect.task_engine", "prefect_dask", "sqlalchemy", "psycopg", "pandera")


def worker_start_method(folder: Path) -> str:
    """How local workers start: forked from a fork server (FORK_SERVER_PRELOAD loaded once), unless
    the working folder holds a module or package named like one of the standard library or of an
    installed distribution other than this project: Python 3.11's fork server loads the preload
    with the working folder first on its path, where such a module would stand in for the real
    one. Then each worker is a new interpreter (spawn), whose path is this process's."""
    try:
        present = _importable_names(folder)
    except OSError:  # a folder it may not list: nothing in it is known not to stand in
        return "spawn"
    return "spawn" if present & _names_a_fork_server_may_load() else "forkserver"


def _importable_names(folder: Path) -> set[str]:
    """The top-level modules and regular packages a folder on Python's path would provide."""
    names = set()
    for entry in folder.iterdir():
        if entry.is_file() and entry.suffix in (".py", ".pyc", ".so", ".pyd"):
            names.add(entry.name.split(".")[0])
        elif (entry / "__init__.py").exists():
            names.add(entry.name)
    return names


def _names_a_fork_server_may_load() -> set[str]:
    """The standard library's top-level modules and those of every installed distribution but this
    project's (which the fork server never loads)."""
    provided = importlib.metadata.packages_distributions()
    ours = set(provided.get(__name__.split(".")[0], []))
    return set(sys.stdlib_module_names) | {name for name, dists in provided.items() if not set(dists) <= ours}


def preload_fork_server() -> None:
    """Have the fork server, if Dask's configuration asks for one, load FORK_SERVER_PRELOAD (after
    Dask's own choice of modules, which it sets once per process)."""
    import dask
    from distributed.utils import get_mp_context

    if dask.config.get("distributed.worker.multiprocessing-method") == "forkserver":
        get_mp_context().set_forkserver_preload(list(FORK_SERVER_PRELOAD))
