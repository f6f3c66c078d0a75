"""The rules files: a migration engineer changes a route or a wave in TOML, with no code touched,
and the migration follows; a file that does not fit is refused with the file and the place named."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.db import create_engine
from cutover.cli import main
from legacy.refdata import REF_NATIONALITY_ROWS, REF_STATUS_ROWS, REF_UNIT_ROWS
from legacy.schema import CASE_HDR
from migration.extract import LegacyBatch, LegacyReference, extract_batch, read_reference
from migration.extract.batch import legacy_frame, legacy_schema
from migration.plan import PlannedCase, classify_cases
from migration.rules import RulesError, current_rules, load_rules, rules_digest, use_rules
from migration.rules.loader import ENVIRONMENT_VARIABLE, SHIPPED
from migration.rules.matching import first_match
from migration.run import RunConfig
from migration.target_schema import CASE, CASE_PARTY, PERSON
from migration.transform import transform_batch
from migration.transform.batch import routing_facts
from migration.transform.frames import dicts_of
from reconciliation import reconcile
from tests.conftest import AS_OF, Databases
from tests.helpers import generate, run_all

REFERENCE = LegacyReference(
    statuses={code: (terminal == "Y", bool(retired)) for code, _, _, _, terminal, retired in REF_STATUS_ROWS},
    nationalities={code: iso3 for code, _, iso3 in REF_NATIONALITY_ROWS},
    unit_regions={code: region for code, _, region, _ in REF_UNIT_ROWS},
    duplicate_ho_refs=frozenset(), colliding_refs=frozenset(),
)


@pytest.fixture(autouse=True)
def shipped_rules_after() -> Iterator[None]:
    """Each test leaves the shipped rules in force, whatever it put in force."""
    before = os.environ.get(ENVIRONMENT_VARIABLE)
    yield
    if before is None:
        os.environ.pop(ENVIRONMENT_VARIABLE, None)
    else:
        os.environ[ENVIRONMENT_VARIABLE] = before
    use_rules(before)


def rules_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of the shipped rules folder with one edit to one file."""
    folder = tmp_path / "rules"
    shutil.copytree(SHIPPED, folder)
    path = folder / f"{name}.toml"
    text = path.read_text()
    assert old in text, f"{old!r} is not in {name}.toml"
    path.write_text(text.replace(old, new, 1))
    return folder


def _frame(table: str, row: dict[str, object]) -> Any:
    return legacy_frame(table, [tuple(row.get(c) for c in legacy_schema(table).names())])


def eritrean_case() -> LegacyBatch:
    """An asylum case of an Eritrean main applicant in private accommodation, received this year."""
    return LegacyBatch({
        "CASE_HDR": _frame("CASE_HDR", {"CASE_ID": 7, "CASE_REF": "CID/2026/0000007", "CASE_TYPE": "ASY",
                                        "STATUS_CD": "INTV", "DATE_RCVD": "2026-03-02", "OWNING_UNIT_CD": "CROY"}),
        "PERSON": _frame("PERSON", {"PERSON_ID": 70, "SURNAME": "Tesfay", "FORENAMES": "Abel", "DOB": "1990-01-01",
                                    "NATIONALITY": "ERITREAN", "GENDER": "M", "HO_REF": "T0000007"}),
        "CASE_PERSON": _frame("CASE_PERSON", {"CASE_PERSON_ID": 71, "CASE_ID": 7, "PERSON_ID": 70, "ROLE_CD": "MAIN"}),
        "ADDRESS": _frame("ADDRESS", {"ADDRESS_ID": 72, "PERSON_ID": 70, "LINE1": "1 High Street", "POSTCODE": None,
                                      "ADDR_TYPE": "PRIV", "FROM_DT": "2026-03-02", "TO_DT": None}),
    })


def routed(case: LegacyBatch, rules_folder: Path | None = None) -> tuple[str, str]:
    """(owning unit, routing rule) of a case transformed under the shipped or a replaced rules folder."""
    rules = load_rules(rules_folder) if rules_folder else None
    [row] = dicts_of("case", transform_batch(case, REFERENCE, AS_OF, rules=rules).rows["case"])
    return row["owning_unit"], row["routing_rule"]


def test_moving_a_nationality_to_another_unit_in_the_file_reroutes_the_case(tmp_path: Path) -> None:
    folder = rules_copy(tmp_path, "routing", 'MERSEY = ["ERI", "ETH",', 'MERSEY = ["ETH",')
    folder.joinpath("routing.toml").write_text(
        folder.joinpath("routing.toml").read_text().replace('WALES = ["IRQ",', 'WALES = ["ERI", "IRQ",', 1))
    assert routed(eritrean_case()) == ("MERSEY", "nationality_mersey")
    assert routed(eritrean_case(), folder) == ("WALES", "nationality_wales")


