"""The API docs render from our own static files under our Content-Security-Policy."""
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_under_the_csp_without_any_outside_request(page, live_server):
    refused, outside = [], []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            or "Refused to" in message.text else None)
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:") else None)
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/gate/{service}/{version}")).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert refused == [] and outside == []
