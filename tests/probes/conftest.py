"""Fixtures for probe tests."""
import pytest

from tests.probes.k8s_server import KubeApiServer


@pytest.fixture
def k8s_server():
    """A started Kubernetes-API-shaped server on loopback; set `.objects` and `.fault(...)` freely."""
    with KubeApiServer() as server:
        yield server

