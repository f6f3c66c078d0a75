"""The streamed balance: two key-ordered streams merged without holding either."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconciliation.cases import case_state, merged_by_key

keys = st.lists(st.integers(min_value=0, max_value=500), unique=True).map(sorted)


@given(keys, keys)
def test_merge_meets_every_key_once_in_order(left: list[int], right: list[int]) -> None:
    merged = list(merged_by_key(iter([(k, "L") for k in left]), iter([(k, "R") for k in right])))
    assert [k for k, _, _ in merged] == sorted(set(left) | set(right))
    for k, a, b in merged:
        assert (a is not None) == (k in left) and (b is not None) == (k in right)


def test_case_states_follow_the_target_record() -> None:
    completed = {"uasc"}
    assert case_state((1, "uasc", "migrated", True), completed) == ("migrated", None)
    assert case_state((1, "uasc", "quarantined", True), completed) == ("unexplained", "unexpected_in_target")
    assert case_state((1, "uasc", "quarantined", False), completed) == ("quarantined", None)
    assert case_state((1, "uasc", None, False), completed) == ("unexplained", "missing_in_target")
    assert case_state((1, "rest", None, False), completed) == ("pending", None)
    assert case_state(None, completed) == ("pending", None)
    assert case_state((1, None, "migrated", False), completed) == ("unexplained", "missing_in_target")
