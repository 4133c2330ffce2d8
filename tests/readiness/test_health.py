import pytest


@pytest.mark.django_db
def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_metrics_are_exposed_and_requests_carry_an_id(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content
    assert len(response["X-Request-ID"]) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"


@pytest.mark.django_db
def test_release_list_needs_a_login_and_shows_progress(client, people, release):
    assert client.get("/").status_code == 302
    client.force_login(people["manager"])
    page = client.get("/")
    assert page.status_code == 200
    assert b"todo-app" in page.content and b"0/211" in page.content
    client.force_login(people["nobody"])
    assert b"todo-app" not in client.get("/").content


@pytest.mark.django_db
def test_navigation_marks_the_current_page(client, people):
    client.force_login(people["manager"])
    html = client.get("/my-items/").content.decode()
    assert 'href="/my-items/" aria-current="page"' in html
    assert "&quot;page&quot;" not in html


@pytest.mark.django_db
def test_metrics_token_when_configured(client, settings):
    settings.READINESS_METRICS_TOKEN = "scrape-secret"
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert allowed.status_code == 200 and b"django_http_requests" in allowed.content