def test_a_new_routing_rule_in_the_file_wins_where_it_stands(tmp_path: Path) -> None:
    new_rule = ('[[routes]]\nname = "eritrea_to_newcastle"\nunit = "NEWCASTLE"\nwhen = { nationality = "ERI" }\n\n'
                '[[routes]]\nname = "initial_accommodation_or_hotel"')
    folder = rules_copy(tmp_path, "routing", '[[routes]]\nname = "initial_accommodation_or_hotel"', new_rule)
    assert routed(eritrean_case(), folder) == ("NEWCASTLE", "eritrea_to_newcastle")


def test_changing_a_cohort_condition_moves_cases_between_waves(databases: Databases, tmp_path: Path) -> None:
    url = databases.new("cid")
    generate(url, 300, seed=5)
    folder = rules_copy(tmp_path, "waves", 'when = { case_type = "resettlement" }',
                        'when = { case_type = "family_reunion" }')
    engine = create_engine(url)
    with engine.connect() as conn:
        types = dict(conn.execute(sa.select(CASE_HDR.c.CASE_ID, CASE_HDR.c.CASE_TYPE)).all())

        def first_wave_types(rules_folder: Path | None) -> set[str]:
            rules = load_rules(rules_folder)
            return {types[c.case_id] for c in classify_cases(conn, AS_OF, rules=rules)
                    if isinstance(c, PlannedCase) and c.wave == "resettlement"}

        assert first_wave_types(None) == {"RES"}
        assert first_wave_types(folder) == {"FRU"}
    engine.dispose()


def test_plan_and_transform_read_the_same_facts(databases: Databases, tmp_path: Path) -> None:
    """With a wave that asks address facts, the wave the plan gives each in-flight case is the wave
    the transform's facts give it (cases with one main applicant: the others are quarantined)."""
    url = databases.new("cid")
    generate(url, 300, seed=9)
    folder = rules_copy(tmp_path, "waves", 'when = { uasc = true }',
                        'when = { accommodation = ["hotel", "initial_accommodation"], postcode_region = "REGION_LSE" }')
    rules = load_rules(folder)
    engine = create_engine(url)
    with engine.connect() as conn:
        planned = {c.case_id: c.wave for c in classify_cases(conn, AS_OF, rules=rules) if isinstance(c, PlannedCase)}
        reference = read_reference(conn)
        legacy = extract_batch(conn, sorted(planned))
    engine.dispose()
    compared = Counter[str]()
    for facts in routing_facts(legacy, reference, AS_OF, rules).iter_rows(named=True):
        if facts["MAIN_PERSON_ID"] is None:
            continue
        wave = first_match(rules.waves, facts).outcome
        assert wave == planned[facts["CASE_ID"]], facts["CASE_ID"]
        compared[wave] += 1
    assert compared["uasc"] > 0 and sum(compared.values()) > len(planned) * 0.8


