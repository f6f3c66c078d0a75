"""Word lists the synthetic generator draws from: names by region, places, note phrases."""

from __future__ import annotations

# nationality code -> (forenames male, forenames female, surnames)
_ARABIC = (
    ("Ahmad", "Mohammed", "Omar", "Khaled", "Yousef", "Hassan", "Ali", "Bilal", "Karim", "Sami"),
    ("Fatima", "Aisha", "Layla", "Noor", "Huda", "Rana", "Mariam", "Zainab", "Salma", "Hiba"),
    ("Al-Hassan", "Haddad", "Khalil", "Nasser", "Saleh", "Mansour", "Darwish", "Aziz", "Hamdan"),
)
_PERSIAN = (
    ("Reza", "Ahmad", "Farid", "Jawad", "Mehdi", "Sohrab", "Wahid", "Najib", "Hamid", "Rahim"),
    ("Parisa", "Zahra", "Shirin", "Fereshteh", "Mina", "Nargis", "Roya", "Leila", "Soraya"),
    ("Ahmadi", "Rezaei", "Hosseini", "Karimi", "Mohammadi", "Popal", "Noori", "Sultani"),
)
_HORN = (
    ("Yonas", "Dawit", "Mehari", "Abdi", "Tesfay", "Samuel", "Mohamed", "Abdirahman", "Bereket"),
    ("Selam", "Helen", "Senait", "Hodan", "Amina", "Ruth", "Saba", "Filsan", "Meron", "Luwam"),
    ("Tesfamariam", "Gebremedhin", "Haile", "Warsame", "Abdullahi", "Kahsay", "Tekle", "Osman"),
)
_SOUTH_ASIA = (
    ("Imran", "Arjun", "Tharindu", "Bilal", "Ravi", "Kasun", "Faisal", "Sanjay", "Nimal"),
    ("Ayesha", "Priya", "Nadeesha", "Sana", "Kavya", "Dilani", "Rubina", "Anjali", "Shreya"),
    ("Khan", "Perera", "Singh", "Malik", "Fernando", "Chaudhry", "Patel", "Jayasuriya"),
)
_EAST_ASIA = (
    ("Wei", "Minh", "Jun", "Tuan", "Hao", "Long", "Jian", "Quang", "Chun", "Duc"),
    ("Mei", "Lan", "Xiu", "Thu", "Ying", "Hoa", "Jing", "Linh", "Fang", "Mai"),
    ("Wang", "Nguyen", "Li", "Tran", "Chen", "Pham", "Zhang", "Le", "Liu", "Hoang"),
)
_EUROPE = (
    ("Arben", "Gjergj", "Besnik", "Oleksandr", "Giorgi", "Andrii", "Erion", "Dritan", "Zoë"),
    ("Elira", "Mirela", "Olena", "Nino", "Iryna", "Besa", "Anisa", "Tetiana", "Renée"),
    ("Hoxha", "Shevchenko", "Beridze", "Krasniqi", "Kovalenko", "Gashi", "Bondarenko"),
)
_WEST_AFRICA = (
    ("Chinedu", "Emeka", "Kwame", "Lamin", "Ousmane", "Tunde", "Ibrahima", "Joseph", "Modou"),
    ("Ngozi", "Amara", "Fatou", "Aminata", "Blessing", "Chioma", "Awa", "Grace", "Mariama"),
    ("Okafor", "Diallo", "Adeyemi", "Jallow", "Mensah", "Ceesay", "Okonkwo", "Bah", "Touré"),
)
NAME_POOLS = {
    "SYR": _ARABIC, "IRQ": _ARABIC, "SDN": _ARABIC, "LBY": _ARABIC, "EGY": _ARABIC,
    "YEM": _ARABIC, "KWT": _ARABIC, "PSE": _ARABIC, "MAR": _ARABIC,
    "AFG": _PERSIAN, "IRN": _PERSIAN,
    "ERI": _HORN, "ETH": _HORN, "SOM": _HORN,
    "PAK": _SOUTH_ASIA, "IND": _SOUTH_ASIA, "LKA": _SOUTH_ASIA, "BGD": _SOUTH_ASIA,
    "CHN": _EAST_ASIA, "VNM": _EAST_ASIA, "HKG": _EAST_ASIA,
    "ALB": _EUROPE, "UKR": _EUROPE, "GEO": _EUROPE, "TUR": _EUROPE,
    "NGA": _WEST_AFRICA, "GMB": _WEST_AFRICA, "CMR": _WEST_AFRICA, "COD": _WEST_AFRICA,
    "ZWE": _WEST_AFRICA, "JAM": _WEST_AFRICA, "BRA": _EUROPE,
}

