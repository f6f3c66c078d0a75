"""Target keys are RFC 4122 UUIDv5 of `entity/part/...` in the project's namespace."""

from __future__ import annotations

import pickle
import uuid

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from migration.transform.keys import NAMESPACE, key, key_text, person_key, person_key_text
from migration.transform.lookups import keys_of

parts = st.one_of(st.integers(min_value=-(2**63), max_value=2**63), st.text(max_size=40))


@given(st.text(min_size=1, max_size=30), st.lists(parts, max_size=3))
def test_key_is_uuid5_of_the_joined_parts(entity: str, legacy: list[object]) -> None:
    expected = uuid.uuid5(NAMESPACE, "/".join([entity, *map(str, legacy)]))
    got = key(entity, *legacy)
    assert got == expected and hash(got) == hash(expected) and str(got) == str(expected)
    assert got.version == 5 and got.variant == uuid.RFC_4122
    assert pickle.loads(pickle.dumps(got)) == expected and {got: 1}[expected] == 1


def test_known_keys_do_not_move() -> None:
    # Keys already written to targets: a change here would orphan every migrated row.
    assert key("case", 1) == uuid.uuid5(NAMESPACE, "case/1")
    assert person_key(7, " ab 12 ") == uuid.uuid5(NAMESPACE, "person/ho/AB12")
    assert person_key(7, None) == uuid.uuid5(NAMESPACE, "person/id/7")


@given(st.text(max_size=60))
def test_key_text_is_the_canonical_text_of_uuid5(name: str) -> None:
    assert key_text(name) == str(uuid.uuid5(NAMESPACE, name))


def test_a_column_of_keys_is_keyed_value_by_value_and_null_stays_null() -> None:
    values = pl.Series("CASE_ID", [3, None, 1, 3], dtype=pl.Int64)
    assert keys_of("case", values).to_list() == [str(key("case", 3)), None, str(key("case", 1)), str(key("case", 3))]
    assert person_key_text(7, " ab 12 ") == str(person_key(7, " ab 12 "))
    assert person_key_text(7, "  ") == str(person_key(7, None))
