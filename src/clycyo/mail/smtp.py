"""The SMTP server Clycyo sends its email through: its settings and the sending itself.

Settings come from the environment, checked at start so a typo fails with the variable's name:
`CLYCYO_SMTP_URL` (`smtp://user:pass@host:587`, `smtps://…:465`) or `CLYCYO_SMTP_HOST` with
`CLYCYO_SMTP_PORT`, `CLYCYO_SMTP_USER` and `CLYCYO_SMTP_PASSWORD`; `CLYCYO_SMTP_SECURITY`
(`starttls`, `ssl` or `none`) and `CLYCYO_MAIL_FROM`, the sender, which is required with them.
None of them set: no SMTP server, and nothing is sent (the Settings page says what to set).
Only the standard library's `smtplib` speaks to the server. Its certificate is checked (name
and authority) by Python's default TLS context, which trusts the system's authorities, or those
of the file `SSL_CERT_FILE` or the folder `SSL_CERT_DIR` names (OpenSSL's own variables), so an
internal relay's private authority needs no setting of Clycyo's. This module decides nothing
about what is sent to whom.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Literal
from urllib.parse import unquote, urlsplit

Security = Literal["starttls", "ssl", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
TIMEOUT_S = 30.0  # one SMTP exchange; a stuck server must not hold the sender for long
# What the Settings page and the command line say when no server is set.
WHAT_TO_SET = (
    "set CLYCYO_SMTP_URL (smtp://user:password@host:587) and CLYCYO_MAIL_FROM"
    " for the server, then restart it"
)


class MailError(Exception):
    """A message that could not be handed to the SMTP server (the message says why)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    sender: str  # the From header: "Name <address>" or an address
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]


def smtp_from_env(environ: dict[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP settings the environment gives, None when it gives none; a ValueError names
    the variable that is wrong or missing."""
    env = os.environ if environ is None else environ
    url = env.get("CLYCYO_SMTP_URL", "").strip()
    host = env.get("CLYCYO_SMTP_HOST", "").strip()
    if not url and not host:
        return None
    if url and host:
        raise ValueError("CLYCYO_SMTP_URL and CLYCYO_SMTP_HOST: set one of them, not both")
    security_text = env.get("CLYCYO_SMTP_SECURITY", "").strip().lower()
    if security_text and security_text not in SECURITIES:
        raise ValueError(
            f"CLYCYO_SMTP_SECURITY={security_text!r}: expected {', '.join(SECURITIES)}"
        )
    username = env.get("CLYCYO_SMTP_USER") or None
    password = env.get("CLYCYO_SMTP_PASSWORD") or None
    port: int | None = None
    security: Security = "starttls"
    if url:
        try:
            parts = urlsplit(url)
        except ValueError:
            # The standard library's reason quotes the URL, password and all.
            raise ValueError(
                "CLYCYO_SMTP_URL: not a URL (a user or password with characters such as"
                " @ / [ ] percent-encoded, %40 for @)"
            ) from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "CLYCYO_SMTP_URL: expected smtp://user:password@host:587 or smtps://…@host:465"
            )
        host = parts.hostname
        try:
            port = parts.port
        except ValueError:
            raise ValueError("CLYCYO_SMTP_URL: the port is not a number from 1 to 65535") from None
        security = "ssl" if parts.scheme == "smtps" else "starttls"
        if parts.username:
            username = unquote(parts.username)
            password = unquote(parts.password or "")
    else:
        port_text = env.get("CLYCYO_SMTP_PORT", "").strip()
        if port_text:
            if not (port_text.isascii() and port_text.isdigit()):
                raise ValueError(f"CLYCYO_SMTP_PORT={port_text!r}: expected a port number")
            port = int(port_text)
    try:
        host.encode("idna")  # as the connection will, when it looks the host up
    except UnicodeError:
        variable = "CLYCYO_SMTP_URL" if url else "CLYCYO_SMTP_HOST"
        raise ValueError(f"{variable}: {host!r} is not a host name") from None
    if security_text:
        security = security_text
    if port is None:
        port = DEFAULT_PORTS[security]
    if not 0 < port < 65536:
        raise ValueError(f"SMTP port {port}: expected 1 to 65535")
    sender = env.get("CLYCYO_MAIL_FROM", "").strip()
    if not sender:
        raise ValueError("CLYCYO_MAIL_FROM: the sender's address is required with an SMTP server")
    return SmtpSettings(host, port, security, check_sender(sender), username, password)


def check_sender(text: str) -> str:
    """`CLYCYO_MAIL_FROM` as a From header: an address, or a name and an address."""
    from clycyo.config.email_reports import RecipientError, check_address

    name, address = parseaddr(text)
    if any(c in text for c in "\r\n") or not address:
        raise ValueError(f"CLYCYO_MAIL_FROM={text!r}: expected an address or 'Name <address>'")
    try:
        address = check_address(address)
    except RecipientError as exc:
        raise ValueError(f"CLYCYO_MAIL_FROM: {exc}") from None
    return formataddr((name, address)) if name else address


class Connection:
    """One session with the SMTP server: messages sent one by one, each its own transaction, so
    a refused recipient does not keep the others' messages from going."""

    def __init__(self, client: smtplib.SMTP) -> None:
        self._client = client

    @property
    def closed(self) -> bool:
        """Whether the session ended (the server answered 421, or hung up): the next message
        needs a new one."""
        return self._client.sock is None

    def send(self, message: EmailMessage) -> None:
        try:
            refused = self._client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(_reason(exc)) from exc
        if refused:
            raise MailError(f"refused by the SMTP server: {', '.join(sorted(refused))}")


@contextmanager
def connect(settings: SmtpSettings) -> Iterator[Connection]:
    """A logged-in session with the server (TLS as `settings.security` says); MailError when it
    cannot be had."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    try:
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=TIMEOUT_S, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_S)
    except (smtplib.SMTPException, OSError) as exc:
        # An SSLError comes after the server answered: it was reached, its TLS failed.
        reached = "" if isinstance(exc, ssl.SSLError) else "cannot reach "
        raise MailError(f"{reached}{settings.host}:{settings.port}: {_reason(exc)}") from exc
    try:
        try:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.username is not None:
                client.login(settings.username, settings.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"{settings.host}:{settings.port}: {_reason(exc)}") from exc
        yield Connection(client)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"its TLS certificate is not trusted ({exc.verify_message}); a private certificate"
            " authority is trusted through SSL_CERT_FILE"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"refused by the SMTP server: {', '.join(sorted(exc.recipients))}"
    return str(exc) or type(exc).__name__