def test_the_plan_command_follows_a_rules_folder_given_with_the_flag(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cid.db'}"
    generate(url, 300, seed=5)
    folder = rules_copy(tmp_path, "waves", 'when = { uasc = true }', 'when = { uasc = true, gender = "male" }')
    plans = []
    for extra in ([], ["--rules", str(folder)]):
        assert main(["plan", "--legacy", url, "--as-of", AS_OF.isoformat(), "--format", "json", *extra]) == 0
        plans.append({w["name"]: w["cases"] for w in json.loads(capsys.readouterr().out)["waves"]})
    shipped, replaced = plans
    assert 0 < replaced["uasc"] < shipped["uasc"]
    assert sum(replaced.values()) == sum(shipped.values())


@pytest.mark.e2e
def test_a_run_under_a_changed_routing_file_routes_by_it_and_reconciles(databases: Databases,
                                                                      tmp_path: Path) -> None:
    folder = rules_copy(tmp_path, "routing", 'MERSEY = ["ERI", "ETH",', 'MERSEY = ["ETH",')
    folder.joinpath("routing.toml").write_text(
        folder.joinpath("routing.toml").read_text().replace('WALES = ["IRQ",', 'WALES = ["ERI", "IRQ",', 1))
    legacy, target = databases.new("cid"), databases.new("atlas")
    generate(legacy, 400, seed=3)
    use_rules(folder)
    cfg = RunConfig(legacy_url=legacy, target_url=target, as_of=AS_OF)
    run_all(cfg)
    main_nationality = (sa.select(CASE.c.routing_rule, PERSON.c.nationality)
                        .join(CASE_PARTY, CASE_PARTY.c.case_id == CASE.c.case_id)
                        .join(PERSON, PERSON.c.person_id == CASE_PARTY.c.person_id)
                        .where(CASE_PARTY.c.role == "main_applicant"))
    engine = create_engine(target)
    with engine.connect() as conn:
        rules_of_eritreans = Counter(rule for rule, iso3 in conn.execute(main_nationality) if iso3 == "ERI")
    assert rules_of_eritreans["nationality_wales"] > 0 and rules_of_eritreans["nationality_mersey"] == 0
    assert reconcile(create_engine(legacy), engine, AS_OF).balanced
    engine.dispose()


def test_one_file_replaces_the_shipped_file_of_its_name(tmp_path: Path) -> None:
    path = tmp_path / "dates.toml"
    path.write_text("appeal_window_days = 21\nolder_case_months = 24\n")
    rules = load_rules(path)
    assert (rules.appeal_window_days, rules.older_case_months) == (21, 24)
    assert rules.routes == current_rules().routes


def test_the_environment_variable_puts_the_rules_in_force_for_the_settings(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import load_settings

    path = tmp_path / "dates.toml"
    path.write_text("appeal_window_days = 30\nolder_case_months = 36\n")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(path))
    settings = load_settings()
    assert settings.appeal_window_days == 30 and current_rules().appeal_window_days == 30
    assert rules_digest() != load_rules().digest


def test_processes_a_run_starts_read_the_rules_it_put_in_force(tmp_path: Path) -> None:
    folder = rules_copy(tmp_path, "dates", "appeal_window_days = 14", "appeal_window_days = 10")
    digest = use_rules(folder).digest
    code = "from migration.rules import current_rules as r; print(r().digest, r().appeal_window_days)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == [digest, "10"] and digest != load_rules().digest


def test_the_digest_is_of_the_content_not_the_layout(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(SHIPPED, folder)
    for path in folder.glob("*.toml"):  # no comments, no blank lines: the same rules
        path.write_text("\n".join(line for line in path.read_text().splitlines()
                                  if line.strip() and not line.lstrip().startswith("#")) + "\n")
    assert re.fullmatch(r"[0-9a-f]{64}", rules_digest())
    assert load_rules(folder).digest == load_rules().digest == rules_digest()
    relabelled = rules_copy(tmp_path / "b", "policies", 'label = "Date received cannot be read"', 'label = "Bad date"')
    assert load_rules(relabelled).digest != rules_digest()


@pytest.mark.parametrize(("name", "old", "new", "expected"), [
    ("routing", 'unit = "DAC"', 'unit = "DAC', r"routing\.toml: .*line \d+"),
    ("codes", 'REG = "registered"', 'REG = "registred"',
     r"codes\.toml: statuses\.lifecycle\.REG: 'registred' is not one of the target's lifecycle states"),
    ("codes", 'DNA = "did_not_attend"', 'DNA = "no_show"',
     r"codes\.toml: appointment_outcomes\.DNA: 'no_show' is not one of the target's appointment outcomes"),
    ("routing", 'unit = "DAC"', 'unit = "DETAINED"', r"routing\.toml: route 'detained': 'DETAINED' is not a unit"),
    ("routing", "when = { detained = true }", "when = { in_detention = true }",
     r"routing\.toml: route 'detained' names no fact 'in_detention'"),
    ("routing", 'name = "no_region"\nunit = "NATIONAL_INTAKE"\nwhen = {}',
     'name = "no_region"\nunit = "NATIONAL_INTAKE"\nwhen = { older = false }', r"the last rule must have no condition"),
    ("waves", '"rest", "catch_up"]', '"rest"]', r"waves\.toml: .*'catch_up'"),
    ("waves", 'wave = "uasc"', 'wave = "children"', r"waves\.toml: cohort 'uasc': wave 'children' is not a planned"),
    ("nationalities", 'ERITREAN = "ERI"', 'ERITREAN = "ERT"', r"nationalities\.toml: aliases\.ERITREAN: 'ERT'"),
    ("policies", 'action = "quarantine"', 'action = "hold"', r"policies\.toml: case\.received_unparseable\.action"),
    ("policies", '["load.rejected"]', '["load.refused"]', r"policies\.toml: load\.rejected: the migration raises"),
    ("dates", "appeal_window_days = 14", "appeal_window_days = -1", r"dates\.toml: appeal_window_days: "),
])
def test_a_rules_file_that_does_not_fit_is_refused_naming_the_file_and_place(
        tmp_path: Path, name: str, old: str, new: str, expected: str) -> None:
    folder = rules_copy(tmp_path, name, old, new)
    with pytest.raises(RulesError) as caught:
        load_rules(folder)
    message = str(caught.value)
    assert str(folder / f"{name}.toml") in message and "\n" not in message
    assert re.search(expected, message), message


def test_the_command_line_reports_a_bad_rules_file_in_one_line(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = rules_copy(tmp_path, "waves", "order = [", "order = ")
    code = main(["plan", "--legacy", f"sqlite:///{tmp_path / 'cid.db'}", "--as-of", AS_OF.isoformat(),
                 "--rules", str(folder)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and re.search(r"waves\.toml: .*line 4", err), err


def test_a_rules_file_of_no_known_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text("")
    with pytest.raises(RulesError, match="routes.toml: its name must be one of"):
        load_rules(path)
