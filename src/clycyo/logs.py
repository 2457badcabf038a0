"""Structured logs: one JSON object per line on standard error, with no address in it.

Clycyo's modules log through the standard `logging` module and never pass an event's payload to
it; this formatter is the second line of defence for the promise that no IP address reaches disk
(operators often ship logs to files): every IPv4 or IPv6 address in a message or a traceback,
except loopback and unspecified ones (the server's own listening address), is replaced by `[ip]`
before the line is written. Messages are cut at `MAX_MESSAGE_CHARS`, so an exception that quotes
an input cannot copy a whole body into the log. uvicorn's access log stays off (it would log
every client's address).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import re
from typing import Any

MAX_MESSAGE_CHARS = 2000
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
# Anything with two colons made of hex digits (and maybe a dotted tail); ipaddress decides.
_IPV6 = re.compile(
    r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![\w:])"
)


def _replace(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if address.is_loopback or address.is_unspecified:
        return text
    return "[ip]"


def scrub(text: str) -> str:
    """`text` with every non-loopback IP address replaced by `[ip]`."""
    return _IPV6.sub(_replace, _IPV4.sub(_replace, text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(message[:MAX_MESSAGE_CHARS]),
        }
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info)[-MAX_MESSAGE_CHARS:])
        return json.dumps(entry, ensure_ascii=False)


def config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict for the server, uvicorn's loggers included."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "uvicorn.error": {"level": "WARNING"},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
