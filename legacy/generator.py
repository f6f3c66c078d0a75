"""Deterministic synthetic CID cases: each case from its own seeded stream, so any engine,
batching or process split gives the same rows for the same seed and case count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from random import Random

from legacy import vocab
from legacy.dates import format_cid_date, format_partial_dob
from legacy.model import GeneratedCase, Row
from legacy.refdata import ACTIVE_STATUSES, REF_UNIT_ROWS

EPOCH = dt.date(2004, 1, 1)
CASE_TYPES = (("ASY", 75), ("RES", 10), ("FRU", 10), ("SET", 5))
ACTIVE_UNITS = tuple(u[0] for u in REF_UNIT_ROWS if u[3] == "Y" and u[0] not in ("DAC", "RESU"))

DEFAULT_DEFECT_RATES: dict[str, float] = {
    "unparseable_date": 0.006, "impossible_date": 0.006, "unknown_status": 0.005,
    "retired_status": 0.006, "nationality_free_text": 0.01, "nationality_unmappable": 0.005,
    "orphan_party": 0.005, "no_main_applicant": 0.004, "two_main_applicants": 0.004,
    "duplicate_person": 0.006, "mojibake": 0.01, "control_chars": 0.008, "null_required": 0.005,
    "rebooking_loop": 0.015, "rebooking_dangling": 0.006, "reference_collision": 0.004,
    "text_too_long": 0.004, "soft_deleted": 0.01, "malformed_postcode": 0.008,
    "dst_local_time": 0.005,
}


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate: seed, size, as-of date, share of in-flight cases and defect rates."""

    seed: int
    cases: int
    as_of: dt.date
    in_flight_ratio: float = 0.6
    defect_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DEFECT_RATES))


@dataclass(frozen=True)
class CaseCore:
    """The few draws of a case that other cases may need to re-create (refs, main applicant)."""

    case_type: str
    received: dt.date
    canonical_ref: str
    collides: bool
    duplicates_person: bool


