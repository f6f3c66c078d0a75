"""Database passwords kept out of everything stored: flows are given URLs with the password masked,
and the process that opens a database puts the password back from where the operator keeps it."""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    from migration.run import RunConfig

Side = Literal["legacy", "target"]
MASK = "***"


def parse_url(url: str) -> URL:
    """The URL parsed, its password whole even when it holds an unescaped `@` (the last `@` before
    the host ends the password, as libpq reads it); raise ArgumentError when it is not a URL."""
    scheme, sep, rest = url.partition("://")
    base, question, query = rest.partition("?")
    userinfo, at, hostpath = base.rpartition("@")  # a host and a database name hold no `@`
    if sep and at and any(c in userinfo for c in "@/?#"):
        user, colon, password = userinfo.partition(":")
        url = f"{scheme}://{user}{':' + quote(password, safe='') if colon else ''}@{hostpath}{question}{query}"
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number fails here, as the rest of a bad URL does
    except ValueError as exc:
        raise ArgumentError("not a database URL") from exc
    return parsed


def masked(url: str) -> str:
    """The URL with its password replaced by `***` (a URL without one, or not a URL, unchanged)."""
    try:
        parsed = parse_url(url)
    except ArgumentError:
        return url
    if "password" in parsed.query:  # libpq takes one from the query too
        parsed = parsed.update_query_dict({"password": MASK})
    elif parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)


def masked_config(cfg: RunConfig) -> RunConfig:
    """The run configuration with both URLs masked: what Prefect may store and show."""
    return dataclasses.replace(cfg, legacy_url=masked(cfg.legacy_url), target_url=masked(cfg.target_url))


def resolved_config(cfg: RunConfig) -> RunConfig:
    """The run configuration with both passwords put back (see `resolve`)."""
    return dataclasses.replace(cfg, legacy_url=resolve(cfg.legacy_url, "legacy"),
                               target_url=resolve(cfg.target_url, "target"))


def resolve(url: str, side: Side) -> str:
    """The URL to connect with. A masked password is looked up, in order: CUTOVER_<SIDE>_URL when it
    names the same user, host, port and database; the Prefect Secret block named by
    CUTOVER_<SIDE>_PASSWORD_BLOCK; else it is dropped, and libpq reads PGPASSWORD or ~/.pgpass."""
    try:
        parsed = parse_url(url)
    except ArgumentError:
        return url
    if MASK not in (parsed.password, parsed.query.get("password")):
        return url
    password = _from_environment(parsed, side) or _from_secret_block(side)
    query = parsed.difference_update_query(["password"]).query
    found = URL.create(parsed.drivername, parsed.username, password, parsed.host, parsed.port, parsed.database,
                       query)
    return found.render_as_string(hide_password=False)


def remember(url: str, side: Side) -> None:
    """Make a URL given on the command line findable by `resolve` in this process and the local
    workers it starts (their environment is inherited; nothing is written anywhere)."""
    try:
        parsed = parse_url(url)
        has_password = parsed.password is not None or "password" in parsed.query
    except ArgumentError:
        return
    if has_password:
        os.environ[f"CUTOVER_{side.upper()}_URL"] = url


def _from_environment(wanted: URL, side: Side) -> str | None:
    raw = os.environ.get(f"CUTOVER_{side.upper()}_URL")
    if not raw:
        return None
    try:
        known = parse_url(raw)
    except ArgumentError:
        return None
    same = (known.username, known.host, known.port or 5432, known.database) == (
        wanted.username, wanted.host, wanted.port or 5432, wanted.database)
    password = known.password or known.query.get("password")
    return password if same and isinstance(password, str) and password != MASK else None


def _from_secret_block(side: Side) -> str | None:
    name = os.environ.get(f"CUTOVER_{side.upper()}_PASSWORD_BLOCK")
    return _secret(name) if name else None


@functools.lru_cache(maxsize=8)
def _secret(name: str) -> str | None:
    """A Secret block's value, read once per process (each batch resolves its URLs)."""
    from prefect.blocks.system import Secret

    block = cast("Secret[Any]", Secret.load(name))  # called from sync code: the block itself, not a coroutine
    value = block.get()
    return value if isinstance(value, str) else None
