import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_wrong_password_says_so_and_right_password_logs_in(client, people):
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    response = client.post("/login/", {"username": "alice", "password": "pw-for-tests"})
    assert response.status_code == 302


def test_repeated_failures_pause_logins_for_that_account(client, people, settings):
    settings.READINESS_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    locked = client.post("/login/", {"username": "alice", "password": "pw-for-tests"})
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not affected.
    assert client.post("/login/", {"username": "sam", "password": "pw-for-tests"}).status_code == 302


def test_a_successful_login_clears_the_count(client, people, settings):
    settings.READINESS_LOGIN_MAX_FAILURES = 2
    client.post("/login/", {"username": "alice", "password": "wrong"})
    assert client.post("/login/", {"username": "alice", "password": "pw-for-tests"}).status_code == 302
    client.logout()
    client.post("/login/", {"username": "alice", "password": "wrong"})
    assert client.post("/login/", {"username": "alice", "password": "pw-for-tests"}).status_code == 302
