"""An observability endpoint that answers with a field of the wrong type, or with a configuration
built to hang a walker (aliases), is an error result naming the answer: never an exception out of
run_collector_check, never a worker spinning. The endpoint is whatever URL a team configured."""
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes.engine.observability import COLLECTOR_CHECKS, Endpoint, run_collector_check
from tests.probes.observability import recorded
from tests.probes.wrong_types import WRONG, field_paths, with_field

ANSWERS = {"prometheus": recorded.PROMETHEUS, "alertmanager": recorded.ALERTMANAGER, "grafana": recorded.GRAFANA,
           "loki": recorded.loki(), "jaeger": recorded.jaeger()}
SAMPLE_QUERIES = {"/loki/api/v1/query_range": {"query": '{service="api"}'}, "/api/traces": {"service": "api"}}
CHECKS = {kind: [c for c, spec in COLLECTOR_CHECKS.items() if spec.reads(kind)] for kind in ANSWERS}


def _answer(value, route: str):
    """The document a route answers with: JSON, the YAML of a configuration, or a function's answer."""
    if callable(value):
        return value(SAMPLE_QUERIES[route])
    return yaml.safe_load(value) if isinstance(value, str) else value


def _sites():
    for kind, routes in ANSWERS.items():
        for route, value in routes.items():
            doc = _answer(value, route)
            for path in field_paths(doc):
                if path:
                    yield kind, route, False, path
            if route == "/api/v2/status":  # the configuration inside the answer, as YAML text
                for path in field_paths(yaml.safe_load(doc["config"]["original"])):
                    if path:
                        yield kind, route, True, path


SITES = list(_sites())


def _routes_with(kind: str, route: str, in_config: bool, path: tuple, wrong):
    routes = dict(ANSWERS[kind])
    original = routes[route]
    if in_config:
        config = with_field(yaml.safe_load(original["config"]["original"]), path, wrong)
        routes[route] = with_field(original, ("config", "original"), yaml.safe_dump(config))
    elif callable(original):
        routes[route] = lambda query: with_field(original(query), path, wrong)
    elif isinstance(original, str):
        routes[route] = yaml.safe_dump(with_field(yaml.safe_load(original), path, wrong))
    else:
        routes[route] = with_field(original, path, wrong)
    return routes


def _judge_all(server, kind):
    return [run_collector_check(check, Endpoint(kind, server.url), {}) for check in CHECKS[kind]]


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(site=st.sampled_from(SITES), wrong=st.sampled_from(WRONG))
def test_a_field_of_the_wrong_type_is_judged_or_an_error_naming_the_answer(obs_server, site, wrong):
    kind, route, in_config, path = site
    obs_server.routes = _routes_with(kind, route, in_config, path, wrong)
    for outcome in _judge_all(obs_server, kind):
        assert outcome.status in ("pass", "fail", "skip", "error")
        if outcome.status == "error":
            assert "Error:" not in outcome.summary and obs_server.url in outcome.summary


@pytest.mark.parametrize("kind, route, config", [
    ("alertmanager", "/api/v2/status", "route: &loop\n  receiver: a\n  routes: [*loop]\nreceivers: []\n"),
    ("loki", "/config", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"),
])
def test_a_configuration_built_to_hang_the_collector_is_refused(obs_server, kind, route, config):
    routes = dict(ANSWERS[kind])
    routes[route] = {**routes[route], "config": {"original": config}} if kind == "alertmanager" else config
    obs_server.routes = routes
    for outcome in _judge_all(obs_server, kind):
        assert outcome.status == "error" and obs_server.url in outcome.summary


def test_an_answer_nested_too_deeply_is_an_error(obs_server):
    obs_server.routes = {**recorded.GRAFANA, "/api/datasources": b"[" * 100_000 + b"]" * 100_000}
    outcome = run_collector_check("collector.grafana.datasources", Endpoint("grafana", obs_server.url), {})
    assert outcome.status == "error" and "nested too deeply" in outcome.summary
