"""The cyclic garbage collector pauses around bulk work and comes back as it was."""

from __future__ import annotations

import gc
import threading

from cutover.collector import collector_paused


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_comes_back_even_when_the_work_fails() -> None:
    try:
        with collector_paused():
            raise ValueError("a batch failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_it_comes_back_only_when_the_last_thread_leaves() -> None:
    first_inside, second_inside, first_may_leave, first_left = (threading.Event() for _ in range(4))
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_inside.set()
            first_may_leave.wait(5)
        first_left.set()

    def second() -> None:
        first_inside.wait(5)
        with collector_paused():
            second_inside.set()
            first_left.wait(5)
            seen.append(gc.isenabled())  # the first thread has left, this one is still inside
        seen.append(gc.isenabled())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    second_inside.wait(5)
    first_may_leave.set()
    for t in threads:
        t.join(5)
    assert seen == [False, True]
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    """An object that can sit in a reference cycle and be watched by a weak reference."""

    other: _Node | None = None


def test_a_thread_that_leaves_while_another_is_inside_collects_its_own_cycles() -> None:
    import weakref

    first_inside, second_may_leave, checked = threading.Event(), threading.Event(), threading.Event()
    watched: list[weakref.ref[_Node]] = []
    alive_after_second_left: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_inside.set()
            checked.wait(5)  # stays inside the whole time: the collector is never switched back on

    def second() -> None:
        first_inside.wait(5)
        with collector_paused():
            a, b = _Node(), _Node()
            a.other, b.other = b, a  # a cycle: reference counting alone never frees it
            watched.append(weakref.ref(a))
            del a, b
            second_may_leave.wait(5)
        alive_after_second_left.append(watched[0]() is not None)
        checked.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    second_may_leave.set()
    for t in threads:
        t.join(5)
    assert alive_after_second_left == [False]
    assert gc.isenabled()
