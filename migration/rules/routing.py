"""Who owns a migrated case (first match wins, postcode regions last) and its next task.

From the Asylum Operations casework specialisms (seeds/004): cohort hubs first, then nationality
specialisms, then the postcode region."""

from __future__ import annotations

from migration.rules.matching import Rule

UNITS: dict[str, str] = {
    "DAC": "Detained Asylum Casework",
    "SHEFFIELD": "Sheffield (high profile cases)",
    "NSA": "Non-Suspensive Appeals",
    "LIVERPOOL": "Liverpool (UASC, China, Syria)",
    "MIDLANDS": "Midlands (UASC, Libya)",
    "GLASGOW": "Glasgow (older cases)",
    "LEEDS": "Leeds (remote interviewing; Afghanistan, Iran)",
    "MERSEY": "Mersey (Eritrea, Ethiopia, Hong Kong BN(O), Pakistan, Turkey)",
    "NEWCASTLE": "Newcastle (Somalia, Sri Lanka)",
    "WALES": "Wales (Iraq, Sudan, Vietnam)",
    "RESETTLEMENT": "UK Resettlement Scheme",
    "FAMILY_REUNION": "Family Reunion",
    "SETTLEMENT": "Settlement",
    "REGION_LSE": "London and South East region",
    "REGION_MIDE": "Midlands and East region",
    "REGION_NW": "North West region",
    "REGION_NEYH": "North East, Yorkshire and Humber region",
    "REGION_SNI": "Scotland and Northern Ireland region",
    "REGION_WSW": "Wales and South West region",
    "NATIONAL_INTAKE": "National intake (no region known)",
}

NATIONALITY_UNITS: dict[str, frozenset[str]] = {
    "LEEDS": frozenset({"AFG", "IRN"}),
    "MERSEY": frozenset({"ERI", "ETH", "HKG", "PAK", "TUR"}),
    "MIDLANDS": frozenset({"LBY"}),
    "NEWCASTLE": frozenset({"SOM", "LKA"}),
    "LIVERPOOL": frozenset({"CHN", "SYR"}),
    "NSA": frozenset({"ALB", "IND", "NGA"}),
    "WALES": frozenset({"IRQ", "SDN", "VNM"}),
}
SPECIALISM_NATIONALITIES = frozenset().union(*NATIONALITY_UNITS.values())

# Postcode area (the letters before the district number) -> region.
POSTCODE_AREA_REGIONS: dict[str, str] = {
    **dict.fromkeys(("E", "EC", "N", "NW", "SE", "SW", "W", "WC", "CR", "BR", "DA", "EN", "HA", "IG",
                     "KT", "RM", "SM", "TW", "UB", "BN", "CT", "GU", "ME", "RH", "SL", "SO", "TN",
                     "OX", "RG", "PO", "MK", "HP", "LU", "AL", "SG", "WD"), "REGION_LSE"),
    **dict.fromkeys(("B", "CV", "DY", "WS", "WV", "LE", "NG", "DE", "ST", "NN", "PE", "CB", "IP",
                     "NR", "CO", "CM", "SS", "LN", "WR", "HR", "TF", "SY"), "REGION_MIDE"),
    **dict.fromkeys(("M", "L", "OL", "BL", "BB", "PR", "FY", "LA", "WN", "WA", "CH", "CW", "SK",
                     "CA"), "REGION_NW"),
    **dict.fromkeys(("NE", "SR", "DH", "DL", "TS", "LS", "BD", "HX", "HD", "WF", "S", "DN", "HU",
                     "YO", "HG"), "REGION_NEYH"),
    **dict.fromkeys(("G", "EH", "AB", "DD", "FK", "KY", "PA", "PH", "IV", "KA", "ML", "DG", "TD",
                     "KW", "HS", "ZE", "BT"), "REGION_SNI"),
    **dict.fromkeys(("CF", "SA", "NP", "LL", "LD", "BS", "BA", "EX", "PL", "TQ", "TR", "TA", "GL",
                     "SN", "SP", "BH", "DT"), "REGION_WSW"),
}

