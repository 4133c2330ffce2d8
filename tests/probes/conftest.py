"""Fixtures for probe tests."""
import pytest

from k8s_server import KubeApiServer


@pytest.fixture
def k8s_server():
    """A started Kubernetes-API-shaped server on loopback; set `.objects` and `.fault(...)` freely."""
    with KubeApiServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The `people` fixture creates eight users; PBKDF2 at production strength costs ~0.5 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
