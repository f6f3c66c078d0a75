"""Nationality text to ISO 3166-1 alpha-3 (ICAO for stateless and unknown)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy.refdata import NATIONALITY_FREE_TEXT, NATIONALITY_UNMAPPABLE, REF_NATIONALITY_ROWS
from migration.transform.nationality import NationalityMapper
from migration.transform.validate import NATIONALITY_CODES

MAPPER = NationalityMapper({code: iso3 for code, _, iso3 in REF_NATIONALITY_ROWS})


@pytest.mark.parametrize(("text", "iso3", "how"), [
    ("SYR", "SYR", "code"), ("SYRIA", "SYR", "code"), ("Syrian Arab Rep", "SYR", "free_text"),
    ("Viet Nam", "VNM", "free_text"), ("HKBNO", "HKG", "code"), ("STLS", "XXA", "code"), ("UNK", "XXX", "code"),
    ("Kurdish", "XXX", "unmappable"), (None, "XXX", "missing"), ("germany", "DEU", "free_text"),
])
def test_named_nationalities(text: str | None, iso3: str, how: str) -> None:
    assert MAPPER.map(text) == (iso3, how)


@pytest.mark.parametrize("text", NATIONALITY_FREE_TEXT)
def test_every_free_text_the_generator_uses_is_mappable(text: str) -> None:
    assert MAPPER.map(text)[1] == "free_text"


@pytest.mark.parametrize("text", NATIONALITY_UNMAPPABLE)
def test_unmappable_text_is_reported_as_such(text: str) -> None:
    assert MAPPER.map(text) == ("XXX", "unmappable")


@given(st.text(max_size=30))
def test_every_answer_is_a_valid_target_code(text: str) -> None:
    iso3, _ = MAPPER.map(text)
    assert iso3 in NATIONALITY_CODES
