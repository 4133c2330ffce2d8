import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.cache import cache

from readiness.stack import free_port

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


def test_a_look_alike_username_counts_against_the_account_it_logs_in_to(client, people, settings):
    settings.READINESS_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    # Fullwidth letters are NFKC-normalised to "alice" by the login form; the brake must see the same.
    for spelling in ("ａｌｉｃｅ", "ALICE", " alice "):
        locked = client.post("/login/", {"username": spelling, "password": "pw-for-tests"})
        assert locked.status_code == 429, spelling
    assert "_auth_user_id" not in client.session


def test_look_alike_failures_add_up_on_one_account(client, people, settings):
    settings.READINESS_LOGIN_MAX_FAILURES = 2
    client.post("/login/", {"username": "ａｌｉｃｅ", "password": "wrong"})
    client.post("/login/", {"username": "Alice", "password": "wrong"})
    assert client.post("/login/", {"username": "alice", "password": "pw-for-tests"}).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_get_no_more_tries_than_the_limit(live_server, people, settings):
    settings.READINESS_LOGIN_MAX_FAILURES = 10
    barrier = threading.Barrier(30)

    def guess(_):
        session = requests.Session()
        page = session.get(f"{live_server.url}/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        barrier.wait(timeout=30)
        return session.post(f"{live_server.url}/login/", timeout=30, headers={"Referer": live_server.url},
                            data={"username": "alice", "password": "wrong", "csrfmiddlewaretoken": token}).status_code

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(guess, range(30)))
    print(f"30 parallel wrong passwords: {codes.count(200)} checked, {codes.count(429)} refused")
    assert codes.count(200) == 10 and codes.count(429) == 20, codes


def test_login_works_when_redis_is_down(client, people, settings, caplog):
    # A port nothing listens on: the throttle cannot count, and says so in the log.
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "alice", "password": "pw-for-tests"}).status_code == 302
    assert "login throttle off: Redis unavailable" in caplog.text
