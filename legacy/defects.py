"""The defects real CID data has, injected into generated cases: one function per identifier.

Each function mutates a case and returns True when it applied; the registry is the data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from random import Random
from typing import TYPE_CHECKING

from legacy import vocab
from legacy.dates import last_sunday
from legacy.refdata import (
    NATIONALITY_FREE_TEXT,
    NATIONALITY_UNMAPPABLE,
    RETIRED_ACTIVE_STATUSES,
    UNKNOWN_STATUSES,
)

if TYPE_CHECKING:
    from legacy.generator import CaseGenerator
    from legacy.model import GeneratedCase

Injector = Callable[["CaseGenerator", "GeneratedCase", Random], bool]
TERMINAL_LIKE = ("CLSD", "WDRN", "CLOS", "RARV")
CONTROL_CHARS = ("\x07", "\x0b", "\x0c", "\x1a", "\x1b", "\x08")


def _unparseable_date(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    target = rng.choice(("DATE_RCVD", "DOB"))
    junk = rng.choice(("32/13/2019", "N/K", "2019-13-45", "??", "1O/O3/2O18", "20190", "last week"))
    if target == "DATE_RCVD":
        case.header["DATE_RCVD"] = junk
    else:
        case.main_person["DOB"] = junk
    return True


def _impossible_date(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    kind = rng.choice(("feb31", "future_dob", "dob_after_claim"))
    if kind == "feb31":
        year = rng.randint(2005, case.as_of.year - 1)
        case.header["DATE_RCVD"] = rng.choice((f"{year}-02-31", f"31/02/{year}", f"{year}0230"))
    elif kind == "future_dob":
        case.main_person["DOB"] = (case.as_of + dt.timedelta(days=rng.randint(30, 4000))).isoformat()
    else:
        received = gen.core(case.case_id).received
        case.main_person["DOB"] = (received + dt.timedelta(days=rng.randint(1, 60))).strftime("%d/%m/%Y")
    return True


def _unknown_status(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    case.header["STATUS_CD"] = rng.choice(UNKNOWN_STATUSES)
    return True


def _retired_status(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    if case.header["STATUS_CD"] in TERMINAL_LIKE or case.decisions:
        return False
    case.header["STATUS_CD"] = rng.choice(RETIRED_ACTIVE_STATUSES)
    return True


def _nationality_free_text(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    case.main_person["NATIONALITY"] = rng.choice(NATIONALITY_FREE_TEXT)
    return True


def _nationality_unmappable(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    case.main_person["NATIONALITY"] = rng.choice(NATIONALITY_UNMAPPABLE)
    return True


def _orphan_party(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    cid = case.case_id
    case.parties.append({
        "CASE_PERSON_ID": cid * 8 + 7, "CASE_ID": cid, "PERSON_ID": cid * 8 + 7, "ROLE_CD": "DEP",
        "RELATIONSHIP": "CHILD", "DELETED_FLG": None, "LAST_UPD_TS": case.header["LAST_UPD_TS"],
    })
    return True


def _no_main_applicant(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    for party in case.parties:
        if party["ROLE_CD"] == "MAIN":
            party["ROLE_CD"], party["RELATIONSHIP"] = "DEP", "OTHER"
    return True


def _two_main_applicants(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    deps = [p for p in case.parties if p["ROLE_CD"] == "DEP"]
    if not deps or not any(p["ROLE_CD"] == "MAIN" for p in case.parties):
        return False
    deps[0]["ROLE_CD"], deps[0]["RELATIONSHIP"] = "MAIN", None
    return True


def _duplicate_person(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    from legacy.generator import main_identity

    cid = case.case_id
    if not gen.core(cid).duplicates_person or not case.parties:
        return False
    other = cid - 1 - rng.randint(0, min(cid - 2, 50))
    other_core = gen.core(other)
    if other_core.duplicates_person:
        return False
    ident = main_identity(gen.config.seed, other, other_core.received, False)
    main = case.main_person
    main.update({
        "SURNAME": ident.surname.upper(), "FORENAMES": ident.forenames, "DOB": ident.dob.isoformat(),
        "NATIONALITY": ident.nat_cd, "GENDER": ident.gender,
        "HO_REF": ident.ho_ref.lower() if rng.random() < 0.5 else f" {ident.ho_ref}",
    })
    case.also_touches.setdefault("duplicate_person", []).append(gen.stored_ref(other))
    return True


def _mojibake(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    word = rng.choice(vocab.ACCENTED_WORDS)
    garbled = word.encode("utf-8").decode("cp1252")
    if case.notes and rng.random() < 0.7:
        note = rng.choice(case.notes)
        note["NOTE_TEXT"] = f"{note['NOTE_TEXT']} {garbled} {word.encode('utf-8').decode('cp1252')}"
    else:
        case.main_person["FORENAMES"] = f"{case.main_person['FORENAMES']} {garbled}"[:100]
    return True


def _control_chars(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    char = rng.choice(CONTROL_CHARS)
    if case.notes and rng.random() < 0.6:
        note = rng.choice(case.notes)
        pos = rng.randint(0, len(note["NOTE_TEXT"]))
        note["NOTE_TEXT"] = note["NOTE_TEXT"][:pos] + char + note["NOTE_TEXT"][pos:]
    else:
        main = case.main_person
        main["FORENAMES"] = f"{main['FORENAMES']}{char}"[:100]
    return True


def _null_required(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    column = rng.choice(("CASE_TYPE", "DATE_RCVD", "STATUS_CD"))
    case.header[column] = None
    return True


def _rebook_chain(case: GeneratedCase) -> list[dict]:
    return [a for a in case.appointments if a["APPT_TYPE"] == "SUBST"]


def _rebooking_loop(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    chain = _rebook_chain(case)
    if len(chain) < 2:
        return False
    chain[0]["REBOOKED_FROM_ID"] = chain[-1]["APPT_ID"]
    return True


def _rebooking_dangling(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    chain = _rebook_chain(case)
    if not chain:
        return False
    chain[-1]["REBOOKED_FROM_ID"] = case.case_id * 16 + 15
    return True


def _reference_collision(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    cid = case.case_id
    if not gen.core(cid).collides or gen.core(cid - 1).collides:
        return False
    other_ref = gen.core(cid - 1).canonical_ref
    case.header["CASE_REF"] = rng.choice((other_ref.lower(), f" {other_ref} ", f"{other_ref} "))
    case.also_touches.setdefault("reference_collision", []).append(gen.stored_ref(cid - 1))
    return True


def _text_too_long(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    if not case.notes:
        return False
    note = rng.choice(case.notes)
    words = rng.choices(vocab.NOTE_WORDS, k=rng.randint(2500, 9000))
    note["NOTE_TEXT"] = "Transcript. " + " ".join(words)
    return True


def _soft_deleted(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    children = case.notes + case.addresses + case.appointments
    # A child row is deleted only in an otherwise clean case, so it hides no other defect.
    if rng.random() < 0.5 or not children or case.defects:
        case.header["DELETED_FLG"] = "Y"
    else:
        rng.choice(children)["DELETED_FLG"] = "Y"
    return True


def _malformed_postcode(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    if not case.addresses:
        return False
    rng.choice(case.addresses)["POSTCODE"] = rng.choice(("SW1A", "12345", "N1 ??", "LS", "B99 9Z9Z", "M1-1AE"))
    return True


def _dst_local_time(gen: CaseGenerator, case: GeneratedCase, rng: Random) -> bool:
    if not case.appointments:
        return False
    appt = rng.choice(case.appointments)
    year = appt["APPT_TS"].year
    day = last_sunday(year, rng.choice((3, 10)))
    appt["APPT_TS"] = dt.datetime(day.year, day.month, day.day, 1, rng.choice((0, 15, 30, 45)))
    return True


# Applied in this order; every identifier of CID-SCHEMA.md but `silent_update` (churn only).
INJECTORS: dict[str, Injector] = {
    "reference_collision": _reference_collision, "duplicate_person": _duplicate_person,
    "orphan_party": _orphan_party, "two_main_applicants": _two_main_applicants,
    "unparseable_date": _unparseable_date, "impossible_date": _impossible_date,
    "unknown_status": _unknown_status, "retired_status": _retired_status,
    "nationality_free_text": _nationality_free_text, "nationality_unmappable": _nationality_unmappable,
    "mojibake": _mojibake, "control_chars": _control_chars, "rebooking_loop": _rebooking_loop,
    "rebooking_dangling": _rebooking_dangling, "text_too_long": _text_too_long,
    "malformed_postcode": _malformed_postcode, "dst_local_time": _dst_local_time,
    "null_required": _null_required, "no_main_applicant": _no_main_applicant,
    "soft_deleted": _soft_deleted,
}


# A defect is not injected over one that already touched the same field, so that the manifest's
# ground truth stays true of the data.
CONFLICTS: dict[str, frozenset[str]] = {
    "impossible_date": frozenset({"unparseable_date"}),
    "retired_status": frozenset({"unknown_status"}),
    "nationality_unmappable": frozenset({"nationality_free_text"}),
    "rebooking_dangling": frozenset({"rebooking_loop"}),
}
# Decided by the case's re-creatable core, so that other cases can know of them.
DECIDED_BY_CORE = frozenset({"reference_collision", "duplicate_person"})


def inject_defects(gen: CaseGenerator, case: GeneratedCase) -> None:
    """Inject each defect at its configured rate; record what applied on the case."""
    rng = Random(f"{gen.config.seed}:{case.case_id}:defects")
    rates = gen.config.defect_rates
    for defect, injector in INJECTORS.items():
        chosen = defect in DECIDED_BY_CORE or rng.random() < rates.get(defect, 0.0)
        if not chosen or CONFLICTS.get(defect, frozenset()) & set(case.defects):
            continue
        if injector(gen, case, rng):
            case.defects.append(defect)