# Legacy REF_UNIT.REGION -> region unit, for cases with no usable postcode.
LEGACY_REGION_UNITS: dict[str, str] = {
    "London and South East": "REGION_LSE", "Midlands and East": "REGION_MIDE",
    "North West": "REGION_NW", "North East": "REGION_NEYH", "Yorkshire and Humber": "REGION_NEYH",
    "Scotland and Northern Ireland": "REGION_SNI", "Wales and South West": "REGION_WSW",
}

ROUTES: tuple[Rule, ...] = (
    Rule("resettlement", "RESETTLEMENT", {"case_type": "resettlement"}),
    Rule("family_reunion", "FAMILY_REUNION", {"case_type": "family_reunion"}),
    Rule("settlement", "SETTLEMENT", {"case_type": "settlement"}),
    Rule("detained", "DAC", {"detained": True}),
    Rule("high_profile", "SHEFFIELD", {"high_profile": True}),
    Rule("non_suspensive_appeal", "NSA", {"nsa": True}),
    Rule("uasc_china_syria", "LIVERPOOL", {"uasc": True, "nationality": frozenset({"CHN", "SYR"})}),
    Rule("uasc", "MIDLANDS", {"uasc": True}),
    Rule("older_case", "GLASGOW", {"older": True}),
    Rule("initial_accommodation_or_hotel", "LEEDS", {"accommodation": frozenset({"initial_accommodation", "hotel"})}),
    Rule("nationality_leeds", "LEEDS", {"nationality": NATIONALITY_UNITS["LEEDS"]}),
    Rule("nationality_mersey", "MERSEY", {"nationality": NATIONALITY_UNITS["MERSEY"]}),
    Rule("nationality_midlands", "MIDLANDS", {"nationality": NATIONALITY_UNITS["MIDLANDS"]}),
    Rule("nationality_newcastle", "NEWCASTLE", {"nationality": NATIONALITY_UNITS["NEWCASTLE"]}),
    Rule("nationality_liverpool", "LIVERPOOL", {"nationality": NATIONALITY_UNITS["LIVERPOOL"]}),
    Rule("nationality_nsa_male", "NSA", {"nationality": NATIONALITY_UNITS["NSA"], "gender": "male"}),
    Rule("nationality_wales", "WALES", {"nationality": NATIONALITY_UNITS["WALES"]}),
    *(Rule(f"postcode_{unit.lower()}", unit, {"postcode_region": unit})
      for unit in sorted(set(POSTCODE_AREA_REGIONS.values()))),
    *(Rule(f"legacy_region_{unit.lower()}", unit, {"legacy_region": unit})
      for unit in sorted(set(LEGACY_REGION_UNITS.values()))),
    Rule("no_region", "NATIONAL_INTAKE", {}),
)

# Tasking priority (high harm, supported, UASC, older cases), first match wins; rank = position.
PRIORITY_BANDS: tuple[Rule, ...] = (
    Rule("high_harm", "high_harm", {"high_harm": True}),
    Rule("supported", "supported", {"supported": True}),
    Rule("uasc", "uasc", {"uasc": True}),
    Rule("older_case", "older_case", {"older": True}),
    Rule("standard", "standard", {}),
)

# The next task of a case, by lifecycle state.
NEXT_TASK: dict[str, str] = {
    "registered": "screen_applicant",
    "screening": "book_substantive_interview",
    "interview": "conduct_interview",
    "awaiting_decision": "make_decision",
    "decided_appeal_window": "serve_decision",
    "appeal_pending": "review_appeal",
    "resettlement_referral": "complete_health_assessment",
    "resettlement_health": "complete_health_assessment",
    "resettlement_offer": "secure_local_authority_offer",
    "resettlement_arrival": "arrange_arrival",
}
