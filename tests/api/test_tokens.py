"""Tokens: hashed, shown once, revocable, expiring; 401 for anything but a live token; the rate limits."""
import datetime
import hashlib

import pytest
from django.utils import timezone

from api.models import ApiToken
from api.services import TokenError, token_create, token_revoke
from checklists.models import AuditEvent

pytestmark = pytest.mark.django_db


def _unauthenticated(response):
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_is_stored_as_its_hash_only(people):
    token, secret = token_create(name="deploy", by=people["engineer"])
    assert secret.startswith("rdy_") and len(secret) > 40
    assert token.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12]
    assert secret not in str(list(ApiToken.objects.values()))
    assert secret not in str(list(AuditEvent.objects.values()))


def test_missing_wrong_revoked_and_expired_tokens_get_401(api_as, release, people):
    path = f"/releases/{release.pk}"
    _unauthenticated(api_as(None).get(path))
    _unauthenticated(api_as("rdy_not-a-token").get(path))
    _unauthenticated(api_as("garbage").get(path))
    token, secret = token_create(name="soon", by=people["manager"])
    assert api_as(secret).get(path).status_code == 200
    token_revoke(token=token, by=people["manager"])
    _unauthenticated(api_as(secret).get(path))
    token, secret = token_create(name="later", by=people["manager"],
                                 expires_at=timezone.now() + datetime.timedelta(hours=1))
    assert api_as(secret).get(path).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    _unauthenticated(api_as(secret).get(path))
    _unauthenticated(api_as(secret).patch(f"{path}/items/x", {"version": 1, "status": "done"}))


def test_an_inactive_users_token_gets_401(api_as, release, people):
    token, secret = token_create(name="x", by=people["manager"])
    people["manager"].is_active = False
    people["manager"].save()
    _unauthenticated(api_as(secret).get(f"/releases/{release.pk}"))


def test_last_use_is_recorded(api_as, release, people):
    token, secret = token_create(name="x", by=people["manager"])
    api_as(secret).get(f"/releases/{release.pk}")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_from == "127.0.0.1"


def test_token_rules(people):
    with pytest.raises(TokenError):
        token_create(name=" ", by=people["manager"])
    with pytest.raises(TokenError):
        token_create(name="x", by=people["manager"], expires_at=timezone.now() - datetime.timedelta(days=1))
    token_create(name="x", by=people["manager"])
    with pytest.raises(TokenError):
        token_create(name="x", by=people["manager"])
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        token_create(name="x", by=people["nobody"])  # holds no role
    token, _ = token_create(name="y", by=people["manager"])
    with pytest.raises(PermissionDenied):
        token_revoke(token=token, by=people["engineer"])
    token_revoke(token=token, by=people["admin"])


def test_the_rate_limit_per_token_answers_429_with_retry_after(api_as, release, people, settings):
    settings.READINESS_API_RATE_PER_TOKEN = 3
    _, secret = token_create(name="busy", by=people["manager"])
    api = api_as(secret)
    for _ in range(3):
        assert api.get(f"/releases/{release.pk}").status_code == 200
    response = api.get(f"/releases/{release.pk}")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= settings.READINESS_API_RATE_WINDOW_SECONDS
    _, other = token_create(name="quiet", by=people["manager"])
    assert api_as(other).get(f"/releases/{release.pk}").status_code == 200  # counted per token


def test_calls_without_a_token_are_limited_per_address(api_as, release, settings):
    settings.READINESS_API_RATE_ANONYMOUS = 2
    for _ in range(2):
        _unauthenticated(api_as("rdy_guess").get(f"/releases/{release.pk}"))
    response = api_as("rdy_guess").get(f"/releases/{release.pk}")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_the_limit_is_shared_through_redis(people):
    """Two web processes share one counter: the count lives in Redis, not in process memory."""
    from django.core.cache import caches

    from api import ratelimit

    key_verdicts = [ratelimit.hit("test", "shared", limit=2, window=60) for _ in range(3)]
    assert [v.allowed for v in key_verdicts] == [True, True, False]
    client = caches["default"]._cache.get_client(write=False)
    assert any(b"api-rate:test:shared" in key for key in client.keys("*"))


# The browser pages.

def test_tokens_page_creates_shows_once_and_revokes(client, people):
    client.force_login(people["engineer"])
    assert client.get("/tokens/").status_code == 200
    response = client.post("/tokens/new/", {"name": "github deploy"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(name="github deploy")
    page = response.content.decode()
    secret = page[page.index("rdy_"):].split("<", 1)[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == token.secret_sha256
    listing = client.get("/tokens/").content.decode()
    assert token.prefix in listing and secret not in listing
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_tokens_pages_permissions(client, people, seed_teams):
    client.force_login(people["nobody"])
    assert client.get("/tokens/").status_code == 403
    client.force_login(people["manager"])
    assert client.get("/tokens/service/new/").status_code == 403
    token, _ = token_create(name="mine", by=people["engineer"])
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 404  # not theirs: not even listed
    assert client.get(f"/tokens/{token.pk}/revoke/").status_code == 405
    client.force_login(people["admin"])
    response = client.post("/tokens/service/new/", {"name": "argo", "team": seed_teams["sre"].pk,
                                                    "role": "release_manager"})
    assert response.status_code == 200
    service = ApiToken.objects.get(name="argo")
    assert service.kind == "service" and service.user.memberships.get().role == "release_manager"
    client.logout()
    assert client.get("/tokens/").status_code == 302


def test_without_redis_the_api_answers_and_the_limit_is_off(api_as, release, people, settings, caplog):
    """An outage of the cache must not stop deploys: the rate limit fails open, with a warning, like the
    login brake; the gate and reads answer from the database."""
    from django.test import override_settings

    token, secret = token_create(name="deploy", by=people["manager"])
    dead = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}
    with override_settings(CACHES=dead):
        response = api_as(secret).get(f"/releases/{release.pk}")
        assert response.status_code == 200, response.content
        assert "Rate limit unavailable" in caplog.text
        assert api_as(secret).get(f"/gate/{release.service}/{release.version}").status_code == 409  # not approved
        assert api_as("rdy_guess").get(f"/releases/{release.pk}").status_code == 401
