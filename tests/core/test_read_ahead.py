"""read_ahead: the items in order, the next produced in one other thread while the caller works on
the current one, errors raised where their item would have come."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.read_ahead import read_ahead


@given(st.lists(st.integers()))
def test_every_item_comes_in_order(items: list[int]) -> None:
    assert list(read_ahead(iter(items))) == items


def test_the_next_item_is_produced_while_the_caller_works_on_this_one() -> None:
    produced = [threading.Event() for _ in range(3)]
    threads: set[int] = set()

    def producer() -> Iterator[int]:
        for n, event in enumerate(produced):
            threads.add(threading.get_ident())
            event.set()
            yield n

    seen = []
    for n in read_ahead(producer()):
        if n + 1 < len(produced):
            # Without reading ahead, nothing would produce item n + 1 until this loop asks for it.
            assert produced[n + 1].wait(timeout=10)
        seen.append(n)
    assert seen == [0, 1, 2]
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_an_error_comes_where_its_item_would_have() -> None:
    def producer() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("range 3 unreadable")

    got = []
    with pytest.raises(LookupError, match="range 3 unreadable"):
        for n in read_ahead(producer()):
            got.append(n)
    assert got == [1, 2]


def test_an_item_that_is_none_is_an_item() -> None:
    assert list(read_ahead(iter([None, 0, None]))) == [None, 0, None]
