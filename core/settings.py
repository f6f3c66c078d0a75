"""Settings in one typed place (pydantic-settings): defaults, overridden by CUTOVER_* environment
variables, then by the command line's flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import CutoverError
from migration.rules import Rules, RulesError, current_rules, use_rules


class SettingsError(CutoverError):
    """A setting has a value that cannot be used."""


# Whole-number settings with their bounds: (name in messages, lowest, highest or None).
RANGES: dict[str, tuple[str, int, int | None]] = {
    "batch_size": ("batch size", 1, 100_000), "lanes": ("lanes", 1, 64), "max_workers": ("max workers", 1, None),
}


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

    @field_validator(*RANGES)
    @classmethod
    def _in_range(cls, value: int, info: ValidationInfo) -> int:
        name, low, high = RANGES[str(info.field_name)]
        if high is None and value < low:
            raise ValueError(f"{name} must be at least {low}, got {value}")
        if high is not None and not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, got {value}")
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
