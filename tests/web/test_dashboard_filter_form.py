"""The overview's Filter control over real HTTP: `suggest.json` answers a dimension's values
containing the text typed (any case), most visitors first, at most 20, under the view's period and
its filters on other dimensions; it is read as the other `.json` twins are (a login of the site,
a viewer, a shared link; not another site's login), refuses a dimension it does not know, and
returns a value that looks like markup as JSON data. The form's GET adds its filter to the view
and keeps the period, comparison, chart and other filters."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote, urlencode

import httpx
import pytest

from clycyo.config.access import AccessStore
from clycyo.config.store import ConfigStore
from tests.serverproc import ServerProcess, Site, clycyo
from tests.web.conftest import CHROME
from tests.web.filter_world import HOSTILE, PERIOD, fill
from tests.web.http_login import PASSWORD, Clients, clients, site_user

__all__ = ["clients"]  # the fixture


@pytest.fixture(scope="module")
def filled(shared_server: ServerProcess) -> Site:
    site = shared_server.add_site()
    fill(site)
    return site


def _suggest(client: httpx.Client, base: str, query: str) -> httpx.Response:
    return client.get(f"{base}/suggest.json?{PERIOD}&{query}")


def _values(answer: httpx.Response) -> list[tuple[str, int]]:
    assert answer.status_code == 200, answer.text
    return [(s["value"], s["visitors"]) for s in answer.json()["suggestions"]]


def test_suggestions_contain_the_text_most_visitors_first(filled: Site, clients: Clients) -> None:
    client = site_user(filled, f"suggest-{filled.site}@example.com", clients)
    base = f"/sites/{filled.site}"
    answer = _suggest(client, base, "dimension=visit:utm_source&q=NEWS")
    assert _values(answer) == [("newsletter-alpha", 3), ("Newsletter-Beta", 2)]
    data = answer.json()
    assert data["dimension"] == "visit:utm_source" and data["label"] == "UTM source"
    assert ["contains", "visit:utm_source", ["NEWS"]] in data["query"]["filters"]
    assert len(_values(_suggest(client, base, "dimension=visit:utm_source&q=bulk"))) == 20
    everything = _values(_suggest(client, base, "dimension=visit:utm_source"))
    assert len(everything) == 20 and everything[0] == ("newsletter-alpha", 3)
    # The view's filter on another dimension narrows the values; one on this dimension does not.
    on_pricing = "dimension=visit:utm_source&q=news&f=is,event:page,/pricing"
    assert _values(_suggest(client, base, on_pricing)) == [("Newsletter-Beta", 2)]
    same = "dimension=visit:utm_source&q=news&f=is,visit:utm_source,partner-gamma"
    assert len(_values(_suggest(client, base, same))) == 2
    assert _values(_suggest(client, base, "dimension=event:page&q=PRI")) == [("/pricing", 2)]


def test_property_keys_are_offered_by_the_suggestions(filled: Site, clients: Clients) -> None:
    """Asked by the page's script after it loads, not by the page: the keys pageviews carry
    (with a goal chosen, that goal's events'), as dimensions with their labels."""
    client = site_user(filled, f"keys-{filled.site}@example.com", clients)
    base = f"/sites/{filled.site}"
    answer = _suggest(client, base, "dimension=property")
    assert answer.status_code == 200, answer.text
    assert answer.json()["suggestions"] == [
        {"value": "event:props:layout", "label": "Property layout"}
    ]
    assert _suggest(client, base, "dimension=property&q=LAY").json()["suggestions"]
    assert _suggest(client, base, "dimension=property&q=plan").json()["suggestions"] == []
    # The page's own form offers none: it asks no query for them.
    page = client.get(f"{base}?{PERIOD}").text
    assert "data-filter-properties hidden></optgroup>" in page
    assert "event:props:layout" not in page
    # Its values are suggested as any dimension's ("(none)": the events without it).
    values = _values(_suggest(client, base, "dimension=event:props:layout"))
    assert values == [("(none)", 30), ("b", 2)]


def test_a_custom_event_goal_offers_its_events_property_keys(
    shared_server: ServerProcess, clients: Clients
) -> None:
    """A goal chosen as `event:goal is Signup` (the form's own Goal) is the events named Signup,
    as `event:name is Signup` is: the keys offered are theirs, not those of pageviews."""
    site = shared_server.add_site()
    noon = int(dt.datetime(2026, 11, 12, 12, tzinfo=dt.UTC).timestamp() * 1000)
    seen = {"origin": "browser", "visitor_id": "s1", "url": f"https://{site.site}/",
            "context": {"user_agent": CHROME}}  # fmt: skip
    batch = [
        {**seen, "type": "pageview", "timestamp": noon, "props": {"layout": "b"}},
        {**seen, "type": "event", "name": "Signup", "timestamp": noon + 1, "props": {"plan": "a"}},
    ]
    status, answer = site.post("/api/collect", {"batch": batch}, secret=True)
    assert status == 200 and answer["accepted"] == 2, answer
    site.events(limit="1")
    client = site_user(site, f"goal-keys-{site.site}@example.com", clients)
    for goal in ("event:name", "event:goal"):
        keys = _suggest(client, f"/sites/{site.site}", f"dimension=property&f=is,{goal},Signup")
        assert keys.status_code == 200, keys.text
        assert [k["value"] for k in keys.json()["suggestions"]] == ["event:props:plan"], goal
    page = _suggest(client, f"/sites/{site.site}", "dimension=property&f=is,event:goal,Visit+/")
    assert [k["value"] for k in page.json()["suggestions"]] == ["event:props:layout"]


def test_a_value_that_looks_like_markup_is_json_data(filled: Site, clients: Clients) -> None:
    client = site_user(filled, f"markup-{filled.site}@example.com", clients)
    answer = _suggest(client, f"/sites/{filled.site}", "dimension=visit:utm_source&q=%3Cimg")
    assert _values(answer) == [(HOSTILE, 1)]
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_unknown_dimensions_are_refused_by_name(filled: Site, clients: Clients) -> None:
    client = site_user(filled, f"unknown-{filled.site}@example.com", clients)
    base = f"/sites/{filled.site}"
    for dimension in ("visit:nothing", "event:props:no spaces", "time:day", "event:props:"):
        answer = _suggest(client, base, urlencode({"dimension": dimension}))
        assert answer.status_code == 400, (dimension, answer.text)
        assert repr(dimension) in answer.json()["error"]
    assert _suggest(client, base, "q=news").status_code == 400  # no dimension at all


def test_suggestions_are_read_as_the_other_json_twins(
    filled: Site, shared_server: ServerProcess, clients: Clients
) -> None:
    other = shared_server.add_site()
    outsider = site_user(other, f"outsider-{other.site}@example.com", clients)
    query = "dimension=visit:utm_source&q=alpha"
    refused = _suggest(outsider, f"/sites/{filled.site}", query)
    assert refused.status_code in (403, 404) and "newsletter" not in refused.text
    anonymous = _suggest(clients.new(shared_server), f"/sites/{filled.site}", query)
    assert anonymous.status_code == 401
    config = ConfigStore(filled.data_dir / "config.sqlite")
    found = config.site_by_domain(filled.site)
    assert found is not None
    link, _ = AccessStore(config).add_shared_link(found.id)
    shared = _suggest(clients.new(shared_server), f"/share/{link}", query)
    assert _values(shared) == [("newsletter-alpha", 3)]
    email = f"viewer-{filled.site}@example.com"
    clycyo(
        "user", "add", email, "--site", filled.site, "--role", "viewer", "--password-stdin",
        data=filled.data_dir, stdin=PASSWORD + "\n",
    )  # fmt: skip
    status, viewer = clients.log_in(shared_server, email, PASSWORD)
    assert status == 303
    assert _values(_suggest(viewer, f"/sites/{filled.site}", query)) == [("newsletter-alpha", 3)]


def test_the_form_adds_its_filter_and_keeps_the_view(filled: Site, clients: Clients) -> None:
    client = site_user(filled, f"form-{filled.site}@example.com", clients)
    base = f"/sites/{filled.site}"
    view = f"{PERIOD}&compare=off&metric=visits&f=is,event:page,/pricing"
    page = client.get(f"{base}?{view}")
    assert page.status_code == 200
    form = page.text.split("data-filter-form", 1)[1].split("</form>", 1)[0]
    assert f'action="{base}/filter"' in page.text
    for hidden in ('name="f" value="is,event:page,/pricing"', 'name="compare" value="off"'):
        assert hidden in form
    assert '<option value="visit:utm_source">UTM source</option>' in form
    assert '<option value="contains">contains</option>' in form
    assert 'list="filter-values"' in form and '<datalist id="filter-values">' in form
    chosen = urlencode({"dimension": "visit:utm_source", "op": "contains", "value": "news"})
    answer = client.get(f"{base}/filter?{view}&{chosen}")
    assert answer.status_code == 303
    target = answer.headers["location"]
    assert target.startswith(f"{base}?")
    data = client.get(target.replace(base, base + ".json", 1)).json()
    assert data["filters"] == [
        ["is", "event:page", ["/pricing"]],
        ["contains", "visit:utm_source", ["news"]],
    ]
    assert data["compare"] == "off" and data["chart"]["metric"] == "visits"
    assert data["period"] == {"key": "custom", "from": "2026-11-10", "to": "2026-11-16"}
    assert [c["value"] for c in data["cards"] if c["metric"] == "visitors"] == [2]
    # The same dimension again replaces its filter; no value leaves the view as it was.
    again = urlencode({"dimension": "event:page", "op": "is_not", "value": "/"})
    replaced = client.get(f"{base}/filter?{view}&{again}").headers["location"]
    assert "f=is_not%2Cevent%3Apage%2C%2F" in replaced and "pricing" not in replaced
    empty = urlencode({"dimension": "visit:os", "op": "is", "value": ""})
    assert "visit%3Aos" not in client.get(f"{base}/filter?{view}&{empty}").headers["location"]


def test_the_form_refuses_what_no_filter_is(filled: Site, clients: Clients) -> None:
    client = site_user(filled, f"refused-{filled.site}@example.com", clients)
    base = f"/sites/{filled.site}/filter?{PERIOD}"
    for dimension, op in (("visit:nothing", "is"), ("event:goal", "contains"), ("event:page", "x")):
        answer = client.get(f"{base}&dimension={quote(dimension)}&op={op}&value=a")
        assert answer.status_code == 400, (dimension, op)


def _hidden(form: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)


def test_the_forms_keep_a_chart_metric_chosen_against_the_goals_default(
    filled: Site, clients: Clients
) -> None:
    """With a goal the chart's default is conversions: visitors chosen instead is a choice the
    Filter form and the period form carry like any other metric."""
    client = site_user(filled, f"metric-{filled.site}@example.com", clients)
    base = f"/sites/{filled.site}"
    page = client.get(f"{base}?{PERIOD}&f=is,event:name,pageview&metric=visitors").text
    form = page.split("data-filter-form", 1)[1].split("</form>", 1)[0]
    chosen = {"dimension": "event:page", "op": "is", "value": "/pricing"}
    answer = client.get(f"{base}/filter?{urlencode([*_hidden(form), *chosen.items()])}")
    assert answer.status_code == 303
    data = client.get(answer.headers["location"].replace(base, base + ".json", 1)).json()
    assert data["chart"]["metric"] == "visitors"
    period_form = page.split("data-period-form", 1)[1].split("</form>", 1)[0]
    assert ("metric", "visitors") in _hidden(period_form)
