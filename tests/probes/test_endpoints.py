"""Stored observability endpoints: secrets encrypted, never audited, usable by the collectors."""
import pytest

from checklists.models import AuditEvent
from probes.endpoints import collector_endpoint, endpoint_create
from probes.models import ObservabilityEndpoint
from probes.engine.observability import run_collector_check
from tests.probes.observability import recorded
from tests.probes.observability.obs_server import ObservabilityServer

pytestmark = pytest.mark.django_db
TOKEN = "glsa_0123456789abcdef"


def test_a_token_is_stored_encrypted_and_never_audited():
    endpoint = endpoint_create(name="grafana", kind="grafana", url="http://127.0.0.1:3000", token=TOKEN)
    stored = ObservabilityEndpoint.objects.get(pk=endpoint.pk)
    assert TOKEN not in stored.secret_encrypted and stored.secret_encrypted
    event = AuditEvent.objects.get(action="probes.endpoint.created")
    assert TOKEN not in str(event.after) and event.after["auth"] == "bearer"
    assert collector_endpoint(stored).token == TOKEN


def test_a_stored_endpoint_serves_a_collector_check():
    with ObservabilityServer(routes=recorded.GRAFANA, token=TOKEN) as server:
        endpoint = endpoint_create(name="grafana", kind="grafana", url=server.url, token=TOKEN)
        outcome = run_collector_check("collector.grafana.datasources", collector_endpoint(endpoint))
    assert outcome.status == "pass"


def test_basic_auth_keeps_the_password_encrypted():
    endpoint = endpoint_create(name="loki", kind="loki", url="https://loki.example.internal", username="reader", password="pw-1")
    made = collector_endpoint(ObservabilityEndpoint.objects.get(pk=endpoint.pk))
    assert (made.username, made.password, made.token) == ("reader", "pw-1", "")


@pytest.mark.parametrize("kind, url, message", [("grafana", "ftp://x", "http"), ("splunk", "http://x", "unknown endpoint kind")])
def test_bad_endpoints_are_refused_and_nothing_is_stored(kind, url, message):
    with pytest.raises(ValueError, match=message):
        endpoint_create(name="x", kind=kind, url=url)
    assert not ObservabilityEndpoint.objects.exists()
