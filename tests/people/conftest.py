import pytest

from tests.people.oidc_provider import CLIENT_ID, CLIENT_SECRET, start_provider


@pytest.fixture
def provider():
    provider, server = start_provider()
    yield provider
    server.shutdown()
    server.server_close()


@pytest.fixture
def sso(settings, provider):
    """Single sign-on switched on against the loopback provider."""
    settings.READINESS_OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    return provider
