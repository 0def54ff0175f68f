"""The dashboards and monitors in observability/: the fields Datadog's API requires, only registered metrics
(with their own tags), a runbook section for every monitor, and critical alerts routed to a pager."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from config.metrics import METRICS, TIMING
from tests.architecture import PACKAGES

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = {path.stem: json.loads(path.read_text()) for path in sorted((ROOT / "observability/dashboards").glob("*.json"))}
MONITORS = {path.stem: json.loads(path.read_text()) for path in sorted((ROOT / "observability/alerts").glob("*.json"))}
RUNBOOK = ROOT / "docs/runbooks/incident-recovery.md"

# A metric in a query: space aggregation, name, {filter}, and an optional "by {tags}".
METRIC = re.compile(r"\b(?:sum|avg|max|min):([a-z0-9_.]+)\{([^}]*)\}(?:\s*by\s*\{([^}]*)\})?")
# What Datadog makes of a DogStatsD timing (a histogram): one metric per aggregate.
TIMING_SUFFIXES = (".avg", ".median", ".95percentile", ".max", ".count")
CONSTANT_TAGS = {"env", "service"}  # config.metrics._constant_tags
WIDGETS_WITH_REQUESTS = {"timeseries", "query_value", "toplist", "query_table"}
MONITOR_QUERY = re.compile(r"^(avg|sum|max|min)\((last_\d+[mhd])\):(.+?)\s*(>=|<=|>|<)\s*(-?[\d.]+)$")


def queries(value) -> list[str]:
    """Every metric query string in a dashboard or monitor (formulas' queries and legacy `q`)."""
    if isinstance(value, dict):
        found = [value["query"]] if isinstance(value.get("query"), str) else []
        found += [value["q"]] if isinstance(value.get("q"), str) else []
        return found + [q for key, item in value.items() if key not in ("query", "q") for q in queries(item)]
    if isinstance(value, list):
        return [q for item in value for q in queries(item)]
    return []


def registered(name: str):
    """The registry's metric behind a queried name (a timing's .95percentile is the timing)."""
    if name in METRICS:
        return METRICS[name]
    for suffix in TIMING_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and base in METRICS and METRICS[base].kind == TIMING:
            return METRICS[base]
    return None


def runbook_anchors() -> set[str]:
    """GitHub's anchors of the runbook's headings."""
    anchors = set()
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


def test_the_three_dashboards_and_five_monitors_are_there():
    assert set(DASHBOARDS) == {"IntegrationHealth", "QueueAndLatency", "TokensAndExpiries"}
    assert set(MONITORS) == {"TokenRefreshFailures", "Auth4xxSpike", "WebhookFailures", "DLQGrowth", "QueueLatency"}


@pytest.mark.parametrize("name", sorted(DASHBOARDS) + sorted(MONITORS))
def test_every_metric_queried_is_registered_and_filtered_or_grouped_only_by_its_own_tags(name):
    document = DASHBOARDS.get(name) or MONITORS[name]
    found = [match for text in queries(document) for match in METRIC.finditer(text)]
    assert found, name
    for match in found:
        metric_name, filters, by = match.groups()
        metric = registered(metric_name)
        assert metric is not None, f"{name}: {metric_name} is not in config.metrics.METRICS"
        allowed = set(metric.tags) | CONSTANT_TAGS
        for term in re.split(r",|\bOR\b|\bAND\b", filters):
            term = term.strip().lstrip("!")
            if not term or term == "*":
                continue
            key = term[1:] if term.startswith("$") else term.split(":", 1)[0]  # $platform filters by platform
            assert key in allowed, f"{name}: {metric_name} has no tag {key!r}"
        for key in (by or "").split(","):
            assert not key.strip() or key.strip() in allowed, f"{name}: {metric_name} has no tag {key!r}"


def test_every_registered_metric_is_on_a_dashboard():
    shown = {registered(match.group(1)) for document in DASHBOARDS.values() for text in queries(document)
             for match in METRIC.finditer(text)}
    assert [name for name, metric in METRICS.items() if metric not in shown] == []


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_a_dashboard_has_the_fields_datadogs_api_requires(name):
    dashboard = DASHBOARDS[name]
    assert dashboard["title"] == name and dashboard["layout_type"] in ("ordered", "free")
    assert dashboard["widgets"] and dashboard.get("reflow_type", "auto") in ("auto", "fixed")
    variables = {variable["name"] for variable in dashboard.get("template_variables", [])}
    assert all({"name", "prefix"} <= set(variable) for variable in dashboard.get("template_variables", []))
    for widget in dashboard["widgets"]:
        definition = widget["definition"]
        assert definition["type"], widget
        if dashboard["layout_type"] == "free":
            assert {"x", "y", "width", "height"} <= set(widget["layout"])
        if definition["type"] not in WIDGETS_WITH_REQUESTS:
            continue
        assert definition["title"] and definition["requests"], definition
        for request in definition["requests"]:
            names = {query["name"] for query in request["queries"]}
            assert all(query["data_source"] == "metrics" and query["query"] for query in request["queries"])
            assert request["response_format"] in ("timeseries", "scalar")
            if request["response_format"] == "scalar":
                assert all(query.get("aggregator") for query in request["queries"]), request
            for formula in request["formulas"]:
                assert set(re.findall(r"\bq\d+\b", formula["formula"])) <= names, formula
            for text in queries(request):
                assert set(re.findall(r"\$(\w+)", text)) <= variables, text


@pytest.mark.parametrize("name", sorted(MONITORS))
def test_a_monitor_has_thresholds_routing_and_its_runbook_section(name):
    monitor = MONITORS[name]
    assert monitor["name"] == name and monitor["type"] in ("query alert", "metric alert")
    match = MONITOR_QUERY.match(monitor["query"])
    assert match, monitor["query"]
    operator, number = match.group(4), float(match.group(5))
    thresholds = monitor["options"]["thresholds"]
    assert thresholds["critical"] == number  # Datadog refuses a critical threshold the query does not state
    if "warning" in thresholds:
        assert thresholds["warning"] < number if operator.startswith(">") else thresholds["warning"] > number
    assert 1 <= monitor["priority"] <= 5 and monitor["tags"]
    if monitor["options"].get("notify_no_data"):
        assert monitor["options"]["no_data_timeframe"] > 0
    message = monitor["message"]
    alert = re.search(r"\{\{#is_alert\}\}(.*?)\{\{/is_alert\}\}", message, re.S)
    assert alert and "@pagerduty-" in alert.group(1), "a critical alert pages someone"
    [anchor] = re.findall(r"docs/runbooks/incident-recovery\.md#([a-z0-9-]+)", message)
    assert anchor in runbook_anchors(), anchor


def test_the_runbook_has_a_section_per_monitor_and_per_common_incident():
    anchors = runbook_anchors()
    assert {name.lower() for name in MONITORS} <= anchors
    assert {"a-partner-outage", "a-wave-of-token-expiries", "a-webhook-backlog", "a-dlq-flood"} <= anchors


def emitted_metric_names() -> list[tuple[str, str, str]]:
    """(module, method, name) of every metrics.increment/gauge/timing call with a literal name in the product's code."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == "metrics"
                        and node.func.attr in ("increment", "gauge", "timing") and node.args
                        and isinstance(node.args[0], ast.Constant)):
                    found.append((str(path.relative_to(ROOT)), node.func.attr, node.args[0].value))
    return found


def test_the_code_emits_only_registered_names_each_of_its_kind():
    kinds = {"increment": "count", "gauge": "gauge", "timing": "timing"}
    emitted = emitted_metric_names()
    assert len(emitted) > 15
    for module, method, name in emitted:
        assert name in METRICS and METRICS[name].kind == kinds[method], (module, name)
