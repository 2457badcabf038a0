"""The messages: a report or a traffic-spike notice as plain text with a simple HTML part.

Numbers are written as the dashboard writes them (`web/dashboard/rendering.py`). In the HTML
part every value is escaped, whatever it is (a page path or a source is whatever a visitor's
browser sent); it has inline styles only, no images and no script, so it reads the same in any
mail client. A message has the dashboard's address when the server has a public address
(`CLYCYO_PUBLIC_URL`), and says so when it has none. This module sends nothing.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from clycyo.mail.periods import ReportPeriod
from clycyo.mail.report import Report, Row
from clycyo.query.registry import METRICS
from clycyo.web.dashboard.labels import metric_label
from clycyo.web.dashboard.rendering import (
    format_change,
    format_duration,
    format_money,
    format_number,
)

NO_LINK = "No link to the dashboard: the server's public address (CLYCYO_PUBLIC_URL) is not set."
NONE_LABEL = "(none)"
_FONT = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2937"


def dashboard_url(public_url: str | None, domain: str, period: ReportPeriod | None) -> str | None:
    """The site's dashboard (showing `period`) at the server's public address, if it has one."""
    if public_url is None:
        return None
    url = f"{public_url.rstrip('/')}/sites/{quote(domain, safe='')}"
    if period is None:
        return url + "/realtime"
    query = {"period": "custom", "from": period.first.isoformat(), "to": period.last.isoformat()}
    return f"{url}?{urlencode(query)}"


def _value(report: Report, metric: str, value: Any) -> str:
    unit = METRICS[metric].unit
    if unit == "money":
        return format_money(value, report.currency)
    if unit == "seconds":
        return format_duration(value)
    if unit == "percent":
        return "\N{EN DASH}" if value is None else f"{format_number(value)}%"
    return format_number(value)


def _message(
    *, sender: str, to: str, subject: str, text: str, html: str, now: dt.datetime
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def report_message(report: Report, *, sender: str, to: str, now: dt.datetime) -> EmailMessage:
    kind = "Weekly" if report.period.kind == "week" else "Monthly"
    subject = f"{kind} report for {report.site}: {report.period.title}"
    return _message(
        sender=sender,
        to=to,
        subject=subject,
        text=_report_text(report, subject),
        html=_report_html(report, subject),
        now=now,
    )


def _lists(report: Report) -> tuple[tuple[str, str, tuple[Row, ...]], ...]:
    return (
        ("Top sources", "Source", report.sources),
        ("Top pages", "Page", report.pages),
        ("Top goals", "Goal", report.goals),
    )


def _report_text(report: Report, subject: str) -> str:
    lines = [subject, ""]
    for total in report.totals:
        change = format_change(total.change, METRICS[total.metric].unit)
        compared = f" ({change} vs previous period)" if change else ""
        lines.append(f"{metric_label(total.metric)}: {_value(report, total.metric, total.value)}")
        lines[-1] += compared
    for title, _, rows in _lists(report):
        lines += ["", f"{title} (visitors):"]
        lines += [f"  {format_number(r.visitors):>8}  {r.label}" for r in rows] or ["  none"]
    lines += ["", report.dashboard_url or NO_LINK, ""]
    return "\n".join(lines)


def _report_html(report: Report, subject: str) -> str:
    cells = []
    for total in report.totals:
        change = format_change(total.change, METRICS[total.metric].unit)
        cells.append(
            f'<td style="padding:8px 16px 8px 0;vertical-align:top">'
            f'<div style="font-size:12px;color:#6b7280">{escape(metric_label(total.metric))}</div>'
            f'<div style="font-size:20px;font-weight:600">'
            f"{escape(_value(report, total.metric, total.value))}</div>"
            f'<div style="font-size:12px;color:#6b7280">{escape(change)}</div></td>'
        )
    parts = [
        f'<div style="{_FONT}"><h1 style="font-size:18px">{escape(subject)}</h1>',
        f"<table><tr>{''.join(cells)}</tr></table>",
    ]
    for title, column, rows in _lists(report):
        parts.append(_table(title, column, [(r.label, r.visitors) for r in rows]))
    parts.append(_link(report.dashboard_url))
    return "".join(parts) + "</div>"


def _table(title: str, column: str, rows: list[tuple[str, int]]) -> str:
    body = (
        "".join(
            f'<tr><td style="padding:2px 16px 2px 0">{escape(label)}</td>'
            f'<td style="text-align:right">{escape(format_number(visitors))}</td></tr>'
            for label, visitors in rows
        )
        or '<tr><td colspan="2" style="color:#6b7280">none</td></tr>'
    )
    return (
        f'<h2 style="font-size:15px;margin-top:20px">{escape(title)}</h2><table>'
        f'<tr><th style="text-align:left">{escape(column)}</th>'
        f'<th style="text-align:right">Visitors</th></tr>{body}</table>'
    )


def _link(url: str | None) -> str:
    if url is None:
        return f'<p style="color:#6b7280">{escape(NO_LINK)}</p>'
    return f'<p><a href="{escape(url, quote=True)}">Open the dashboard</a></p>'


def spike_message(
    domain: str,
    realtime: dict[str, Any],
    threshold: int,
    *,
    url: str | None,
    sender: str,
    to: str,
    now: dt.datetime,
) -> EmailMessage:
    """A traffic-spike notice from the Realtime numbers (`query/realtime.py`'s answer)."""
    visitors = int(realtime["visitors"])
    subject = f"Traffic spike on {domain}: {visitors} current visitors"
    pages = [(str(p["page"]), int(p["visitors"])) for p in realtime.get("pages", [])][:5]
    sources = [(str(s["source"]), int(s["visitors"])) for s in realtime.get("sources", [])][:5]
    intro = (
        f"{domain} has {visitors} visitors in the last 5 minutes (the threshold is {threshold})."
    )
    text = [subject, "", intro]
    for title, rows in (("Top sources", sources), ("Top pages", pages)):
        text += ["", f"{title} (visitors):"]
        text += [f"  {format_number(n):>8}  {label}" for label, n in rows] or ["  none"]
    text += ["", url or NO_LINK, ""]
    html = (
        f'<div style="{_FONT}"><h1 style="font-size:18px">{escape(subject)}</h1>'
        f"<p>{escape(intro)}</p>"
        + _table("Top sources", "Source", sources)
        + _table("Top pages", "Page", pages)
        + _link(url)
        + "</div>"
    )
    return _message(sender=sender, to=to, subject=subject, text="\n".join(text), html=html, now=now)
