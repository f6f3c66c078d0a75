"""The contents of CID's code tables, as the legacy side holds them (its own data, not our rules)."""

from __future__ import annotations

# STATUS_CD, DESCR, CASE_TYPE, ACTIVE_FLG, TERMINAL_FLG, RETIRED_DT
REF_STATUS_ROWS: tuple[tuple[str, str, str | None, str, str, str | None], ...] = (
    ("REG", "Registered", None, "Y", "N", None),
    ("SCRN", "Screening complete", "ASY", "Y", "N", None),
    ("INTV", "Substantive interview booked", "ASY", "Y", "N", None),
    ("AWDC", "Awaiting decision", None, "Y", "N", None),
    ("DECD", "Decided", None, "Y", "Y", None),
    ("APPL", "Appeal lodged", None, "Y", "N", None),
    ("CLSD", "Closed", None, "Y", "Y", None),
    ("WDRN", "Withdrawn", None, "Y", "Y", None),
    ("RREF", "UNHCR referral received", "RES", "Y", "N", None),
    ("RMHA", "Migration health assessment", "RES", "Y", "N", None),
    ("RLAO", "Awaiting local authority offer", "RES", "Y", "N", None),
    ("RARR", "Arrival booked", "RES", "Y", "N", None),
    ("RARV", "Arrived in the UK", "RES", "Y", "Y", None),
    ("PEND", "Pending (pre-2012 code)", None, "N", "N", "31/03/2012"),
    ("ONHD", "On hold (pre-2015 code)", None, "N", "N", "30-JUN-15"),
    ("CLOS", "Closed (pre-2010 code)", None, "N", "Y", "20100101"),
)

ACTIVE_STATUSES = {
    "ASY": ("REG", "SCRN", "INTV", "AWDC"),
    "RES": ("RREF", "RMHA", "RLAO", "RARR"),
    "FRU": ("REG", "AWDC"),
    "SET": ("REG", "AWDC"),
}
RETIRED_ACTIVE_STATUSES = ("PEND", "ONHD")
UNKNOWN_STATUSES = ("XFER", "HOLD2", "Q99", "TMP")

# NAT_CD, DESCR, ISO3: old and new codes side by side, as 20 years of CID left them.
REF_NATIONALITY_ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("AFG", "Afghanistan", "AFG"), ("AFGHAN", "Afghanistan (old code)", "AFG"),
    ("ALB", "Albania", "ALB"), ("BGD", "Bangladesh", "BGD"), ("BRA", "Brazil", "BRA"),
    ("CHN", "China", "CHN"), ("CMR", "Cameroon", "CMR"), ("COD", "Congo (Dem. Rep.)", "COD"),
    ("EGY", "Egypt", "EGY"), ("ERI", "Eritrea", "ERI"), ("ERITREA", "Eritrea (old)", "ERI"),
    ("ETH", "Ethiopia", "ETH"), ("GEO", "Georgia", "GEO"), ("GMB", "Gambia", "GMB"),
    ("HKBNO", "Hong Kong (BN(O))", "HKG"), ("IND", "India", "IND"), ("IRN", "Iran", "IRN"),
    ("IRAN", "Iran (old code)", "IRN"), ("IRQ", "Iraq", "IRQ"), ("JAM", "Jamaica", "JAM"),
    ("KWT", "Kuwait", "KWT"), ("LBY", "Libya", "LBY"), ("LKA", "Sri Lanka", "LKA"),
    ("SRI", "Sri Lanka (old code)", "LKA"), ("MAR", "Morocco", "MAR"), ("NGA", "Nigeria", "NGA"),
    ("PAK", "Pakistan", "PAK"), ("PSE", "Palestine", "PSE"), ("SDN", "Sudan", "SDN"),
    ("SOM", "Somalia", "SOM"), ("SYR", "Syria", "SYR"), ("SYRIA", "Syria (old code)", "SYR"),
    ("TUR", "Turkey", "TUR"), ("UKR", "Ukraine", "UKR"), ("VNM", "Vietnam", "VNM"),
    ("VIET", "Vietnam (old code)", "VNM"), ("YEM", "Yemen", "YEM"), ("ZWE", "Zimbabwe", "ZWE"),
    ("STLS", "Stateless", None), ("UNK", "Not known", None),
)

# Free text that CID accepted in PERSON.NATIONALITY: mappable, and not.
NATIONALITY_FREE_TEXT = (
    "Syrian Arab Rep", "Syrian", "Afghanistan", "Eritrean", "IRANIAN", "Viet Nam", "Sri Lankan",
    "Iraqi", "Sudanese", "Somali", "Albanian", "Pakistani", "Ethiopian", "Chinese", "Libyan",
)
NATIONALITY_UNMAPPABLE = ("Kurdish", "Not known - see file", "Arabic", "Bedoon?", "see HO file", "N/K")

# UNIT_CD, DESCR, REGION, ACTIVE_FLG
REF_UNIT_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("CROY", "Croydon Asylum Intake", "London and South East", "Y"),
    ("LIVP", "Liverpool Asylum", "North West", "Y"),
    ("GLAS", "Glasgow Asylum", "Scotland and Northern Ireland", "Y"),
    ("LEED", "Leeds Asylum", "Yorkshire and Humber", "Y"),
    ("CARD", "Cardiff Asylum", "Wales and South West", "Y"),
    ("SOLI", "Solihull Asylum", "Midlands and East", "Y"),
    ("NEWC", "Newcastle Asylum", "North East", "Y"),
    ("BELF", "Belfast Asylum", "Scotland and Northern Ireland", "N"),
    ("RESU", "Resettlement Unit", "London and South East", "Y"),
    ("DAC", "Detained Asylum Casework", "London and South East", "Y"),
    ("OLD1", "Legacy Casework Directorate", "Midlands and East", "N"),
)
