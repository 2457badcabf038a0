"""The names a person reads for the query layer's dimensions and metrics (chips, columns, cards).

Display text only: nothing here is sent to the query layer or parsed back from a URL.
"""

from __future__ import annotations

DIMENSIONS = {
    "event:name": "Event",
    "event:goal": "Goal",
    "event:page": "Page",
    "event:hostname": "Hostname",
    "event:props:selector": "Selector",
    "event:props:message": "Error",
    "event:props:url": "URL",
    "visit:entry_page": "Entry page",
    "visit:exit_page": "Exit page",
    "visit:source": "Source",
    "visit:channel": "Channel",
    "visit:referrer": "Referrer",
    "visit:utm_source": "UTM source",
    "visit:utm_medium": "UTM medium",
    "visit:utm_campaign": "UTM campaign",
    "visit:utm_term": "UTM term",
    "visit:utm_content": "UTM content",
    "visit:country": "Country",
    "visit:region": "Region",
    "visit:city": "City",
    "visit:browser": "Browser",
    "visit:os": "OS",
    "visit:device": "Device",
    "first_touch:channel": "First-touch channel",
    "first_touch:source": "First-touch source",
    "first_touch:utm_campaign": "First-touch campaign",
    "last_touch:channel": "Last-touch channel",
    "last_touch:source": "Last-touch source",
    "last_touch:utm_campaign": "Last-touch campaign",
    "time:hour": "Hour",
    "time:day": "Day",
    "time:week": "Week",
    "time:month": "Month",
}

METRICS = {
    "visitors": "Visitors",
    "visits": "Visits",
    "pageviews": "Pageviews",
    "events": "Events",
    "bounce_rate": "Bounce rate",
    "visit_duration": "Visit duration",
    "time_on_page": "Time on page",
    "scroll_depth": "Scroll depth",
    "conversions": "Conversions",
    "conversion_rate": "Conversion rate",
    "revenue": "Revenue",
    "orders": "Orders",
    "refunds": "Refunds",
}


def dimension_label(dimension: str) -> str:
    if dimension in DIMENSIONS:
        return DIMENSIONS[dimension]
    if dimension.startswith("event:props:"):
        return "Property " + dimension.removeprefix("event:props:")
    return dimension


def metric_label(metric: str) -> str:
    return METRICS.get(metric, metric.replace("_", " ").capitalize())
