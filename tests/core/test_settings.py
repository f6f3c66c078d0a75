"""Settings: defaults, CUTOVER_* variables over them, flags over both; faults named in one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import (
    LOCAL_CLUSTER_MIN_CASES,
    MAX_BATCH,
    MIN_BATCH,
    Parallelism,
    SettingsError,
    batch_size_for,
    choose_parallelism,
    load_settings,
)
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
    ("CUTOVER_BATCH_SIZE", "0", "setting batch_size (CUTOVER_BATCH_SIZE): batch size must be between 1 and 100000, "
                                "got 0"),
    ("CUTOVER_WORKERS", "0", "setting workers (CUTOVER_WORKERS): workers must be between 1 and 64, got 0"),
    ("CUTOVER_THREADS", "65", "setting threads (CUTOVER_THREADS): threads must be between 1 and 64, got 65"),
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


PG = "postgresql+psycopg://cutover@127.0.0.1:5432/target"


BIG = LOCAL_CLUSTER_MIN_CASES


@pytest.mark.parametrize(("target", "cases", "cores", "chosen"), [
    ("sqlite:///target.db", BIG, 8, Parallelism(threads=1)),  # SQLite takes one writer at a time
    (PG, BIG, 1, Parallelism(threads=2)),
    (PG, BIG - 1, 8, Parallelism(threads=2)),  # too little work to pay for starting worker processes
    (PG, BIG, 2, Parallelism(workers=2)),
    (PG, BIG, 6, Parallelism(workers=6)),
    (PG, 10 * BIG, 32, Parallelism(workers=8)),
])
def test_unset_the_parallelism_is_chosen_for_the_target_the_work_and_the_cores(target: str, cases: int, cores: int,
                                                                               chosen: Parallelism) -> None:
    assert choose_parallelism(load_settings(), target, cases, cores=cores) == chosen


@pytest.mark.parametrize(("variables", "chosen"), [
    ({"CUTOVER_THREADS": "3"}, Parallelism(threads=3)),
    ({"CUTOVER_WORKERS": "3"}, Parallelism(workers=3)),
    ({"CUTOVER_WORKERS": "3", "CUTOVER_DASK_ADDRESS": "tcp://10.0.0.5:8786"},
     Parallelism(dask_address="tcp://10.0.0.5:8786")),
])
def test_set_the_parallelism_wins_over_the_machine(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str],
                                                   chosen: Parallelism) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert choose_parallelism(load_settings(), "sqlite:///target.db", 100, cores=4) == chosen
    assert choose_parallelism(load_settings(), PG, BIG, cores=4) == chosen


def test_unset_batch_size_and_lanes_stay_open_for_each_wave_to_choose() -> None:
    settings = load_settings()
    assert (settings.batch_size, settings.lanes) == (None, None)


@pytest.mark.parametrize(("cases", "lanes", "size"), [
    (0, 2, MIN_BATCH), (1_500, 2, MIN_BATCH), (3_000, 2, 1_500), (6_000, 2, 3_000), (15_000, 2, 7_500),
    (15_000, 4, 3_750), (30_000, 2, MAX_BATCH), (600_000, 2, MAX_BATCH),
])
def test_a_wave_gets_a_batch_a_lane_within_the_bounds(cases: int, lanes: int, size: int) -> None:
    assert batch_size_for(cases, lanes) == size
