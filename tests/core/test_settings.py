"""Settings: defaults, CUTOVER_* variables over them, flags over both; faults named in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import SettingsError, load_settings
from migration.rules import use_rules


@pytest.fixture(autouse=True)
def shipped_rules_after() -> Iterator[None]:
    yield
    use_rules(None)


def test_paths_default_under_the_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CUTOVER_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.data_dir == tmp_path and settings.legacy_url == f"sqlite:///{tmp_path / 'legacy.db'}"
    assert settings.signing_key == tmp_path / "keys" / "ledger-ed25519.pem"
    assert settings.checkpoints is None  # checkpoints are kept per log origin unless a file is given


def test_variables_override_defaults_and_flags_override_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUTOVER_BATCH_SIZE", "40")
    monkeypatch.setenv("CUTOVER_LANES", "3")
    monkeypatch.setenv("CUTOVER_RETRY_MAX_WAIT_SECONDS", "2.5")
    settings = load_settings(lanes=5, target_url=None)
    assert (settings.batch_size, settings.lanes, settings.retry_max_wait_seconds) == (40, 5, 2.5)
    assert settings.target_url.endswith("target.db")


def test_the_periods_are_those_of_the_rules(tmp_path: Path) -> None:
    dates = tmp_path / "dates.toml"
    dates.write_text("appeal_window_days = 28\nolder_case_months = 48\n")
    assert (load_settings().appeal_window_days, load_settings().older_case_months) == (14, 36)
    settings = load_settings(rules=dates)
    assert (settings.appeal_window_days, settings.older_case_months) == (28, 48)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("CUTOVER_BATCH_SIZE", "many", "setting batch_size (CUTOVER_BATCH_SIZE): Input should be a valid integer"),
    ("CUTOVER_BATCH_SIZE", "0", "batch size must be between 1 and 100000, got 0"),
    ("CUTOVER_MAX_WORKERS", "0", "max workers must be at least 1, got 0"),
    ("CUTOVER_RETRY_ATTEMPTS", "secret-pw", "setting retry_attempts (CUTOVER_RETRY_ATTEMPTS): Input should be"),
])
def test_a_bad_value_is_named_in_one_line_without_echoing_text(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                               value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text
    assert value not in text or value.isdigit()
