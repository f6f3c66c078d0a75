"""Integers written once as an array's text, to send one list of keys many times."""

from __future__ import annotations

from collections.abc import Iterable


class JoinedInts(str):
    """Integers already written as an array's text, `{1,2,3}`, to send one list many times without
    writing it again (at a million keys each copy is ~8 MiB)."""

    __slots__ = ()


Ints = Iterable[int] | JoinedInts


def joined_ints(values: Ints) -> JoinedInts:
    """These integers as an array's text, written once."""
    return values if isinstance(values, JoinedInts) else JoinedInts("{" + ",".join(map(str, values)) + "}")


def int_list(values: Ints) -> list[int]:
    """These integers as a list, whether joined or not."""
    if isinstance(values, JoinedInts):
        return [int(v) for v in values[1:-1].split(",")] if len(values) > 2 else []
    return list(values)
