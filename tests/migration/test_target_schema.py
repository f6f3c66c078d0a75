"""The target model, created by the shipped Alembic migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import create_engine
from migration.load import current_revision, head_revision, upgrade_target
from migration.target_schema import BUSINESS_TABLES, CUTOVER_TABLES, target_metadata


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
