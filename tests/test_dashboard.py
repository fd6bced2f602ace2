"""The Grafana dashboard (``deploy/grafana/ussd-gateway.json``) asks only for metrics the
gateway really exports: the real gateway on PostgreSQL (so the store's round trips are
there too) is scraped after some traffic, and every metric name in every query resolves to
a family of the page: a gauge by its name, a counter by ``_total``, a histogram by
``_bucket``, ``_sum`` or ``_count`` (never bare)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from metrics_support import parse, scrape
from pgserver import fresh_database, require_postgres
from support import API_SECRET, MO_SECRET, OPEN_RU, PEPPER_HEX, SECRETS, SUBSCRIBERS, seed

from simulators.handset import Handset
from state.backends import DatabaseLocation, open_store
from state.credentials import Pepper
from ussd_gateway.app import create_app
from ussd_gateway.config import Settings

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "ussd-gateway.json"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_NAME = re.compile(r"(?<![\w.:])[a-zA-Z_:][\w:]*")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
             "and", "or", "unless", "inf", "nan", "Inf", "NaN"}
_SUFFIXES = {
    "_total": {"counter"},
    "_bucket": {"histogram", "gaugehistogram"},
    "_count": {"histogram", "summary"},
    "_sum": {"histogram", "summary"},
    "_created": {"counter", "histogram", "summary"},
}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or ``label_values(metric, label)``) reads:
    strings, label matchers, ranges, label lists and Grafana variables removed; what is
    left that is not a function call or a keyword."""
    text = _STRING.sub(" ", expr)
    text = _VARIABLE.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(" ", text)
    if text.strip().startswith("label_values("):
        text = text.split("(", 1)[1].split(",", 1)[0]
    names = set()
    for found in _NAME.finditer(text):
        if text[found.end():].lstrip().startswith("(") or found.group() in _KEYWORDS:
            continue
        names.add(found.group())
    return names


def exported(name: str, types: Mapping[str, str]) -> bool:
    """Whether a page with these families (name → type) has samples called ``name``."""
    if types.get(name) in ("gauge", "untyped", "unknown"):
        return True
    return any(
        name.endswith(suffix) and types.get(name.removesuffix(suffix)) in kinds
        for suffix, kinds in _SUFFIXES.items()
    )


def queries(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, query) for every panel target (rows' panels too) and every query variable."""

    def walk(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for panel in panels:
            for target in panel.get("targets", []):
                yield f"panel {panel['title']!r}", target["expr"]
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            yield f"variable {variable['name']!r}", query["query"] if isinstance(query, dict) else query


def test_the_query_reader_finds_metric_names_only() -> None:
    """Functions, keywords, labels, ranges, strings and variables are not metric names."""
    expr = ('histogram_quantile(0.99, sum by (le, route) (rate(ussd_http_request_seconds_bucket'
            '{instance=~"$instance", route=~"/api/.*"}[$__rate_interval]))) / on (x) '
            'group_left (y) sum(rate(ussd_hops_total[5m] offset 1h)) > bool 0 or vector(1)')
    assert metric_names(expr) == {"ussd_http_request_seconds_bucket", "ussd_hops_total"}
    assert metric_names("label_values(ussd_hops_total, instance)") == {"ussd_hops_total"}
    types = parse(
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"
        "# TYPE c counter\nc_total 1\n# TYPE g gauge\ng 1\n"
    ).types
    assert all(exported(n, types) for n in ("h_bucket", "h_sum", "h_count", "c_total", "g"))
    assert not any(exported(n, types) for n in ("h", "c", "g_total", "c_bucket", "h_total"))


def test_the_dashboard_is_well_formed() -> None:
    """Unique panel ids, one Prometheus data source variable, a query in every target."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])
    used = {name for _, query in queries(dashboard) for name in metric_names(query)}
    for wanted in ("ussd_hop_seconds_bucket", "ussd_sms_outbox_pending", "ussd_ready",
                   "ussd_sms_sends_total", "ussd_code_requests_total", "ussd_sms_mo_total",
                   "ussd_http_requests_total", "ussd_store_round_trips_total"):
        assert wanted in used


@pytest.mark.postgres
async def test_every_metric_the_dashboard_queries_is_exported(settings: Settings) -> None:
    await require_postgres()
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    async with fresh_database("ussd_dashboard") as dsn:
        store = await open_store(DatabaseLocation.parse(dsn))
        try:
            await seed(store, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)  # type: ignore[arg-type]
        finally:
            await store.close()
        app = create_app(replace(settings, database_url=DatabaseLocation.parse(dsn)))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            url = str(server.make_url("")).rstrip("/")
            async with aiohttp.ClientSession() as http:
                await _traffic(http, url)
            page = await scrape(url)
        finally:
            await server.close()
    missing = {
        (where, name)
        for where, query in queries(dashboard)
        for name in metric_names(query)
        if not exported(name, page.types)
    }
    assert not missing, sorted(missing)


async def _traffic(http: aiohttp.ClientSession, url: str) -> None:
    """A hop, a code and its check, an MO, a delivery report, a readiness probe."""
    phone = Handset(http, url=url, msisdn=OPEN_RU.msisdn, dialect="native",
                    secret=SECRETS["native"])
    await phone.dial("*141*3*6#")
    api = {"Authorization": f"Bearer {API_SECRET}"}
    code = {"msisdn": OPEN_RU.msisdn, "purpose": "login"}
    async with http.post(url + "/api/v1/codes", json=code, headers=api) as r:
        assert r.status == 202
    async with http.post(url + "/api/v1/codes/verify", json={**code, "code": "000000"},
                         headers=api) as r:
        assert r.status == 401
    params = {"from": f"+{OPEN_RU.msisdn}", "to": "141", "text": "HELP", "token": MO_SECRET}
    async with http.get(url + "/sms/mo", params=params) as r:
        assert r.status == 200
    async with http.get(url + "/sms/dlr",
                        params={"id": "1", "status": "1", "token": MO_SECRET}) as r:
        assert r.status == 200
    async with http.get(url + "/readyz") as r:
        assert r.status in (200, 503)
