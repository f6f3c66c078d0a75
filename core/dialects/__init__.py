"""Each backend's differences in one module (PostgreSQL, SQLite), found by the dialect's name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from core.dialects import postgresql, sqlite
from core.dialects.ints import Ints


class Backend(Protocol):
    """The operations whose SQL or driver calls differ between the backends."""

    HAS_ROLES: bool

    def prepared_url(self, url: URL, *, must_exist: bool, read_only: bool) -> URL: ...

    def connect_args(self, *, read_only: bool) -> dict[str, Any]: ...

    def set_up(self, engine: Engine, *, read_only: bool) -> None: ...

    def key_list(self, column: sa.ColumnElement[Any], keys: Sequence[Any]) -> sa.ColumnElement[bool]: ...

    def uuid_keys(self, texts: list[str]) -> list[Any]: ...

    def int_table(self, conn: Connection, name: str, columns: dict[str, Ints]) -> sa.FromClause: ...

    def insert(self, table: sa.Table) -> Any: ...

    def copy_rows(self, conn: Connection, table: sa.Table, names: Sequence[str],
                  rows: Iterable[Mapping[str, Any]]) -> None: ...

    def copy_frame(self, conn: Connection, table: sa.Table, names: Sequence[str], frame: pl.DataFrame) -> None: ...

    def read_frame(self, conn: Connection, stmt: sa.Select[Any], schema: pl.Schema) -> pl.DataFrame: ...

    def savepoint(self, conn: Connection) -> AbstractContextManager[Any]: ...

    def may_skip_row_triggers(self, conn: Connection) -> bool: ...

    def skip_row_triggers(self, conn: Connection, skip: bool) -> None: ...

    def create_staging(self, conn: Connection, name: str, target: str) -> None: ...

    def snapshot(self, engine: Engine) -> AbstractContextManager[Connection]: ...

    def set_local(self, conn: Connection, setting: str, value: str) -> None: ...

    def compress_cheaply(self, conn: Connection) -> None: ...

    def settle(self, engine: Engine) -> None: ...

    def append_lock(self, conn: Connection, key: int) -> None: ...

    def field_hash_int(self, text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]: ...

    def hex8(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]: ...

    def row_hash64(self, conn: Connection, table: sa.Table, seed: int, null_text: str) -> sa.ColumnElement[Any]: ...


BACKENDS: dict[str, Backend] = {"postgresql": postgresql, "sqlite": sqlite}


def dialect_named(name: str) -> Backend:
    """The backend module for a dialect's name (SQLite's rules for any other)."""
    return BACKENDS.get(name, sqlite)


def dialect_of(bind: Connection | Engine) -> Backend:
    """The backend module for a connection's or an engine's dialect."""
    return dialect_named(bind.dialect.name)
