"""Email over TLS to a real SMTP server on 127.0.0.1 with a certificate from a private certificate
authority (`trustme`): STARTTLS (`smtp://…`, the server refusing anything before it) and TLS from
the start (`smtps://…`) negotiated, the login made over TLS, the authority trusted through
`SSL_CERT_FILE` (the standard variable, the way docs/email-reports.md gives for an internal
relay), and a certificate of another authority or for another name refused with a logged
reason, nothing sent and nothing remembered, never raised."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Literal

import pytest
import trustme

from clycyo.config.email_reports import EmailReportStore
from clycyo.config.store import ConfigStore, Site
from clycyo.mail.sending import SPIKE, Mailer, Outcome
from clycyo.mail.smtp import SmtpSettings, smtp_from_env
from tests.serverproc import clycyo, run_clycyo
from tests.smtp_inbox import PASSWORD, USER, running

TLS = ("starttls", "ssl")
REALTIME = {"visitors": 12, "pages": [{"page": "/launch", "visitors": 12}], "sources": []}


def _site(tmp_path: Path) -> tuple[ConfigStore, Site]:
    config = ConfigStore(tmp_path / "config.sqlite")
    config.add_site("shop.example")
    site = config.site_by_domain("shop.example")
    assert site is not None
    return config, site


def _notify(config: ConfigStore, site: Site, smtp: SmtpSettings) -> Outcome:
    mailer = Mailer(smtp, config, None)
    now = dt.datetime.now(dt.UTC)
    return mailer.send_spike(site, REALTIME, 10, ["ops@example.com"], now=now)


@pytest.mark.parametrize("tls", TLS)
def test_tls_is_negotiated_with_a_certificate_of_a_trusted_private_authority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tls: Literal["starttls", "ssl"]
) -> None:
    config, site = _site(tmp_path)
    with running(tls=tls) as inbox:
        monkeypatch.setenv("SSL_CERT_FILE", str(inbox.authority_file(tmp_path)))
        smtp = smtp_from_env(inbox.env())
        assert smtp is not None and smtp.security == tls  # from the URL's scheme alone
        outcome = _notify(config, site, smtp)
        assert (outcome.sent, outcome.failed) == (["ops@example.com"], {})
        (notice,) = inbox.wait_for(1)
    assert notice.tls is not None and notice.tls.startswith("TLSv1.")
    assert inbox.logins == [USER]  # the login too went over TLS: the server takes it no other way
    assert list(EmailReportStore(config).last_sent(site.id, SPIKE)) == ["ops@example.com"]


@pytest.mark.parametrize("tls", TLS)
@pytest.mark.parametrize(
    ("host", "trusted", "why"),
    [
        ("127.0.0.1", "another", "unable to get local issuer certificate"),
        ("localhost", "its own", "Hostname mismatch"),  # the certificate names 127.0.0.1
    ],
)
def test_a_certificate_not_to_be_trusted_is_refused_and_logged(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tls: Literal["starttls", "ssl"],
    host: str,
    trusted: str,
    why: str,
) -> None:
    config, site = _site(tmp_path)
    with running(tls=tls) as inbox:
        authority = inbox.authority if trusted == "its own" else trustme.CA()
        authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
        smtp = SmtpSettings(host, inbox.port, tls, "reports@clycyo.test", USER, PASSWORD)
        with caplog.at_level(logging.WARNING, logger="clycyo.mail"):
            outcome = _notify(config, site, smtp)
        assert inbox.received == [] and inbox.logins == []
    assert outcome.sent == []
    reason = outcome.failed["ops@example.com"]
    assert reason.startswith(f"{host}:{inbox.port}: its TLS certificate is not trusted (")
    assert why in reason and reason.endswith("trusted through SSL_CERT_FILE")
    (logged,) = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert logged.startswith("email to ops@example.com for shop.example (spike ")
    assert reason in logged
    assert EmailReportStore(config).last_sent(site.id, SPIKE) == {}  # tried again next minute


def test_report_send_trusts_the_authority_ssl_cert_file_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    clycyo("site", "add", "shop.example", data=data)
    args = ("report", "send", "--site", "shop.example", "--period", "week")
    with running(tls="starttls") as inbox:
        untrusted = run_clycyo(*args, "--to", "ann@example.com", data=data, env=inbox.env())
        env = {**inbox.env(), "SSL_CERT_FILE": str(inbox.authority_file(tmp_path))}
        sent = run_clycyo(*args, "--to", "ann@example.com", "--json", data=data, env=env)
        assert sent.returncode == 0, sent.stderr
        (mail,) = inbox.wait_for(1)
    assert untrusted.returncode == 1
    assert "its TLS certificate is not trusted" in untrusted.stderr
    assert json.loads(sent.stdout)["sent"] == ["ann@example.com"]
    assert mail.tls is not None and mail.recipients == ["ann@example.com"]
