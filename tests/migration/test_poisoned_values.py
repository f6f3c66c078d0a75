"""A value the driver refuses, reading CID or writing the target, quarantines its case, never its
batch; the finding names table, column and key, and the driver's message (which can quote the
value) reaches neither the logs nor the findings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import create_engine
from legacy.schema import CASE_NOTE, UNHCR_REFERRAL
from migration.run import RunConfig
from migration.target_schema import CUTOVER_CASE, CUTOVER_FINDING, CUTOVER_LEDGER
from tests.helpers import AS_OF, generate, run_all

pytestmark = pytest.mark.e2e  # migrates a generated CID whole per poisoned value

SECRET = "SECRETVALUE"


class Captured(logging.Handler):
    """Every record the cutover logger emits, as text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged() -> Iterator[Captured]:
    """The cutover logger's messages at every level during the test."""
    logger, handler = logging.getLogger("cutover"), Captured()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def _states(target: str) -> dict[int, str]:
    with create_engine(target).connect() as conn:
        return dict(conn.execute(sa.select(CUTOVER_CASE.c.legacy_case_id, CUTOVER_CASE.c.state)).all())


def _findings(target: str, case_id: int) -> list[tuple]:
    with create_engine(target).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(
            CUTOVER_FINDING.c.rule, CUTOVER_FINDING.c.entity, CUTOVER_FINDING.c.field, CUTOVER_FINDING.c.legacy_key,
            CUTOVER_FINDING.c.defect).where(CUTOVER_FINDING.c.legacy_case_id == case_id))]


def _all_recorded_text(target: str) -> str:
    with create_engine(target).connect() as conn:
        rows = [*conn.execute(sa.select(CUTOVER_FINDING)), *conn.execute(sa.select(CUTOVER_LEDGER))]
    return "\n".join(repr(tuple(r)) for r in rows)


def _a_migrated_note(legacy: str, target: str) -> tuple[int, int]:
    """(CASE_ID, NOTE_ID) of a live note of a migrated case."""
    migrated = sorted(cid for cid, state in _states(target).items() if state == "migrated")
    with create_engine(legacy).connect() as conn:
        live = sa.func.coalesce(CASE_NOTE.c.DELETED_FLG, "N") != "Y"
        row = conn.execute(sa.select(CASE_NOTE.c.CASE_ID, CASE_NOTE.c.NOTE_ID)
                           .where(CASE_NOTE.c.CASE_ID.in_(migrated), live, CASE_NOTE.c.CREATED_TS.is_not(None))
                           .order_by(CASE_NOTE.c.CASE_ID).limit(1)).one()
    return int(row[0]), int(row[1])


def _poisoned_run(legacy: str, clean: str, poisoned: str, poison: str) -> tuple[int, int]:
    """Run the clean CID into `clean`, poison one note's column by SQL, run into `poisoned`; the
    states must differ only in the poisoned case, which is quarantined. (CASE_ID, NOTE_ID)."""
    run_all(RunConfig(legacy, clean, AS_OF, batch_size=1000))
    case_id, note_id = _a_migrated_note(legacy, clean)
    with create_engine(legacy).begin() as conn:
        conn.execute(sa.text(poison), {"note": note_id})
    run_all(RunConfig(legacy, poisoned, AS_OF, batch_size=1000))
    expected = _states(clean) | {case_id: "quarantined"}
    assert _states(poisoned) == expected
    return case_id, note_id


def test_an_infinite_note_time_quarantines_its_case_only(pg_databases, logged: Captured) -> None:  # type: ignore[no-untyped-def]
    legacy, clean, poisoned = pg_databases.new("legacy"), pg_databases.new("clean"), pg_databases.new("poisoned")
    generate(legacy, 250, seed=51)
    case_id, note_id = _poisoned_run(legacy, clean, poisoned,
                                     'UPDATE "CASE_NOTE" SET "CREATED_TS" = \'infinity\' WHERE "NOTE_ID" = :note')
    assert ("read.unreadable_value", "CASE_NOTE", "CREATED_TS", note_id, "unreadable_value") in _findings(
        poisoned, case_id)
    text = "\n".join(logged.lines) + _all_recorded_text(poisoned)
    assert "infinity" not in text and "too large" not in text
    assert any("CASE_NOTE.CREATED_TS" in line and "DataError" in line for line in logged.lines)


def test_text_that_is_not_utf8_quarantines_its_case_only(tmp_path: Path, logged: Captured) -> None:
    legacy, clean, poisoned = (f"sqlite:///{tmp_path / n}.db" for n in ("legacy", "clean", "poisoned"))
    generate(legacy, 250, seed=52)
    case_id, note_id = _poisoned_run(legacy, clean, poisoned, 'UPDATE "CASE_NOTE" SET "NOTE_TEXT" = '
                                     f"CAST(X'{SECRET.encode().hex()}FF{SECRET.encode().hex()}' AS TEXT) "
                                     'WHERE "NOTE_ID" = :note')
    assert ("read.unreadable_value", "CASE_NOTE", "NOTE_TEXT", note_id, "unreadable_value") in _findings(
        poisoned, case_id)
    text = "\n".join(logged.lines) + _all_recorded_text(poisoned)
    assert SECRET not in text and "decode" not in text


def test_a_nul_character_the_target_cannot_store_quarantines_its_case_only(pg_databases, tmp_path: Path,
                                                                           logged: Captured) -> None:
    legacy = f"sqlite:///{tmp_path / 'legacy'}.db"
    clean, poisoned = pg_databases.new("clean"), pg_databases.new("poisoned")
    generate(legacy, 250, seed=53)
    case_id, _ = _poisoned_run(legacy, clean, poisoned, 'UPDATE "CASE_NOTE" SET "AUTHOR_CD" = '
                               f"'CW' || char(0) || '{SECRET}' WHERE \"NOTE_ID\" = :note")
    assert ("load.rejected", "case_note", "author", case_id, None) in _findings(poisoned, case_id)
    text = "\n".join(logged.lines) + _all_recorded_text(poisoned)
    assert SECRET not in text and "NUL" not in text


def test_a_number_too_large_for_the_target_quarantines_its_case_only(pg_databases, tmp_path: Path,
                                                                     logged: Captured) -> None:
    legacy = f"sqlite:///{tmp_path / 'legacy'}.db"
    clean, poisoned = pg_databases.new("clean"), pg_databases.new("poisoned")
    generate(legacy, 250, seed=54)
    run_all(RunConfig(legacy, clean, AS_OF, batch_size=1000))
    migrated = sorted(cid for cid, state in _states(clean).items() if state == "migrated")
    huge = 2**40 + 12345
    with create_engine(legacy).begin() as conn:
        referral, case_id = conn.execute(sa.select(UNHCR_REFERRAL.c.REFERRAL_ID, UNHCR_REFERRAL.c.CASE_ID)
                                         .where(UNHCR_REFERRAL.c.CASE_ID.in_(migrated))
                                         .order_by(UNHCR_REFERRAL.c.REFERRAL_ID).limit(1)).one()
        conn.execute(sa.update(UNHCR_REFERRAL).filter_by(REFERRAL_ID=referral).values(FAMILY_SIZE=huge))
    run_all(RunConfig(legacy, poisoned, AS_OF, batch_size=1000))
    assert _states(poisoned) == _states(clean) | {case_id: "quarantined"}
    assert ("load.rejected", "resettlement_referral", "family_size", case_id, None) in _findings(poisoned, case_id)
    text = "\n".join(logged.lines) + _all_recorded_text(poisoned)
    assert str(huge) not in text and "out of range" not in text
