"""Email from the server: weekly and monthly reports and traffic-spike notifications.

`smtp.py` reads the SMTP settings and sends; `periods.py` says which week or month a report
covers and when it is due; `report.py` gathers a report's numbers from the query layer;
`render.py` writes the messages; `sending.py` sends a report or a notice to addresses and
remembers what went; `scheduler.py` runs in the serving process and sends what is due.
Recipients, thresholds and what was sent are in the configuration store
(`config/email_reports.py`).
"""
