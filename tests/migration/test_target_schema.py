"""The target model, created by the shipped Alembic migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import create_engine
from migration.load import current_revision, head_revision, upgrade_target
from migration.target_schema import BUSINESS_TABLES, CASE, CUTOVER_TABLES, UNIT, target_metadata
from migration.transform.keys import NAMESPACE, key


def test_alembic_creates_the_whole_model_with_no_drift(databases) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(databases.new("schema"))
    assert current_revision(engine) is None
    assert upgrade_target(engine) == head_revision()
    assert current_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert {t.name for t in BUSINESS_TABLES + CUTOVER_TABLES} <= names
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), target_metadata)
    assert diff == []
    upgrade_target(engine)  # a second upgrade is a no-op


def test_the_newest_revision_by_file_name_is_alembics_head() -> None:
    from migration.load.schema import newest_shipped

    assert newest_shipped() == head_revision()


def test_the_model_is_strict(databases) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(databases.new("strict"))
    upgrade_target(engine)
    with engine.connect() as conn:
        try:
            conn.execute(sa.text("INSERT INTO unit (unit_code, name) VALUES ('X', 'x')"))
            conn.execute(sa.text(
                "INSERT INTO vulnerability (vulnerability_id, case_id, kind, legacy_flag_id) "
                "VALUES ('00000000000000000000000000000001', '00000000000000000000000000000002', 'nonsense', 1)"
                if engine.dialect.name == "sqlite" else
                "INSERT INTO vulnerability (vulnerability_id, case_id, kind, legacy_flag_id) VALUES "
                "('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', 'nonsense', 1)"))
        except sa.exc.IntegrityError:
            conn.rollback()
        else:
            raise AssertionError("an unknown enumeration value and a dangling case were accepted")


def _at_revision(url: str, revision: str, *, case_key: uuid.UUID | None) -> sa.Engine:
    from alembic import command

    from migration.load.schema import alembic_config

    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.execute(sa.insert(UNIT).values(unit_code="U1", name="unit"))
        if case_key is not None:
            conn.execute(sa.insert(CASE).values(
                case_id=case_key, case_ref="CID/2020/0004711", legacy_ref="CID/2020/0004711", legacy_case_id=4711,
                legacy_status_code="AWDC", case_type="asylum", lifecycle_state="awaiting_decision",
                received_on=dt.date(2020, 1, 1), owning_unit="U1", routing_rule="r", priority=False,
                detained=False, supported=False, high_harm=False))
    return engine


def test_a_target_holding_cases_under_uuid5_keys_is_refused_not_rekeyed(databases) -> None:  # type: ignore[no-untyped-def]
    from core.errors import DatabaseError

    engine = _at_revision(databases.new("keyed_v5"), "0010", case_key=uuid.uuid5(NAMESPACE, "case/4711"))
    with pytest.raises(DatabaseError, match="re-keying a target is not built; migrate into an empty target") as err:
        upgrade_target(engine)
    assert "4711" not in str(err.value)
    assert current_revision(engine) == "0010"
    for label, case_key in (("empty", None), ("keyed_v8", key("case", 4711))):
        assert upgrade_target(_at_revision(databases.new(label), "0010", case_key=case_key)) == head_revision()


def test_the_command_line_names_the_refusal_in_one_line(databases, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from cutover.cli import main

    url = databases.new("keyed_v5_cli")
    engine = _at_revision(url, "0010", case_key=uuid.uuid5(NAMESPACE, "case/4711"))
    assert main(["init-target", "--target", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cutover: error: the target holds cases keyed by uuid5") and "\n" not in err
    assert current_revision(engine) == "0010"
