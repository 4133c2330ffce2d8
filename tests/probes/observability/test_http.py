"""The collectors' HTTP client against a loopback server: timeouts, auth, retries, garbage."""
import pytest

from probes.engine.observability import Endpoint, run_collector_check
from probes.engine.observability.http import BadResponse, Client, EndpointError, EndpointUnauthorized, EndpointUnreachable
from tests.probes.observability import recorded


def endpoint(server, **kwargs):
    return Endpoint(kind=kwargs.pop("kind", "prometheus"), url=server.url, **kwargs)


def test_a_bearer_token_is_sent_and_a_wrong_one_is_a_typed_error(obs_server):
    obs_server.routes = recorded.GRAFANA
    obs_server.token = "glsa_right"
    assert Client(endpoint(obs_server, kind="grafana", token="glsa_right")).get_json("/api/datasources")[0]["type"] == "prometheus"
    with pytest.raises(EndpointUnauthorized) as caught:
        Client(endpoint(obs_server, kind="grafana", token="glsa_wrong")).get_json("/api/datasources")
    assert "HTTP 401" in str(caught.value) and "glsa_wrong" not in str(caught.value) and not caught.value.transient


def test_5xx_and_429_are_retried_then_succeed(obs_server):
    obs_server.routes = recorded.PROMETHEUS
    obs_server.fault("/api/v1/rules", 503)
    obs_server.fault("/api/v1/rules", 429, retry_after="0")
    slept = []
    client = Client(endpoint(obs_server), sleep=slept.append)
    assert client.get_json("/api/v1/rules")["status"] == "success"
    assert client.calls == 3 and len(slept) == 2 and slept[1] == 0.0  # Retry-After honoured


def test_a_server_that_keeps_failing_is_a_transient_error_after_the_retries(obs_server):
    obs_server.routes = recorded.PROMETHEUS
    obs_server.fault("/api/v1/rules", 500, times=None)
    client = Client(endpoint(obs_server, retries=2), sleep=lambda s: None)
    with pytest.raises(EndpointError) as caught:
        client.get_json("/api/v1/rules")
    assert caught.value.transient and "HTTP 500 after 3 attempt(s)" in str(caught.value)


def test_a_stalled_server_times_out(obs_server):
    obs_server.routes = recorded.PROMETHEUS
    obs_server.fault("/api/v1/rules", 200, times=None, delay=1.5)
    client = Client(endpoint(obs_server, timeout=(0.5, 0.3), retries=1), sleep=lambda s: None)
    with pytest.raises(EndpointUnreachable) as caught:
        client.get_json("/api/v1/rules")
    assert caught.value.transient and "no answer after 2 attempt(s)" in str(caught.value)


def test_a_dropped_connection_is_retried(obs_server):
    obs_server.routes = recorded.PROMETHEUS
    obs_server.fault("/api/v1/rules", 0)
    assert Client(endpoint(obs_server), sleep=lambda s: None).get_json("/api/v1/rules")["status"] == "success"


def test_nothing_listening_is_unreachable():
    client = Client(Endpoint("loki", "http://127.0.0.1:9", retries=0))
    with pytest.raises(EndpointUnreachable):
        client.get("/config")


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"\x00\xff\xfe", b'{"status": "success"'])
def test_garbage_bodies_are_bad_responses(obs_server, body):
    obs_server.routes = recorded.PROMETHEUS
    obs_server.fault("/api/v1/rules", 200, body=body)
    with pytest.raises(BadResponse):
        Client(endpoint(obs_server)).get_json("/api/v1/rules")


def test_a_check_over_a_failing_endpoint_is_an_error_outcome_not_a_pass(obs_server):
    obs_server.routes = recorded.PROMETHEUS
    obs_server.fault("/api/v1/status/flags", 200, body=b"<html>login</html>")
    outcome = run_collector_check("collector.prometheus.retention", endpoint(obs_server))
    assert outcome.status == "error" and "not JSON" in outcome.summary and outcome.observed["error"] == "BadResponse"
    obs_server.token = "secret"
    outcome = run_collector_check("collector.prometheus.retention", endpoint(obs_server))
    assert outcome.status == "error" and outcome.observed["transient"] is False


def test_a_wrong_shape_is_named(obs_server):
    obs_server.routes = {**recorded.PROMETHEUS, "/api/v1/rules": {"status": "error", "error": "bad"}}
    outcome = run_collector_check("collector.prometheus.rules", endpoint(obs_server))
    assert outcome.status == "error" and "/api/v1/rules" in outcome.summary


def test_the_endpoint_url_is_validated():
    with pytest.raises(ValueError, match="http"):
        Endpoint("prometheus", "file:///etc/passwd")
