"""Observability endpoints: stored with their secret encrypted, turned into collector endpoints."""
from django.conf import settings
from django.db import transaction

from checklists.audit import record
from probes import crypto
from probes.models import ObservabilityEndpoint
from probes.engine.observability.http import Endpoint


def endpoint_create(*, name: str, kind: str, url: str, token: str = "", username: str = "", password: str = "",
                    verify_tls: bool = True, by=None) -> ObservabilityEndpoint:
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
                                                        secret_encrypted=encrypted, verify_tls=verify_tls)
        # Never the secret, not even hashed: the audit trail is readable by auditors.
        record("probes.endpoint.created", actor=by, obj=endpoint,
               after={"name": name, "kind": kind, "url": url, "auth": "basic" if username else ("bearer" if token else "none")})
    return endpoint


def collector_endpoint(endpoint: ObservabilityEndpoint) -> Endpoint:
    """The collector's Endpoint with the secret decrypted (in memory only); raises crypto.SecretKeyError."""
    secret = crypto.decrypt(endpoint.secret_encrypted, settings.READINESS_SECRETS_KEYS) if endpoint.secret_encrypted else ""
    if endpoint.username:
        return Endpoint(endpoint.kind, endpoint.url, username=endpoint.username, password=secret, verify_tls=endpoint.verify_tls)
    return Endpoint(endpoint.kind, endpoint.url, token=secret, verify_tls=endpoint.verify_tls)
