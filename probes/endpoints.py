"""Observability endpoints: stored with their secret encrypted, tested, matched to releases, and turned
into collector endpoints."""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from checklists.audit import record
from probes import crypto
from probes.cluster_collector import CollectError
from probes.engine.observability.collectors import SOURCES
from probes.engine.observability.http import Client, Endpoint, EndpointUnauthorized, EndpointUnreachable
from probes.models import ObservabilityEndpoint

CHECK_TIMEOUT = (3.0, 5.0)  # (connect, read) seconds for the reachability test of an endpoint
# One cheap authenticated GET per kind: the first path its collector reads.
CHECK_PATHS = {
    "prometheus": "/api/v1/status/flags",
    "alertmanager": "/api/v2/status",
    "grafana": "/api/datasources",
    "loki": "/config",
    "jaeger": "/api/services",
    "tempo": "/api/search/tag/service.name/values",
}


def endpoint_create(*, name: str, kind: str, url: str, token: str = "", username: str = "", password: str = "",
                    environment: str = "", verify_tls: bool = True, by=None) -> ObservabilityEndpoint:
    """Store an endpoint; the bearer `token` (or, with `username`, the basic-auth `password`) is
    encrypted with READINESS_SECRETS_KEYS. Raises ValueError for a URL the collector cannot use and
    crypto.SecretKeyError when no key is configured."""
    Endpoint(kind, url)  # the collector's own validation: http(s) with a host
    if kind not in ObservabilityEndpoint.Kind.values:
        raise ValueError(f"unknown endpoint kind {kind!r}; one of {', '.join(ObservabilityEndpoint.Kind.values)}")
    secret = password if username else token
    encrypted = crypto.encrypt(secret, settings.READINESS_SECRETS_KEYS) if secret else ""
    with transaction.atomic():
        endpoint = ObservabilityEndpoint.objects.create(name=name, kind=kind, url=url, username=username,
                                                        environment=environment, secret_encrypted=encrypted,
                                                        verify_tls=verify_tls)
        # Never the secret, not even hashed: the audit trail is readable by auditors.
        record("probes.endpoint.created", actor=by, obj=endpoint,
               after={"name": name, "kind": kind, "url": url, "environment": environment,
                      "auth": "basic" if username else ("bearer" if token else "none")})
    return endpoint


def endpoint_delete(*, endpoint: ObservabilityEndpoint, by) -> None:
    """Remove an endpoint (its secret with it). Past runs keep their results and name it in their stats."""
    with transaction.atomic():
        record("probes.endpoint.deleted", actor=by, obj=endpoint,
               before={"name": endpoint.name, "kind": endpoint.kind, "url": endpoint.url,
                       "environment": endpoint.environment})
        endpoint.delete()


def collector_endpoint(endpoint: ObservabilityEndpoint, **options) -> Endpoint:
    """The collector's Endpoint with the secret decrypted (in memory only); raises crypto.SecretKeyError.
    `options` override the Endpoint's defaults (timeout, retries)."""
    secret = crypto.decrypt(endpoint.secret_encrypted, settings.READINESS_SECRETS_KEYS) if endpoint.secret_encrypted else ""
    auth = {"username": endpoint.username, "password": secret} if endpoint.username else {"token": secret}
    return Endpoint(endpoint.kind, endpoint.url, verify_tls=endpoint.verify_tls, **auth, **options)


def endpoint_check(*, endpoint: ObservabilityEndpoint, by=None) -> ObservabilityEndpoint:
    """One authenticated GET with a short timeout and no retries; stores the outcome. Network I/O."""
    try:
        client = Client(collector_endpoint(endpoint, timeout=CHECK_TIMEOUT, retries=0))
        try:
            client.get(CHECK_PATHS[endpoint.kind])
        finally:
            client.close()
    except (CollectError, crypto.SecretKeyError) as exc:
        _endpoint_status(endpoint, exc)
    else:
        _endpoint_status(endpoint, None)
    record("probes.endpoint.checked", actor=by, obj=endpoint,
           after={"status": endpoint.last_status, "message": endpoint.last_message})
    return endpoint


def _endpoint_status(endpoint: ObservabilityEndpoint, exc: Exception | None) -> None:
    status = ObservabilityEndpoint.Status
    if exc is None:
        endpoint.last_status, endpoint.last_message = status.REACHABLE, ""
    elif isinstance(exc, EndpointUnreachable):
        endpoint.last_status, endpoint.last_message = status.UNREACHABLE, str(exc)
    elif isinstance(exc, EndpointUnauthorized):
        endpoint.last_status, endpoint.last_message = status.FORBIDDEN, str(exc)
    else:
        endpoint.last_status, endpoint.last_message = status.ERROR, str(exc)
    endpoint.last_checked_at = timezone.now()
    endpoint.save(update_fields=["last_status", "last_message", "last_checked_at"])


def endpoints_for(environment: str, endpoints=None) -> dict[str, ObservabilityEndpoint]:
    """{source: endpoint} serving `environment`: per kind, the endpoint named for that environment,
    else one for every environment (first by name). The "tracing" source takes Jaeger before Tempo."""
    chosen: dict[str, ObservabilityEndpoint] = {}
    candidates = ObservabilityEndpoint.objects.all() if endpoints is None else endpoints
    # Those named for the environment first, then those for every environment; by name within each.
    for endpoint in sorted(candidates, key=lambda e: (e.environment != environment, e.name)):
        if endpoint.environment in (environment, ""):
            chosen.setdefault(endpoint.kind, endpoint)
    for source, kinds in SOURCES.items():
        found = next((chosen[kind] for kind in kinds if kind in chosen), None)
        if found is not None:
            chosen[source] = found
    return chosen

