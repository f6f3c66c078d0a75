"""The run's legacy reference in each process that runs batches: read once ahead of the first
batch, kept by run token (no Prefect here: the command reads it while Prefect still loads)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from core.credentials import resolved_config
from migration.extract import LegacyReference, read_reference
from migration.run import RunConfig, engine_for

# The legacy reference of the latest runs, by run token, in this process (a long-lived worker
# serves run after run: only the latest few are kept).
_REFERENCES: dict[str, LegacyReference] = {}
_KEEPING = threading.Lock()  # batches on threads keep and evict side by side
KEPT_REFERENCES = 4


def legacy_reference(legacy_url: str, token: str) -> LegacyReference:
    """The run's legacy reference in this process: the one kept ahead for it, else read once (it
    holds Home Office refs, so it is never a task or flow parameter that Prefect would store)."""
    reference = _REFERENCES.get(token)
    if reference is None:
        with engine_for(legacy_url, read_only=True).connect() as conn:
            reference = read_reference(conn)
        keep_reference(token, reference)
    return reference


def keep_reference(token: str, reference: LegacyReference) -> None:
    """Keep the run's legacy reference in this process for its batches."""
    with _KEEPING:
        _REFERENCES[token] = reference
        while len(_REFERENCES) > KEPT_REFERENCES:
            _REFERENCES.pop(next(iter(_REFERENCES)))


def reference_ahead(cfg: RunConfig, token: str) -> Callable[[], None]:
    """Read the run's legacy reference once, in the command's own process while the plan is
    recorded, and return what keeps it in a batch process (each worker of a local cluster, where
    Dask hands it over in memory, or this process): the batches then neither wait for its
    aggregates over all of CID nor run them once per worker."""
    cfg = resolved_config(cfg)
    with engine_for(cfg.legacy_url, read_only=True).connect() as conn:
        return functools.partial(keep_reference, token, read_reference(conn))
