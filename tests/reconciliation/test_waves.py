"""`reconcile --wave W` runs every check and gives the overall reconciliation restricted to W;
an unknown wave is refused."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from core.db import create_engine
from cutover.cli import main
from legacy.schema import CASE_PERSON as L_CASE_PERSON
from legacy.schema import DECISION as L_DECISION
from legacy.schema import PERSON as L_PERSON
from migration.rules.waves import WAVE_ORDER
from migration.run import RunConfig
from migration.target_schema import ADDRESS, CASE, CASE_PARTY, CUTOVER_CASE, DECISION
from reconciliation import UnknownWave, reconcile
from tests.helpers import AS_OF, generate, run_all


def _one_per_wave(target: str) -> dict[str, int]:
    """A migrated case of each wave that has one (its legacy CASE_ID)."""
    with create_engine(target).connect() as conn:
        rows = conn.execute(sa.select(CUTOVER_CASE.c.wave, sa.func.min(CUTOVER_CASE.c.legacy_case_id))
                            .where(CUTOVER_CASE.c.state == "migrated").group_by(CUTOVER_CASE.c.wave)).all()
    return {wave: int(case_id) for wave, case_id in rows}


def _damage(legacy: str, target: str, victims: list[int]) -> None:
    """A different kind of damage to each victim case: on the target (tampered field, deleted
    address, inserted decision) and in CID (a decision's outcome changed, a person's language
    changed without LAST_UPD_TS moving)."""
    first, second, third, fourth = victims[:4]
    with create_engine(target).begin() as conn:
        case_row = conn.execute(sa.select(CASE.c.case_id, CASE.c.priority).where(CASE.c.legacy_case_id == first)).one()
        conn.execute(sa.update(CASE).where(CASE.c.case_id == case_row.case_id).values(priority=not case_row.priority))
        persons = sa.select(CASE_PARTY.c.person_id).join(CASE, CASE.c.case_id == CASE_PARTY.c.case_id).where(
            CASE.c.legacy_case_id == second)
        addresses = sa.select(ADDRESS.c.address_id).order_by(ADDRESS.c.person_id.in_(persons).desc()).limit(1)
        address = conn.execute(addresses).scalar()
        conn.execute(sa.delete(ADDRESS).where(ADDRESS.c.address_id == address))
        third_case = conn.execute(sa.select(CASE.c.case_id).where(CASE.c.legacy_case_id == third)).scalar()
        conn.execute(DECISION.insert().values(decision_id=uuid.uuid4(), case_id=third_case, outcome="grant",
                                              decided_on=AS_OF, appeal_lodged=False, legacy_decision_id=99999999))
    with create_engine(legacy).begin() as conn:
        conn.execute(sa.update(L_DECISION).where(L_DECISION.c.CASE_ID.in_([fourth])).values(OUTCOME_CD="NFA"))
        person = conn.execute(sa.select(sa.func.min(L_CASE_PERSON.c.PERSON_ID)).where(
            L_CASE_PERSON.c.CASE_ID.in_([first]))).scalar()
        conn.execute(sa.update(L_PERSON).where(L_PERSON.c.PERSON_ID.in_([person])).values(LANGUAGE="Esperanto"))


@pytest.fixture
def damaged(databases):  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 500, seed=23)
    run_all(RunConfig(legacy, target, AS_OF, batch_size=200))
    victims = _one_per_wave(target)
    assert len(victims) >= 4
    _damage(legacy, target, list(victims.values()))
    return legacy, target


def _key(d):  # type: ignore[no-untyped-def]
    return repr(d)


@pytest.mark.e2e
def test_each_wave_is_the_overall_reconciliation_restricted_to_it(damaged) -> None:  # type: ignore[no-untyped-def]
    legacy, target = (create_engine(url) for url in damaged)
    overall = reconcile(legacy, target, AS_OF)
    kinds = {d.kind for d in overall.discrepancies}
    assert {"field_mismatch", "unexpected_in_target", "changed_since_migration", "child_row_missing"} <= kinds
    assert all(d.wave in WAVE_ORDER and d.legacy_case_id is not None for d in overall.discrepancies)
    assert len({d.wave for d in overall.discrepancies}) >= 3
    seen = []
    for wave in WAVE_ORDER:
        one = reconcile(legacy, target, AS_OF, wave=wave)
        assert sorted(one.discrepancies, key=_key) == sorted(
            (d for d in overall.discrepancies if d.wave == wave), key=_key)
        assert one.waves == {wave: overall.waves[wave]}
        assert {k: v for k, v in one.totals.items() if k != "excluded"} == {
            k: v for k, v in overall.waves[wave].items() if k != "entities"}
        assert one.balanced == (not one.discrepancies and overall.waves[wave]["unexplained"] == 0)
        seen.extend(one.discrepancies)
    assert sorted(seen, key=_key) == sorted(overall.discrepancies, key=_key)


def test_an_unknown_wave_is_refused_in_one_line(databases, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    legacy, target = databases.new("legacy"), databases.new("target")
    generate(legacy, 20, seed=3)
    with pytest.raises(UnknownWave, match="the waves are resettlement, "):
        reconcile(create_engine(legacy), create_engine(target), AS_OF, wave="uasx")
    code = main(["reconcile", "--legacy", legacy, "--target", target, "--as-of", AS_OF.isoformat(), "--wave", "uasx",
                 "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "unknown wave" in err and "uasc" in err


def test_restricting_keeps_the_waves_figures_and_discrepancies_only() -> None:
    from reconciliation.compare import Discrepancy, Reconciliation, restricted

    row = {"entity": "case_party", "legacy": 2, "target": 2, "dropped": 0, "merged": 0, "unexpected": 0,
           "balanced": True}
    uasc = {"in_flight": 3, "migrated": 2, "quarantined": 0, "pending": 0, "unexplained": 1,
            "entities": [{**row, "entity": "person"}, row]}
    rest = {"in_flight": 5, "migrated": 5, "quarantined": 0, "pending": 0, "unexplained": 0, "entities": []}
    found = [Discrepancy("missing_in_target", "case", 7, None, 7, "uasc"),
             Discrepancy("field_mismatch", "person", 9, "language", 8, "rest")]
    overall = Reconciliation(totals={"in_flight": 8, "migrated": 7, "quarantined": 0, "pending": 0, "excluded": 4,
                                     "unexplained": 1}, waves={"uasc": uasc, "rest": rest},
                             entities=[{**row, "legacy": 7}, {**row, "entity": "person"}], discrepancies=found)
    one = restricted(overall, "uasc")
    assert one.waves == {"uasc": uasc} and one.discrepancies == found[:1] and not one.balanced
    assert one.totals == {"in_flight": 3, "migrated": 2, "quarantined": 0, "pending": 0, "excluded": 4,
                          "unexplained": 1}
    assert [r["entity"] for r in one.entities] == ["case_party", "person"] and one.entities[0]["legacy"] == 2
    other = restricted(overall, "rest")
    assert other.discrepancies == found[1:] and other.totals["in_flight"] == 5 and other.entities == []
