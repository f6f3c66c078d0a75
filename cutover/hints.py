"""Hints the tool prints: whole commands that work when pasted."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from core.credentials import parse_url


def command_line(words: Iterable[str], *, legacy: str | None = None, target: str | None = None) -> str:
    """A whole `cutover ...` command to paste, with the databases given on this command line
    (a URL's password left out: it comes from the environment or ~/.pgpass)."""
    parts = ["cutover", *words]
    for flag, url in (("--legacy", legacy), ("--target", target)):
        if url:
            parts += [flag, without_password(url)]
    return shlex.join(parts)


def without_password(url: str) -> str:
    """The URL with its password left out (libpq then reads PGPASSWORD or ~/.pgpass)."""
    try:
        parsed = parse_url(url)
    except ArgumentError:
        return url
    if not parsed.password and "password" not in parsed.query:
        return url
    return URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database,
                      parsed.difference_update_query(["password"]).query).render_as_string(hide_password=False)
