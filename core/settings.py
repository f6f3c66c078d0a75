"""Settings in one typed place (pydantic-settings): defaults, overridden by CUTOVER_* environment
variables, then by the command line's flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import CutoverError
from migration.rules import Rules, RulesError, current_rules, use_rules


class SettingsError(CutoverError):
    """A setting has a value that cannot be used."""


class Settings(BaseSettings):
    """Every tunable of the tool; each field is overridable by CUTOVER_<FIELD NAME IN UPPER CASE>."""

    model_config = SettingsConfigDict(env_prefix="CUTOVER_", frozen=True, extra="ignore")

    data_dir: Path = Path("data")
    legacy_url: str = ""
    target_url: str = ""
    batch_size: int = 500
    lanes: int = 2  # batches of a wave run at once; waves are cut into a multiple of this many
    log_level: str = "INFO"
    max_workers: int = 2
    retry_attempts: int = 5
    retry_max_wait_seconds: float = 30.0
    signing_key: Path | None = None
    checkpoints: Path | None = None
    log_origin: str = ""  # the ledger's origin for a new target; empty: a name and a fresh UUID
    dask_address: str = ""
    rules: Path | None = None  # a folder or file replacing shipped rules files (migration/rules/tables)

    @model_validator(mode="before")
    @classmethod
    def _paths_under_data_dir(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        data = Path(values.get("data_dir") or "data")
        defaults = {"legacy_url": f"sqlite:///{data / 'legacy.db'}", "target_url": f"sqlite:///{data / 'target.db'}",
                    "signing_key": data / "keys" / "ledger-ed25519.pem"}
        return {**values, **{k: v for k, v in defaults.items() if not values.get(k)}}

    @field_validator("batch_size")
    @classmethod
    def _batch_size(cls, value: int) -> int:
        if not 1 <= value <= 100_000:
            raise ValueError(f"batch size must be between 1 and 100000, got {value}")
        return value

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, value: int) -> int:
        if not 1 <= value <= 64:
            raise ValueError(f"lanes must be between 1 and 64, got {value}")
        return value

    @field_validator("max_workers")
    @classmethod
    def _max_workers(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"max workers must be at least 1, got {value}")
        return value

    @property
    def rules_in_force(self) -> Rules:
        """The rules in force (`load_settings` puts the shipped files with `rules`' replacement in force)."""
        return current_rules()

    @property
    def appeal_window_days(self) -> int:
        """The appeal window of the rules in force (rules file dates.toml)."""
        return self.rules_in_force.appeal_window_days

    @property
    def older_case_months(self) -> int:
        """The older-case months of the rules in force (rules file dates.toml)."""
        return self.rules_in_force.older_case_months


def load_settings(**overrides: object) -> Settings:
    """Build settings from defaults, then CUTOVER_* variables, then explicit non-None overrides,
    and put their rules in force."""
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
        use_rules(settings.rules)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "value_error":  # one of the range checks above, worded for the reader
            raise SettingsError(first["msg"].removeprefix("Value error, ")) from None
        name = ".".join(str(p) for p in first["loc"])
        # The message names the setting and the fault, never the value (a URL can hold a password).
        raise SettingsError(f"setting {name} (CUTOVER_{name.upper()}): {first['msg']}") from None
    except RulesError as exc:
        raise SettingsError(str(exc)) from None
    return settings
