"""Passwords are masked in what flows are given and put back from where the operator keeps them."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect.blocks.system import Secret
from pydantic import SecretStr

from core import credentials
from core.db import DatabaseError, create_engine, safe_url
from migration.run import RunConfig

WITH_PASSWORD = "postgresql+psycopg://mover:s3cr%40t@db.internal:5433/atlas"
MASKED = "postgresql+psycopg://mover:***@db.internal:5433/atlas"


@pytest.fixture(autouse=True)
def no_credentials_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CUTOVER_LEGACY_URL", "CUTOVER_TARGET_URL", "CUTOVER_LEGACY_PASSWORD_BLOCK",
                 "CUTOVER_TARGET_PASSWORD_BLOCK"):
        monkeypatch.setenv(name, "")  # so that whatever a test sets is undone after it
        monkeypatch.delenv(name)


def test_a_run_configuration_is_handed_to_flows_with_both_passwords_masked() -> None:
    cfg = RunConfig(legacy_url="postgresql://reader:legacy-pw@cid/cid", target_url=WITH_PASSWORD,
                    as_of=dt.date(2026, 11, 1))
    masked = credentials.masked_config(cfg)
    assert masked.target_url == MASKED
    assert masked.legacy_url == "postgresql://reader:***@cid/cid"
    assert "legacy-pw" not in repr(masked) and "s3cr" not in repr(masked)
    assert credentials.masked("sqlite:///data/target.db") == "sqlite:///data/target.db"


def test_a_masked_password_comes_back_from_the_matching_environment_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOVER_TARGET_URL", WITH_PASSWORD)
    assert credentials.resolve(MASKED, "target") == WITH_PASSWORD
    # the other side's variable, or another database, user or port, is not taken
    assert credentials.resolve(MASKED, "legacy") == "postgresql+psycopg://mover@db.internal:5433/atlas"
    other_db = "postgresql+psycopg://mover:***@db.internal:5433/other"
    assert credentials.resolve(other_db, "target") == "postgresql+psycopg://mover@db.internal:5433/other"
    other_user = "postgresql+psycopg://admin:***@db.internal:5433/atlas"
    assert credentials.resolve(other_user, "target") == "postgresql+psycopg://admin@db.internal:5433/atlas"


def test_a_password_in_the_query_is_masked_and_put_back_too(monkeypatch: pytest.MonkeyPatch) -> None:
    given = "postgresql+psycopg://mover@db.internal/atlas?password=qu3ry&sslmode=require"
    shown = credentials.masked(given)
    assert "qu3ry" not in shown and "sslmode=require" in shown
    assert credentials.resolve(shown, "target") == "postgresql+psycopg://mover@db.internal/atlas?sslmode=require"
    credentials.remember(given, "target")
    assert credentials.resolve(shown, "target") == (
        "postgresql+psycopg://mover:qu3ry@db.internal/atlas?sslmode=require")


def test_without_a_known_password_the_url_has_none_so_libpq_reads_pgpass() -> None:
    assert credentials.resolve(MASKED, "target") == "postgresql+psycopg://mover@db.internal:5433/atlas"
    assert credentials.resolve(WITH_PASSWORD, "target") == WITH_PASSWORD  # a real password is kept


def test_a_url_given_on_the_command_line_is_remembered_for_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.remember(WITH_PASSWORD, "target")
    credentials.remember("sqlite:///legacy.db", "legacy")  # nothing to remember
    cfg = RunConfig(legacy_url="sqlite:///legacy.db", target_url=MASKED, as_of=dt.date(2026, 11, 1))
    assert credentials.resolved_config(cfg) == RunConfig(legacy_url="sqlite:///legacy.db",
                                                         target_url=WITH_PASSWORD, as_of=dt.date(2026, 11, 1))


def test_a_masked_password_comes_from_the_prefect_secret_block_named_by_the_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []

    def load(name: str) -> Secret:
        loaded.append(name)
        return Secret(value=SecretStr("from-the-block"))

    monkeypatch.setattr(Secret, "load", load)
    monkeypatch.setenv("CUTOVER_TARGET_PASSWORD_BLOCK", "atlas-password")
    credentials._secret.cache_clear()
    assert credentials.resolve(MASKED, "target") == "postgresql+psycopg://mover:from-the-block@db.internal:5433/atlas"
    assert credentials.resolve(MASKED, "target") == "postgresql+psycopg://mover:from-the-block@db.internal:5433/atlas"
    assert loaded == ["atlas-password"]  # read once, not once per batch
    credentials._secret.cache_clear()


def test_a_malformed_url_is_not_echoed() -> None:
    with pytest.raises(DatabaseError) as caught:
        create_engine("postgres ql://mover:hunter2@db/atlas")
    assert "hunter2" not in str(caught.value) and "mover" not in str(caught.value)


def test_a_password_holding_an_unescaped_at_sign_is_masked_whole() -> None:
    url = "postgresql+psycopg://mover:s3c@ret@db:5432/atlas"
    assert credentials.masked(url) == "postgresql+psycopg://mover:***@db:5432/atlas"
    assert safe_url(url) == "postgresql+psycopg://mover:***@db:5432/atlas"
    assert credentials.parse_url(url).password == "s3c@ret" and credentials.parse_url(url).host == "db"
