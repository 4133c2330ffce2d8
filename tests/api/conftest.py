import pytest

from api.services import token_create


class Api:
    """The Django test client speaking to /api/v1/ with a bearer token."""

    def __init__(self, client, secret: str | None):
        self.client, self.secret = client, secret

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        return {**base, **(headers or {})}

    def get(self, path, params=None, headers=None):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self._headers(headers))

    def post(self, path, json=None, headers=None, files=None):
        if files is not None:
            return self.client.post(f"/api/v1{path}", files, headers=self._headers(headers))
        return self.client.post(f"/api/v1{path}", json or {}, content_type="application/json",
                                headers=self._headers(headers))

    def patch(self, path, json=None, headers=None):
        return self.client.patch(f"/api/v1{path}", json or {}, content_type="application/json",
                                 headers=self._headers(headers))


def clear_rate_counters():
    """The rate-limit counters of an earlier test; not FLUSHDB, which would drop the broker's queues."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match="*api-rate:*"):
        client.delete(key)


def worker_ready(broker) -> bool:
    """A started worker has declared its queue (until then a published task would be dropped)."""
    return bool(broker.exists("_kombu.binding.celery"))


@pytest.fixture(autouse=True)
def _api_media_and_rate_counters(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    clear_rate_counters()
    yield
    clear_rate_counters()


@pytest.fixture
def secrets(people):
    """A personal token for everyone in the cast (except `nobody`, who holds no role)."""
    return {name: token_create(name=f"{name}-ci", by=user)[1] for name, user in people.items() if name != "nobody"}


@pytest.fixture
def api_as(client, secrets):
    def make(name_or_secret):
        return Api(client, secrets.get(name_or_secret, name_or_secret))
    return make





@pytest.fixture
def approved_release(release, people, approvers):
    """The seed release with every item done and every requirement approved."""
    from checklists.services import signoff
    from tests.factories import approve_all, complete_all

    complete_all(release)
    signoff.signoff_open(release=release, by=people["manager"])
    return approve_all(release, approvers)