# Weighted nationality mix: (NAT_CD as CID stores it, ISO3 it stands for, weight).
NATIONALITY_MIX: tuple[tuple[str, str, int], ...] = (
    ("AFG", "AFG", 10), ("AFGHAN", "AFG", 2), ("IRN", "IRN", 8), ("IRAN", "IRN", 2),
    ("ERI", "ERI", 7), ("ERITREA", "ERI", 1), ("ETH", "ETH", 3), ("HKBNO", "HKG", 2),
    ("PAK", "PAK", 5), ("TUR", "TUR", 3), ("LBY", "LBY", 2), ("SOM", "SOM", 3),
    ("LKA", "LKA", 2), ("SRI", "LKA", 1), ("CHN", "CHN", 3), ("SYR", "SYR", 8),
    ("SYRIA", "SYR", 2), ("ALB", "ALB", 6), ("IND", "IND", 3), ("NGA", "NGA", 3),
    ("IRQ", "IRQ", 6), ("SDN", "SDN", 5), ("VNM", "VNM", 4), ("VIET", "VNM", 1),
    ("BGD", "BGD", 3), ("EGY", "EGY", 2), ("GEO", "GEO", 1), ("GMB", "GMB", 1),
    ("COD", "COD", 1), ("CMR", "CMR", 1), ("UKR", "UKR", 2), ("YEM", "YEM", 1),
    ("ZWE", "ZWE", 1), ("JAM", "JAM", 1), ("BRA", "BRA", 1), ("MAR", "MAR", 1),
    ("PSE", "PSE", 1), ("KWT", "KWT", 1), ("STLS", "XXA", 1), ("UNK", "XXX", 1),
)

LANGUAGES = {
    "AFG": ("Pashto", "Dari"), "IRN": ("Farsi",), "ERI": ("Tigrinya",), "ETH": ("Amharic",),
    "SOM": ("Somali",), "SYR": ("Arabic",), "IRQ": ("Arabic", "Kurdish Sorani"),
    "SDN": ("Arabic",), "VNM": ("Vietnamese",), "CHN": ("Mandarin",), "HKG": ("Cantonese",),
    "ALB": ("Albanian",), "PAK": ("Urdu", "Punjabi"), "LKA": ("Tamil", "Sinhala"),
    "TUR": ("Turkish", "Kurmanji"), "UKR": ("Ukrainian",),
}

TOWNS_BY_AREA = {
    "B": "Birmingham", "BD": "Bradford", "BS": "Bristol", "CF": "Cardiff", "CR": "Croydon",
    "CV": "Coventry", "E": "London", "G": "Glasgow", "HU": "Hull", "L": "Liverpool",
    "LE": "Leicester", "LS": "Leeds", "M": "Manchester", "N": "London", "NE": "Newcastle",
    "NG": "Nottingham", "PL": "Plymouth", "S": "Sheffield", "SE": "London", "SR": "Sunderland",
    "SA": "Swansea", "ST": "Stoke-on-Trent", "SW": "London", "TS": "Middlesbrough",
    "WV": "Wolverhampton", "BT": "Belfast", "EH": "Edinburgh", "OL": "Oldham", "DN": "Doncaster",
}
STREETS = (
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane",
    "Queen Street", "King Street", "Grove Road", "Albert Road", "Manor Way", "Elm Close",
)
HOTELS = ("Riverside Hotel", "Central Lodge", "Airport Inn", "Park View Hotel", "Napier Barracks")
IA_SITES = ("Wakefield IA", "Urban House IA", "Stone Road IA", "Angel Lane IA", "Barry House IA")
DETENTION_CENTRES = ("Harmondsworth IRC", "Colnbrook IRC", "Yarl's Wood IRC", "Dungavel IRC")
VENUES = (
    "Lunar House, Croydon", "Waterside Court, Leeds", "Festival Court, Glasgow",
    "Capital Building, Liverpool", "Vulcan House, Sheffield", "Remote (video)",
    "Dallas Court, Salford", "Solihull Reporting Centre", "Cardiff Reporting Centre",
)
NOTE_WORDS = (
    "applicant", "attended", "screening", "interview", "rebooked", "interpreter", "requested",
    "medical", "evidence", "received", "solicitor", "letter", "sent", "awaiting", "documents",
    "biometrics", "enrolled", "support", "application", "reviewed", "caseworker", "called",
    "no", "answer", "to", "the", "and", "of", "on", "for", "with", "file", "updated", "risk",
    "assessment", "completed", "referral", "local", "authority", "housing", "transferred",
    "unit", "age", "dispute", "social", "services", "report", "chased", "response", "due",
)
ACCENTED_WORDS = ("café", "naïve", "résumé", "déjà", "façade", "Zoë", "Müller", "São", "señor")
AUTHORS = tuple(f"CW{n:04d}" for n in range(1, 400))
