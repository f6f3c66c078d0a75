"""Target keys: UUIDv8 that sort as the legacy row id leading their name, uuid5 of the name in the
project's namespace otherwise."""

from __future__ import annotations

import pickle
import uuid

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from migration.transform.keys import NAMESPACE, ORDERED_DIGITS, key, key_text, person_key, person_key_text
from migration.transform.lookups import keys_of

ROW_IDS = st.integers(min_value=0, max_value=10**ORDERED_DIGITS - 1)
parts = st.one_of(st.integers(min_value=-(2**63), max_value=2**63), st.text(max_size=40))
# Names whose first part is not a legacy row id: text that is not all ASCII digits, negative or
# longer numbers.
NOT_ROW_IDS = st.one_of(st.text(max_size=40).filter(lambda t: not (t.isascii() and t.isdigit())),
                        st.integers(max_value=-1), st.integers(min_value=10**ORDERED_DIGITS))


def _same_bits_as_uuid5_but_the_lead_and_version(got: uuid.UUID, name: str) -> bool:
    v5 = uuid.uuid5(NAMESPACE, name).int
    kept = (1 << 80) - 1 ^ (0xF << 76)  # below the 48-bit lead, less the version nibble
    return got.int & kept == v5 & kept


@given(st.text(min_size=1, max_size=30).filter(lambda e: "/" not in e), NOT_ROW_IDS, st.lists(parts, max_size=2))
def test_a_key_not_led_by_a_row_id_is_uuid5_of_the_joined_parts(entity: str, first: object,
                                                                   rest: list[object]) -> None:
    expected = uuid.uuid5(NAMESPACE, "/".join([entity, str(first), *map(str, rest)]))
    got = key(entity, first, *rest)
    assert got == expected and hash(got) == hash(expected) and str(got) == str(expected)
    assert got.version == 5 and got.variant == uuid.RFC_4122
    assert pickle.loads(pickle.dumps(got)) == expected and {got: 1}[expected] == 1


@given(st.text(min_size=1, max_size=30).filter(lambda e: "/" not in e), ROW_IDS, st.lists(parts, max_size=2))
def test_a_key_led_by_a_row_id_is_uuid8_beginning_with_its_digits(entity: str, row_id: int,
                                                                   rest: list[object]) -> None:
    name = "/".join([entity, str(row_id), *map(str, rest)])
    got = key(entity, row_id, *rest)
    assert got.version == 8 and got.variant == uuid.RFC_4122
    assert got.hex[:ORDERED_DIGITS] == str(row_id).zfill(ORDERED_DIGITS)
    assert _same_bits_as_uuid5_but_the_lead_and_version(got, name)
    assert str(got) == key_text(name)


@given(st.lists(ROW_IDS, min_size=2, max_size=30, unique=True), st.integers(0, 3))
def test_keys_sort_as_their_row_ids_on_both_engines(row_ids: list[int], part: int) -> None:
    # PostgreSQL compares uuid bytes in order; SQLite stores their hex text: both follow the hex.
    keys = {row_id: key("case_note", row_id, part) for row_id in row_ids}
    assert sorted(row_ids, key=lambda r: keys[r].bytes) == sorted(row_ids)
    assert sorted(row_ids, key=lambda r: keys[r].hex) == sorted(row_ids)


def test_known_keys_do_not_move() -> None:
    # Keys already written to targets: a change here would orphan every migrated row.
    assert key("case", 1) == uuid.UUID("00000000-0001-8c60-b178-9c48ccc58ec3")
    assert key("case_note", 42, 2) == uuid.UUID("00000000-0042-88d2-8ef9-29081cb5e8ce")
    assert person_key(7, " ab 12 ") == uuid.uuid5(NAMESPACE, "person/ho/AB12")
    assert person_key(7, None) == uuid.uuid5(NAMESPACE, "person/id/7")


@given(st.text(max_size=60))
def test_key_text_is_the_canonical_text_of_the_key(name: str) -> None:
    text = key_text(name)
    assert str(uuid.UUID(text)) == text
    assert uuid.UUID(text).version in (5, 8)


def test_a_column_of_keys_is_keyed_value_by_value_and_null_stays_null() -> None:
    values = pl.Series("CASE_ID", [3, None, 1, 3], dtype=pl.Int64)
    assert keys_of("case", values).to_list() == [str(key("case", 3)), None, str(key("case", 1)), str(key("case", 3))]
    assert person_key_text(7, " ab 12 ") == str(person_key(7, " ab 12 "))
    assert person_key_text(7, "  ") == str(person_key(7, None))
