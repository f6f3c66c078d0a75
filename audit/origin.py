"""The log's identity (its origin): made once with the target, kept in it, named by every checkpoint."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from audit.note import valid_name
from core.errors import CutoverError
from migration.target_schema import CUTOVER_LOG

PREFIX = "cutover.local/"


def new_origin() -> str:
    """A fresh origin, unique to one target: a name and a UUID."""
    return f"{PREFIX}{uuid.uuid4()}"


def read_origin(conn: Connection) -> str | None:
    """The target's origin, or None when its log has none yet."""
    if not sa.inspect(conn).has_table(CUTOVER_LOG.name):
        return None
    return conn.execute(sa.select(CUTOVER_LOG.c.origin).limit(1)).scalar()


def ensure_origin(conn: Connection, configured: str | None = None) -> str:
    """The target's origin, created from `configured` (or a fresh one) when it has none yet."""
    if configured and not valid_name(configured):
        raise CutoverError("the log origin must be non-empty, with no spaces and no '+' (CUTOVER_LOG_ORIGIN)")
    stored = read_origin(conn)
    if stored is None:
        stored = configured or new_origin()
        conn.execute(CUTOVER_LOG.insert().values(origin=stored, created_at=dt.datetime.now(dt.UTC)))
    elif configured and configured != stored:
        raise CutoverError(f"this target's log is {stored!r}, not {configured!r} (CUTOVER_LOG_ORIGIN)")
    return stored


def origin_slug(origin: str) -> str:
    """A file name for an origin: its readable characters and a short hash (distinct origins never share one)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", origin).strip("-.")[:80]
    return f"{readable}-{hashlib.sha256(origin.encode()).hexdigest()[:8]}"


def checkpoints_file(data_dir: Path, origin: str) -> Path:
    """Where the checkpoints of one origin are kept outside the target: data/checkpoints/<slug>.jsonl."""
    return Path(data_dir) / "checkpoints" / f"{origin_slug(origin)}.jsonl"
