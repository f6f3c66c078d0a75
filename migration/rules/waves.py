"""The wave cohorts of the cutover, first match wins; catch-up takes cases planned later."""

from __future__ import annotations

from migration.rules.matching import Rule
from migration.rules.routing import SPECIALISM_NATIONALITIES

CATCH_UP = "catch_up"

WAVES: tuple[Rule, ...] = (
    Rule("resettlement", "resettlement", {"case_type": "resettlement"}, "UNHCR resettlement cases"),
    Rule("detained", "detained_nsa", {"detained": True}, "detained cases"),
    Rule("non_suspensive_appeal", "detained_nsa", {"nsa": True}, "non-suspensive appeal cases"),
    Rule("uasc", "uasc", {"uasc": True}, "unaccompanied asylum-seeking children"),
    Rule("older_case", "older_cases", {"older": True}, "received more than 36 months before the as-of date"),
    Rule("nationality_specialism", "specialisms", {"nationality": SPECIALISM_NATIONALITIES},
         "main applicant's nationality has a specialist unit"),
    Rule("rest", "rest", {}, "every other in-flight case"),
)

# Every wave in the order it runs.
WAVE_ORDER: tuple[str, ...] = (
    "resettlement", "detained_nsa", "uasc", "older_cases", "specialisms", "rest", CATCH_UP,
)
