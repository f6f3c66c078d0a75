"""Settings in one typed place: defaults, overridden by CUTOVER_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from cutover.errors import CutoverError


class SettingsError(CutoverError):
    """A setting has a value that cannot be used."""


def _data_dir() -> Path:
    return Path(os.environ.get("CUTOVER_DATA_DIR", "data"))


@dataclass(frozen=True)
class Settings:
    """Every tunable of the tool; each field is overridable by CUTOVER_<FIELD NAME IN UPPER CASE>."""

    data_dir: Path = field(default_factory=_data_dir)
    legacy_url: str = ""
    target_url: str = ""
    batch_size: int = 500
    lanes: int = 2  # batches of a wave run at once; waves are cut into a multiple of this many
    log_level: str = "INFO"
    appeal_window_days: int = 14
    older_case_months: int = 36
    max_workers: int = 2
    retry_attempts: int = 5
    retry_max_wait_seconds: float = 30.0
    signing_key: Path | None = None
    checkpoints: Path | None = None
    log_origin: str = ""  # the ledger's origin for a new target; empty: a name and a fresh UUID
    dask_address: str = ""

    def __post_init__(self) -> None:
        data = Path(self.data_dir)
        object.__setattr__(self, "data_dir", data)
        if not self.legacy_url:
            object.__setattr__(self, "legacy_url", f"sqlite:///{data / 'legacy.db'}")
        if self.signing_key is None:
            object.__setattr__(self, "signing_key", data / "keys" / "ledger-ed25519.pem")
        if not self.target_url:
            object.__setattr__(self, "target_url", f"sqlite:///{data / 'target.db'}")
        if self.batch_size < 1 or self.batch_size > 100_000:
            raise SettingsError(f"batch size must be between 1 and 100000, got {self.batch_size}")
        if not 1 <= self.lanes <= 64:
            raise SettingsError(f"lanes must be between 1 and 64, got {self.lanes}")
        if self.max_workers < 1:
            raise SettingsError(f"max workers must be at least 1, got {self.max_workers}")


def load_settings(**overrides: object) -> Settings:
    """Build settings from defaults, then CUTOVER_* variables, then explicit non-None overrides."""
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = os.environ.get(f"CUTOVER_{f.name.upper()}")
        if raw is None:
            continue
        try:
            values[f.name] = _coerce(f.type, raw)
        except ValueError as exc:
            raise SettingsError(f"CUTOVER_{f.name.upper()}={raw!r} is not a valid {f.type}") from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]


def _coerce(type_name: object, raw: str) -> object:
    name = getattr(type_name, "__name__", str(type_name))
    if name == "int":
        return int(raw)
    if name == "float":
        return float(raw)
    if name in ("Path", "Path | None"):
        return Path(raw)
    return raw
