"""Digests of whole databases, to show a command left both of them exactly as it found them."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def digest(url: str) -> str:
    """SQLite: the md5 of the database file's bytes and the names of the files beside it (after
    folding any write-ahead log in, so only a write can change it; a WAL-mode database's -wal and
    -shm files come and go with its readers); PostgreSQL: the md5 of every
    table's name, columns and sorted rows. A database that does not exist digests as "absent"."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not path.exists():
            return "absent"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        beside = sorted(p.name for p in path.parent.iterdir()
                        if p.name.startswith(path.name) and not p.name.endswith(("-wal", "-shm")))
        return hashlib.md5(path.read_bytes() + repr(beside).encode()).hexdigest()
    engine = sa.create_engine(parsed.set(drivername="postgresql+psycopg"))
    try:
        out = hashlib.md5()
        with engine.connect() as conn:
            metadata = sa.MetaData()
            metadata.reflect(conn)
            for name in sorted(metadata.tables):
                table = metadata.tables[name]
                out.update(f"{name}{[c.name for c in table.columns]}".encode())
                rows = sorted(repr(tuple(r)) for r in conn.execute(sa.select(table)))
                out.update("\n".join(rows).encode())
        return out.hexdigest()
    finally:
        engine.dispose()