def _weighted(rng: Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


@lru_cache(maxsize=4096)
def case_core(seed: int, case_id: int, as_of: dt.date, collide_rate: float, dup_rate: float) -> CaseCore:
    """Draw the re-creatable core of a case from its own header stream."""
    rng = Random(f"{seed}:{case_id}:hdr")
    case_type = _weighted(rng, CASE_TYPES)
    span = (as_of - EPOCH).days
    age_days = min(span, int(rng.expovariate(1 / 700)))
    received = as_of - dt.timedelta(days=age_days)
    ref = f"CID/{received.year}/{case_id:07d}"
    collides = case_id > 1 and rng.random() < collide_rate
    duplicates = case_id > 1 and rng.random() < dup_rate
    return CaseCore(case_type, received, ref, collides, duplicates)


@dataclass(frozen=True)
class Identity:
    """A human's identifying fields, re-creatable so a duplicate record can copy them."""

    nat_cd: str
    iso3: str
    gender: str
    surname: str
    forenames: str
    dob: dt.date
    ho_ref: str


def main_identity(seed: int, case_id: int, received: dt.date, child: bool) -> Identity:
    """Draw a main applicant's identity from the case's own identity stream."""
    rng = Random(f"{seed}:{case_id}:main")
    nat_cd, iso3, _ = rng.choices(vocab.NATIONALITY_MIX, weights=[n[2] for n in vocab.NATIONALITY_MIX])[0]
    gender = rng.choices("MFUX", weights=(64, 33, 2, 1))[0]
    male, female, surnames = vocab.NAME_POOLS.get(iso3, vocab.NAME_POOLS["SYR"])
    first = rng.choice(female if gender == "F" else male)
    age = rng.randint(14, 17) if child else rng.randint(18, 62)
    dob = received - dt.timedelta(days=age * 365 + rng.randint(0, 364))
    letter = chr(65 + case_id % 26)
    return Identity(nat_cd, iso3, gender, rng.choice(surnames), first, dob, f"{letter}{case_id:07d}")


class CaseGenerator:
    """Builds GeneratedCase objects; one instance per generation run."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self._collide = config.defect_rates.get("reference_collision", 0.0)
        self._dup = config.defect_rates.get("duplicate_person", 0.0)

    def core(self, case_id: int) -> CaseCore:
        """The re-creatable core of a case."""
        return case_core(self.config.seed, case_id, self.config.as_of, self._collide, self._dup)

    def stored_ref(self, case_id: int) -> str:
        """CASE_REF as CID stores it (stray spaces and lower case happen)."""
        rng = Random(f"{self.config.seed}:{case_id}:ref")
        ref = self.core(case_id).canonical_ref
        roll = rng.random()
        if roll < 0.02:
            return f" {ref}"
        if roll < 0.04:
            return ref.lower()
        return ref

    def generate(self, case_id: int) -> GeneratedCase:
        """Generate one case with all of its rows (defects are injected afterwards)."""
        cfg = self.config
        core = self.core(case_id)
        rng = Random(f"{cfg.seed}:{case_id}:body")
        as_of = cfg.as_of
        in_flight = rng.random() < cfg.in_flight_ratio
        status, decision = self._fate(rng, core, in_flight)
        child = core.case_type == "ASY" and rng.random() < 0.06
        detained = core.case_type == "ASY" and in_flight and not child and rng.random() < 0.05
        header: Row = {
            "CASE_ID": case_id, "CASE_REF": self.stored_ref(case_id), "CASE_TYPE": core.case_type,
            "STATUS_CD": status, "DATE_RCVD": format_cid_date(core.received, rng),
            "OWNING_UNIT_CD": "RESU" if core.case_type == "RES" else rng.choice(ACTIVE_UNITS),
            "PRIORITY_FLG": _flag(rng, 0.1), "DETAINED_FLG": "Y" if detained else _flag(rng, 0.0),
            "SUPPORTED_FLG": _flag(rng, 0.45 if core.case_type == "ASY" else 0.05),
            "HIGH_HARM_FLG": _flag(rng, 0.03), "DELETED_FLG": _deleted_flag(rng),
            "LAST_UPD_TS": _timestamp_between(rng, core.received, as_of),
        }
        case = GeneratedCase(case_id=case_id, as_of=as_of, header=header)
        ident = main_identity(cfg.seed, case_id, core.received, child)
        self._people(case, rng, ident, core)
        self._addresses(case, rng, core, detained)
        if core.case_type == "ASY":
            self._appointments(case, rng, core, status)
        self._notes(case, rng, core)
        if decision is not None:
            self._decision(case, rng, core, decision)
        self._flags(case, rng, core, ident, child, detained)
        if core.case_type == "RES":
            self._referral(case, rng, core)
        return case

    def _fate(self, rng: Random, core: CaseCore, in_flight: bool) -> tuple[str, str | None]:
        """Pick a status and, when decided, a decision kind: refuse_window, appealed, final."""
        if in_flight:
            roll = rng.random()
            if roll < 0.78 or core.case_type == "RES":
                return rng.choice(ACTIVE_STATUSES[core.case_type]), None
            if roll < 0.86:
                return "APPL", "appealed"
            if roll < 0.91:
                return "DECD", "appealed"
            return "DECD", "refuse_window"
        if core.case_type == "RES":
            return rng.choice(("RARV", "RARV", "WDRN")), None
        return _weighted(rng, (("CLSD", 40), ("WDRN", 18), ("DECD", 37), ("CLOS", 5))), (
            "final" if rng.random() < 0.7 else None
        )

    def _people(self, case: GeneratedCase, rng: Random, ident: Identity, core: CaseCore) -> None:
        cid = case.case_id
        main = _person_row(rng, cid * 8, ident.surname, ident.forenames, ident.gender, ident.dob,
                           ident.nat_cd, ident.ho_ref, ident.iso3)
        case.persons.append(main)
        case.parties.append(_party(cid * 8, cid, cid * 8, "MAIN", None))
        sizes = {"ASY": (0, 0, 0, 1, 1, 2, 3), "RES": (1, 2, 3, 4, 5), "FRU": (1, 2, 3), "SET": (0, 1)}
        dependants = rng.choice(sizes[core.case_type]) if ident.dob.year < core.received.year - 18 else 0
        male, female, _ = vocab.NAME_POOLS.get(ident.iso3, vocab.NAME_POOLS["SYR"])
        for k in range(1, dependants + 1):
            relationship = "SPOUSE" if k == 1 and rng.random() < 0.7 else "CHILD"
            gender = rng.choice("MF")
            if relationship == "SPOUSE":
                dob = ident.dob + dt.timedelta(days=rng.randint(-3000, 3000))
            else:
                dob = ident.dob + dt.timedelta(days=rng.randint(18 * 365, 40 * 365))
                dob = min(dob, core.received - dt.timedelta(days=30))
            first = rng.choice(female if gender == "F" else male)
            pid = cid * 8 + k
            person = _person_row(rng, pid, ident.surname, first, gender, dob, ident.nat_cd,
                                 f"{ident.ho_ref}/{k}", ident.iso3)
            case.persons.append(person)
            case.parties.append(_party(pid, cid, pid, "DEP", relationship))

    def _addresses(self, case: GeneratedCase, rng: Random, core: CaseCore, detained: bool) -> None:
        cid, main_id = case.case_id, case.case_id * 8
        start = core.received
        kinds: list[str]
        if core.case_type == "ASY":
            kinds = ["IA"] + (["HOTEL"] if rng.random() < 0.4 else []) + (["DISP"] if rng.random() < 0.6 else [])
            if detained:
                kinds.append("DET")
        else:
            kinds = ["PRIV"] if rng.random() < 0.8 else []
        for k, kind in enumerate(kinds):
            last = k == len(kinds) - 1
            end = None if last else min(case.as_of, start + dt.timedelta(days=rng.randint(20, 400)))
            case.addresses.append(_address_row(rng, cid * 8 + k, main_id, kind, start, end))
            if end is not None:
                start = end

    def _appointments(self, case: GeneratedCase, rng: Random, core: CaseCore, status: str) -> None:
        cid = case.case_id
        seq = iter(range(cid * 16, cid * 16 + 16))
        main_id = cid * 8
        day = core.received + dt.timedelta(days=rng.randint(1, 10))
        case.appointments.append(_appt(rng, next(seq), cid, main_id, "SCREEN", day, "ATT", None))
        if status in ("REG",):
            return
        day = day + dt.timedelta(days=rng.randint(30, 300))
        previous = None
        for _ in range(rng.randint(1, 4)):
            drawn = _weighted(rng, (("ATT", 55), ("DNA", 20), ("CANC", 15), ("RESCH", 10)))
            outcome: str | None = None if day > case.as_of else drawn
            appt_id = next(seq)
            case.appointments.append(_appt(rng, appt_id, cid, main_id, "SUBST", day, outcome, previous))
            if outcome in (None, "ATT"):
                break
            previous = appt_id
            day = day + dt.timedelta(days=rng.randint(14, 120))
        for _ in range(rng.randint(0, 3)):
            day = core.received + dt.timedelta(days=rng.randint(30, 900))
            outcome = None if day > case.as_of else _weighted(rng, (("ATT", 85), ("DNA", 15)))
            case.appointments.append(_appt(rng, next(seq), cid, main_id, "REPORT", day, outcome, None))

    def _notes(self, case: GeneratedCase, rng: Random, core: CaseCore) -> None:
        cid = case.case_id
        forename = case.persons[0]["FORENAMES"] or "applicant"
        for k in range(rng.randint(0, 6)):
            words = rng.randint(8, 60) if rng.random() < 0.9 else rng.randint(200, 700)
            text = " ".join(rng.choices(vocab.NOTE_WORDS, k=words))
            if rng.random() < 0.3:
                text = f"{forename.split(',')[-1].strip()} {text}"
            if rng.random() < 0.1:
                text += " " + rng.choice(vocab.ACCENTED_WORDS)
            case.notes.append({
                "NOTE_ID": cid * 16 + k, "CASE_ID": cid,
                "CREATED_TS": _timestamp_between(rng, core.received, case.as_of),
                "AUTHOR_CD": rng.choice(vocab.AUTHORS), "NOTE_TEXT": text.capitalize() + ".",
                "DELETED_FLG": _deleted_flag(rng),
                "LAST_UPD_TS": _timestamp_between(rng, core.received, case.as_of),
            })

    def _decision(self, case: GeneratedCase, rng: Random, core: CaseCore, kind: str) -> None:
        as_of = case.as_of
        earliest = min(as_of, core.received + dt.timedelta(days=60))
        if kind == "refuse_window":
            when = as_of - dt.timedelta(days=rng.randint(0, 13))
            outcome, appeal = "REFUSE", None
        elif kind == "appealed":
            when = _date_between(rng, earliest, as_of - dt.timedelta(days=1))
            outcome, appeal = "REFUSE", when + dt.timedelta(days=rng.randint(1, 14))
        else:
            when = _date_between(rng, earliest, as_of - dt.timedelta(days=15))
            outcome, appeal = rng.choice(("GRANT", "GRANT", "REFUSE", "NFA")), None
        when = max(when, core.received)
        case.decisions.append({
            "DECISION_ID": case.case_id * 2, "CASE_ID": case.case_id, "OUTCOME_CD": outcome,
            "DECISION_DT": format_cid_date(when, rng), "APPEAL_LODGED_FLG": "Y" if appeal else rng.choice(("N", None)),
            "APPEAL_DT": format_cid_date(min(appeal, as_of), rng) if appeal else None,
            "DELETED_FLG": None, "LAST_UPD_TS": _timestamp_between(rng, when, as_of),
        })

    def _flags(self, case: GeneratedCase, rng: Random, core: CaseCore, ident: Identity,
               child: bool, detained: bool) -> None:
        wanted: list[str] = []
        if child:
            wanted.append("UASC")
        if detained:
            wanted.append("DET")
        for code, share in (("MED", 0.05), ("SOT", 0.03), ("HIGHPROF", 0.006)):
            if rng.random() < share:
                wanted.append(code)
        if ident.gender == "F":
            wanted += [c for c, s in (("WAR", 0.06), ("PREG", 0.03)) if rng.random() < s]
        if ident.iso3 in ("ALB", "IND", "NGA") and core.case_type == "ASY" and rng.random() < 0.3:
            wanted.append("NSA")
        for k, code in enumerate(wanted):
            raised = _date_between(rng, core.received, case.as_of)
            cleared = None
            if code in ("MED", "PREG", "SOT") and rng.random() < 0.2:
                cleared = format_cid_date(_date_between(rng, raised, case.as_of), rng)
            case.flags.append({
                "FLAG_ID": case.case_id * 8 + k, "CASE_ID": case.case_id, "FLAG_CD": code,
                "RAISED_DT": format_cid_date(raised, rng), "CLEARED_DT": cleared,
                "DELETED_FLG": None, "LAST_UPD_TS": _timestamp_between(rng, raised, case.as_of),
            })

    def _referral(self, case: GeneratedCase, rng: Random, core: CaseCore) -> None:
        iso3 = main_identity(self.config.seed, case.case_id, core.received, False).iso3
        case.referrals.append({
            "REFERRAL_ID": case.case_id, "CASE_ID": case.case_id,
            "UNHCR_CASE_NO": f"{iso3[:3]}-{core.received.year % 100:02d}C{rng.randint(0, 99999):05d}",
            "SUBMISSION_CAT": _weighted(rng, (("NORMAL", 80), ("URGENT", 15), ("EMERGENCY", 5))),
            "FAMILY_SIZE": len(case.persons), "RRF_RCVD_DT": format_cid_date(core.received, rng),
            "MHA_STATUS": rng.choice(("PENDING", "COMPLETE", "REFERRED")),
            "LA_OFFER": rng.choice((None, "Leeds City Council", "Bristol City Council", "Glasgow City Council")),
            "DELETED_FLG": None, "LAST_UPD_TS": _timestamp_between(rng, core.received, case.as_of),
        })


def _flag(rng: Random, share: float) -> str | None:
    if rng.random() < share:
        return "Y"
    return "N" if rng.random() < 0.8 else None


def _deleted_flag(rng: Random) -> str | None:
    return "N" if rng.random() < 0.5 else None


def _date_between(rng: Random, start: dt.date, end: dt.date) -> dt.date:
    if end <= start:
        return start
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _timestamp_between(rng: Random, start: dt.date, end: dt.date) -> dt.datetime:
    day = _date_between(rng, start, end)
    return dt.datetime(day.year, day.month, day.day, rng.randint(7, 19), rng.randint(0, 59), rng.randint(0, 59))


def _person_row(rng: Random, pid: int, surname: str, forenames: str, gender: str, dob: dt.date,
                nat_cd: str, ho_ref: str, iso3: str) -> Row:
    if rng.random() < 0.05:
        surname_col, forenames_col = None, f"{surname.upper()}, {forenames}"
    else:
        surname_col, forenames_col = surname.upper() if rng.random() < 0.5 else surname, forenames
    dob_text = format_partial_dob(dob, rng) if rng.random() < 0.03 else format_cid_date(dob, rng)
    language = rng.choice(vocab.LANGUAGES.get(iso3, ("English", "French", "Arabic")))
    return {
        "PERSON_ID": pid, "SURNAME": surname_col, "FORENAMES": forenames_col, "DOB": dob_text,
        "NATIONALITY": nat_cd, "GENDER": gender, "HO_REF": ho_ref,
        "PORT_REF": f"LHR/{pid % 100000:05d}" if rng.random() < 0.2 else None,
        "LANGUAGE": language, "INTERPRETER_FLG": "Y" if language != "English" else "N",
        "DELETED_FLG": _deleted_flag(rng),
        "LAST_UPD_TS": dt.datetime(2004, 1, 1) + dt.timedelta(minutes=pid % 9_000_000),
    }


def _party(cpid: int, case_id: int, person_id: int, role: str, relationship: str | None) -> Row:
    return {
        "CASE_PERSON_ID": cpid, "CASE_ID": case_id, "PERSON_ID": person_id, "ROLE_CD": role,
        "RELATIONSHIP": relationship, "DELETED_FLG": None,
        "LAST_UPD_TS": dt.datetime(2004, 1, 1) + dt.timedelta(minutes=cpid % 9_000_000),
    }


def postcode_for(rng: Random) -> tuple[str, str]:
    """A well-formed UK postcode in one of CID's spellings, and its town."""
    area = rng.choice(sorted(vocab.TOWNS_BY_AREA))
    inward = f"{rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    code = f"{area}{rng.randint(1, 19)} {inward}"
    roll = rng.random()
    if roll < 0.15:
        code = code.lower()
    elif roll < 0.25:
        code = code.replace(" ", "")
    elif roll < 0.3:
        code = code.replace(" ", "  ")
    return code, vocab.TOWNS_BY_AREA[area]


def _address_row(rng: Random, aid: int, pid: int, kind: str, start: dt.date, end: dt.date | None) -> Row:
    postcode, town = postcode_for(rng)
    line1 = {
        "IA": rng.choice(vocab.IA_SITES), "HOTEL": rng.choice(vocab.HOTELS),
        "DET": rng.choice(vocab.DETENTION_CENTRES),
    }.get(kind, f"{rng.randint(1, 240)} {rng.choice(vocab.STREETS)}")
    return {
        "ADDRESS_ID": aid, "PERSON_ID": pid, "LINE1": line1,
        "LINE2": f"Flat {rng.randint(1, 40)}" if kind in ("DISP", "PRIV") and rng.random() < 0.4 else None,
        "TOWN": town, "POSTCODE": postcode, "FROM_DT": format_cid_date(start, rng),
        "TO_DT": format_cid_date(end, rng) if end else None, "ADDR_TYPE": kind,
        "DELETED_FLG": _deleted_flag(rng), "LAST_UPD_TS": _timestamp_between(rng, start, end or start),
    }


def _appt(rng: Random, appt_id: int, case_id: int, person_id: int, kind: str, day: dt.date,
          outcome: str | None, rebooked_from: int | None) -> Row:
    when = dt.datetime(day.year, day.month, day.day, rng.randint(9, 16), rng.choice((0, 15, 30, 45)))
    remote = kind == "SUBST" and rng.random() < 0.2
    return {
        "APPT_ID": appt_id, "CASE_ID": case_id, "PERSON_ID": person_id, "APPT_TYPE": kind,
        "VENUE": "Remote (video)" if remote else rng.choice(vocab.VENUES), "APPT_TS": when,
        "OUTCOME_CD": outcome, "REBOOKED_FROM_ID": rebooked_from,
        "INTERPRETER_LANG": rng.choice((None, "Arabic", "Farsi", "Tigrinya", "Pashto", "Kurdish Sorani")),
        "REMOTE_FLG": "Y" if remote else "N", "DELETED_FLG": None,
        "LAST_UPD_TS": when - dt.timedelta(days=rng.randint(1, 30)),
    }
