"""How one Clycyo process is configured: the data folder, storage, proxies, limits.

Kept apart from `runtime.py` so that collector processes, which never open the event store, can
read their settings without importing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Settings:
    data_dir: Path
    storage_url: str | None = None  # None: DuckDB in the data folder
    trusted_proxies: int = 0  # proxy hops whose X-Forwarded-For is believed
    geoip_path: Path | None = None
    max_backlog_bytes: int = 1024 * 1024 * 1024
    rate_limit_source_per_s: float = 100.0  # requests per client address; 0: no limit
    rate_limit_key_per_s: float = 5000.0  # requests per site key; 0: no limit

    @classmethod
    def from_env(cls, data_dir: Path | None = None, **overrides: object) -> Settings:
        data = data_dir or Path(os.environ.get("CLYCYO_DATA", "./clycyo-data"))
        settings = cls(data_dir=data.resolve())
        if os.environ.get("CLYCYO_TRUSTED_PROXIES"):
            settings.trusted_proxies = int(os.environ["CLYCYO_TRUSTED_PROXIES"])
        if os.environ.get("CLYCYO_GEOIP_DB"):
            settings.geoip_path = Path(os.environ["CLYCYO_GEOIP_DB"])
        for name, variable in _RATE_LIMIT_ENV.items():
            if os.environ.get(variable):
                setattr(settings, name, float(os.environ[variable]))
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, value)
        return settings


_RATE_LIMIT_ENV = {
    "rate_limit_source_per_s": "CLYCYO_RATE_LIMIT_SOURCE",
    "rate_limit_key_per_s": "CLYCYO_RATE_LIMIT_KEY",
}


def config_path(data_dir: Path) -> Path:
    return data_dir / "config.sqlite"
