"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the email tests.

Plain, it takes a login (any user with `PASSWORD`) over the plain connection, as a relay on the
same machine would. With `tls`, it has a certificate for 127.0.0.1 from a certificate authority
of its own (`trustme`), and speaks TLS from the start ("ssl", port 465's way) or requires
STARTTLS before anything but EHLO ("starttls", port 587's way), the login included; each message
remembers the TLS version it came over. `messages` are parsed with the standard library's
modern policy.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.serverproc import free_port

USER = "mailer"
PASSWORD = "s3cret pass"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: str | None  # the TLS version it came over ("TLSv1.3"), None: in the clear

    def part(self, subtype: str) -> str:
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None, f"no text/{subtype} part"
        return str(found.get_content())  # type: ignore[attr-defined]


@dataclass
class Inbox:
    port: int
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: Literal["starttls", "ssl"] | None = None
    authority: trustme.CA = field(default_factory=trustme.CA)  # what signed its certificate
    # Recipients answered 421 (the server closes the session, as RFC 5321 has it after a 421).
    closing_on: set[str] = field(default_factory=set)
    # Recipients refused for good (550), and each time one was.
    refusing: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """`CLYCYO_SMTP_URL` for this server (`smtps://` when it speaks TLS from the start)."""
        scheme = "smtps" if self.tls == "ssl" else "smtp"
        return f"{scheme}://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{self.port}"

    def env(self, sender: str = "Clycyo <reports@clycyo.test>") -> dict[str, str]:
        """The environment a Clycyo command sends to this server with (without trusting its
        authority: see `authority_file`)."""
        security = {"CLYCYO_SMTP_SECURITY": "none"} if self.tls is None else {}
        return {"CLYCYO_SMTP_URL": self.url, **security, "CLYCYO_MAIL_FROM": sender}

    def authority_file(self, folder: Path) -> Path:
        """The server's certificate authority as a PEM file, as `SSL_CERT_FILE` names one."""
        path = folder / "smtp-ca.pem"
        self.authority.cert_pem.write_to_path(str(path))
        return path

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.closing_on:
            return "421 4.7.0 Try again later, closing connection"
        if address in self.refusing:
            self.refused.append(address)
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        secured = server.transport.get_extra_info("ssl_object")
        tls = None if secured is None else secured.version()
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, tls))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@contextmanager
def running(
    inbox: Inbox | None = None, *, tls: Literal["starttls", "ssl"] | None = None
) -> Iterator[Inbox]:
    """An SMTP server (on `inbox`'s port, to bring back one that was stopped) until the block
    ends."""
    inbox = inbox or Inbox(free_port(), tls=tls)
    secure: dict[str, Any] = {"auth_require_tls": False}
    if inbox.tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        inbox.authority.issue_cert("127.0.0.1").configure_cert(context)
        if inbox.tls == "ssl":
            secure = {"ssl_context": context, "auth_require_tls": False}  # TLS from the start
        else:
            secure = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=inbox.port,
        authenticator=inbox.authenticate,
        **secure,
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
