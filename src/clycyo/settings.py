"""How one Clycyo process is configured: the data folder, storage, proxies, limits, email.

Kept apart from `runtime.py` so that collector processes, which never open the event store, can
read their settings without importing it.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from clycyo.collect import limits
from clycyo.mail.smtp import SmtpSettings, smtp_from_env


@dataclass
class Settings:
    data_dir: Path
    storage_url: str | None = None  # None: DuckDB in the data folder
    trusted_proxies: int = 0  # proxy hops whose X-Forwarded-For is believed
    geoip_path: Path | None = None
    max_backlog_bytes: int = 1024 * 1024 * 1024
    rate_limit_source_per_s: float = 100.0  # requests per client address; 0: no limit
    rate_limit_key_per_s: float = 5000.0  # requests per site key; 0: no limit
    memory_limit: str | None = None  # DuckDB's memory_limit ("512MB"); None: DuckDB's default
    # A request's headers are due this long after the connection opens (or the previous answer),
    # its body this long after its headers; else 408 and the connection is closed.
    client_timeout_s: float = limits.MAX_BODY_READ_S
    # With --workers: how long a collector waits for each part of the core's answer to an
    # ordinary request (admin jobs have no ceiling); then 503.
    core_timeout_s: float = 300.0
    # Email reports and traffic-spike notices (`mail/`): None, nothing is sent.
    smtp: SmtpSettings | None = None
    # The address people reach the dashboard at, for links in email; None: mail has none.
    public_url: str | None = None

    @classmethod
    def from_env(cls, data_dir: Path | None = None, **overrides: object) -> Settings:
        data = data_dir or Path(os.environ.get("CLYCYO_DATA", "./clycyo-data"))
        settings = cls(data_dir=data.resolve())
        proxies = env_count("CLYCYO_TRUSTED_PROXIES")
        if proxies is not None:
            settings.trusted_proxies = proxies
        if os.environ.get("CLYCYO_GEOIP_DB"):
            settings.geoip_path = Path(os.environ["CLYCYO_GEOIP_DB"])
        if os.environ.get("CLYCYO_MEMORY_LIMIT"):
            settings.memory_limit = os.environ["CLYCYO_MEMORY_LIMIT"]
        settings.smtp = smtp_from_env()
        settings.public_url = check_public_url(os.environ.get("CLYCYO_PUBLIC_URL", ""))
        for name, variable in _NUMBER_ENV.items():
            if os.environ.get(variable):
                setattr(settings, name, _env_number(variable))
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, value)
        if settings.memory_limit is not None:
            settings.memory_limit = memory_size(settings.memory_limit)
        for name in ("rate_limit_source_per_s", "rate_limit_key_per_s"):
            rate_per_s = getattr(settings, name)
            # Written so that NaN fails too; infinity is no limit, which 0 already says.
            if not 0 <= rate_per_s < math.inf:
                raise ValueError(
                    f"{_NUMBER_ENV[name]}: {rate_per_s:g} is not a number of requests per second,"
                    " 0 (no limit) or more"
                )
        if not _MIN_CLIENT_TIMEOUT_S <= settings.client_timeout_s <= _MAX_CLIENT_TIMEOUT_S:
            raise ValueError(
                f"CLYCYO_CLIENT_TIMEOUT: {settings.client_timeout_s:g} is not a number of seconds"
                f" from {_MIN_CLIENT_TIMEOUT_S} up to {_MAX_CLIENT_TIMEOUT_S}"
            )
        if not 0 < settings.core_timeout_s < math.inf:
            raise ValueError(
                f"CLYCYO_CORE_TIMEOUT: {settings.core_timeout_s:g} is not a number of seconds,"
                " more than 0"
            )
        return settings


# The deadline sweep runs every quarter of the timeout: a tiny one would keep the event loop busy
# sweeping, and no client sends its headers over a real network in less.
_MIN_CLIENT_TIMEOUT_S = 0.5
_MAX_CLIENT_TIMEOUT_S = 3600
_MEMORY_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B)", re.IGNORECASE)


def memory_size(text: str) -> str:
    """A size as DuckDB takes it ("512MB", "2GiB"), checked here so a typo fails at start with
    the setting's name instead of deep inside the store."""
    match = _MEMORY_SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"memory limit {text!r} (--memory-limit, CLYCYO_MEMORY_LIMIT): a number and a unit"
            " (KB, MB, GB, TB or KiB, MiB, GiB, TiB), e.g. 512MB"
        )
    return f"{match[1]}{match[2]}"


def check_public_url(text: str) -> str | None:
    """`CLYCYO_PUBLIC_URL` (such as https://stats.example.com) without a trailing slash; None
    when unset."""
    url = text.strip().rstrip("/")
    if not url:
        return None
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest or any(c in rest for c in ' ?#"\r\n'):
        raise ValueError(
            f"CLYCYO_PUBLIC_URL={text!r}: expected the dashboard's address, such as"
            " https://stats.example.com"
        )
    return url


_NUMBER_ENV = {
    "rate_limit_source_per_s": "CLYCYO_RATE_LIMIT_SOURCE",
    "rate_limit_key_per_s": "CLYCYO_RATE_LIMIT_KEY",
    "client_timeout_s": "CLYCYO_CLIENT_TIMEOUT",
    "core_timeout_s": "CLYCYO_CORE_TIMEOUT",
}


def env_count(variable: str) -> int | None:
    """A whole number, 0 or more, from the environment (None when unset); a bad one is a
    ValueError naming the variable, so a typo fails at start rather than deep in the server."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{variable}={text!r}: expected a whole number, 0 or more")
    return int(text)


def _env_number(variable: str) -> float:
    text = os.environ[variable].strip()
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{variable}={text!r}: expected a number") from None


def config_path(data_dir: Path) -> Path:
    return data_dir / "config.sqlite"
