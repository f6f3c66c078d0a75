"""Nationality text to ISO 3166-1 alpha-3: legacy codes first, then these aliases, then pycountry.

ICAO document 9303 codes stand in where ISO has none: XXA stateless, XXX unspecified."""

from __future__ import annotations

STATELESS = "XXA"
UNSPECIFIED = "XXX"
ICAO_CODES = frozenset({STATELESS, "XXB", "XXC", UNSPECIFIED})

# Free text CID accepted, upper-cased and trimmed, to ISO alpha-3 (demonyms pycountry lacks).
FREE_TEXT_ALIASES: dict[str, str] = {
    "SYRIAN ARAB REP": "SYR", "SYRIAN": "SYR", "ERITREAN": "ERI",
    "IRANIAN": "IRN", "VIET NAM": "VNM", "VIETNAMESE": "VNM", "SRI LANKAN": "LKA", "IRAQI": "IRQ",
    "SUDANESE": "SDN", "SOMALI": "SOM", "ALBANIAN": "ALB", "PAKISTANI": "PAK", "ETHIOPIAN": "ETH",
    "CHINESE": "CHN", "LIBYAN": "LBY", "IRAN": "IRN", "SYRIA": "SYR", "TURKEY": "TUR",
    "STATELESS": STATELESS, "NOT KNOWN": UNSPECIFIED, "UNKNOWN": UNSPECIFIED,
    "HONG KONG BNO": "HKG", "BNO": "HKG",
}
