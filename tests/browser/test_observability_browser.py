"""An admin adds an observability endpoint in the browser and tests it; the release manager collects."""
import pytest
from playwright.sync_api import expect

from probes.models import ObservabilityEndpoint, ProbeRun
from tests.browser.conftest import login
from tests.probes.observability import recorded
from tests.probes.observability.obs_server import ObservabilityServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TOKEN = "prom-token-for-the-browser"


def test_add_and_test_an_endpoint_then_collect_now(new_page, live_server, people, release):
    with ObservabilityServer(routes=recorded.PROMETHEUS, token=TOKEN) as server:
        admin = login(new_page(), live_server, "ada")
        admin.get_by_role("navigation", name="Main").get_by_role("link", name="Observability").click()
        admin.get_by_role("link", name="Add an endpoint").click()
        admin.get_by_label("Name:", exact=True).fill("prom-prod")
        admin.get_by_label("Kind:", exact=True).select_option("prometheus")
        admin.get_by_label("URL:", exact=True).fill(server.url)
        admin.get_by_label("Environment").fill("production")
        admin.get_by_label("Token or password").fill(TOKEN)
        admin.get_by_role("button", name="Add endpoint").click()
        row = admin.get_by_role("row", name="prom-prod")
        expect(row).to_contain_text("bearer token")
        admin.get_by_role("button", name="Test endpoint prom-prod").click()
        expect(admin.get_by_role("row", name="prom-prod")).to_contain_text("reachable")
        assert TOKEN not in admin.content()
        assert ObservabilityEndpoint.objects.get().environment == "production"

        manager = login(new_page(), live_server, "manager")
        manager.goto(f"{live_server.url}/releases/{release.pk}/probes/")
        expect(manager.locator("form.collect")).to_contain_text("prom-prod")
        manager.get_by_role("button", name="Collect now").click()
        expect(manager.locator(".messages, [role=status], body")).to_contain_text("Collection run")
    assert ProbeRun.objects.get(release=release).endpoints.get().name == "prom-prod"
