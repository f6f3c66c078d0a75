"""Map CID's nationality text to ISO 3166-1 alpha-3 (ICAO codes for stateless and unknown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pycountry

from migration.rules.nationalities import STATELESS, UNSPECIFIED

MatchKind = Literal["code", "free_text", "unmappable", "missing"]


class NationalityMapper:
    """Looks text up in CID's own code table, then the aliases of the rules, then pycountry."""

    def __init__(self, legacy_codes: Mapping[str, str | None], aliases: Mapping[str, str] | None = None) -> None:
        if aliases is None:
            from migration.rules.loader import current_rules

            aliases = current_rules().nationality_aliases
        self.codes = {code.upper(): iso3 for code, iso3 in legacy_codes.items()}
        self.aliases = aliases
        self.cache: dict[str, tuple[str, MatchKind]] = {}

    def map(self, text: str | None) -> tuple[str, MatchKind]:
        """The ISO alpha-3 (or ICAO) code for the text and how it was found."""
        if text is None or not text.strip():
            return UNSPECIFIED, "missing"
        key = " ".join(text.split()).upper()
        if key not in self.cache:
            self.cache[key] = self._lookup(key)
        return self.cache[key]

    def _lookup(self, key: str) -> tuple[str, MatchKind]:
        if key in self.codes:
            iso3 = self.codes[key]
            if iso3:
                return iso3, "code"
            return (STATELESS if key.startswith("ST") else UNSPECIFIED), "code"
        if key in self.aliases:
            return self.aliases[key], "free_text"
        try:
            country = pycountry.countries.lookup(key)
        except LookupError:
            return UNSPECIFIED, "unmappable"
        return country.alpha_3, "free_text"
