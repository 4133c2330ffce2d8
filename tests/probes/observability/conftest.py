import pytest

from tests.probes.observability.obs_server import ObservabilityServer


@pytest.fixture
def obs_server():
    with ObservabilityServer() as server:
        yield server
