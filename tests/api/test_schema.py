"""Schemathesis against the app's own OpenAPI schema: no 500s, every answer as the schema says.

Bounded: a few examples per operation, no deadline per example, and the generated requests go to the
WSGI application in this process (on the test database), not over the network.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from readiness.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def schema_token(people, release, settings):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from api.services import token_create

    # As Django's test client does: the WSGI handler must not close the test transaction's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    settings.READINESS_API_RATE_PER_TOKEN = 0  # generated calls are many and quick
    yield token_create(name="schemathesis", by=people["admin"])[1]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, schema_token, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    case.call_and_validate(headers={"Authorization": f"Bearer {schema_token}"}, checks=CHECKS)


def test_the_schema_is_served_at_a_stable_url(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")
    assert "/api/v1/gate/{service}/{version}" in response.json()["paths"]
