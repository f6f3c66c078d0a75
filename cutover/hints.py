"""Hints the tool prints: whole commands that work when pasted."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


def command_line(words: Iterable[str], *, legacy: str | None = None, target: str | None = None) -> str:
    """A whole `cutover ...` command to paste, with the databases given on this command line
    (a URL's password left out: it comes from the environment or ~/.pgpass)."""
    parts = ["cutover", *words]
    for flag, url in (("--legacy", legacy), ("--target", target)):
        if url:
            parts += [flag, _without_password(url)]
    return shlex.join(parts)


def _without_password(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if not parsed.password:
        return url
    return URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database,
                      parsed.query).render_as_string(hide_password=False)
