"""What approvers and engineers see: the review summary's links, waivers on failing items, small fixes."""
import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checklists.models import ReleaseItem
from checklists.services import items as item_services
from checklists.signoff import waivers
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def test_the_review_summary_links_to_each_item(page, live_server, people, release):
    items = list(release.items.filter(owner_team__slug="platform").order_by("order")[:4])
    bare, overridden, na, to_waive = items
    ReleaseItem.objects.filter(pk=bare.pk).update(status="done", completed_by=people["engineer"])
    ReleaseItem.objects.filter(pk=overridden.pk).update(status="done", probe_status="fail", changed_by=people["engineer"])
    item_services.items_bulk_update(release=release, versions={na.pk: na.version}, by=people["manager"],
                                    status="not_applicable", reason="Managed by the cloud provider.")
    waivers.waiver_request(item=to_waive, by=people["engineer"],
                           justification="Two nodes until Q3", expires_on=timezone.localdate() + datetime.timedelta(days=9))
    login(page, live_server, "sam")
    page.goto(f"{live_server.url}/releases/{release.pk}/signoff/")
    review = page.locator("#review")
    expect(review.get_by_role("link", name="2 done without evidence")).to_be_visible()
    expect(review.locator("#review-overrides")).to_contain_text("the probe failed; alice set it done")
    expect(review.locator("#review-na")).to_contain_text("Managed by the cloud provider.")
    expect(review.locator("#review-waivers")).to_contain_text("Two nodes until Q3")
    review.locator("#review-overrides").get_by_role("link", name=overridden.text).click()
    expect(page).to_have_url(re.compile(rf"/releases/{release.pk}/items/{overridden.pk}/$"))
    expect(page.get_by_role("heading", name=overridden.text)).to_be_visible()
    page.go_back()
    page.locator("#review-na").get_by_role("link", name=na.text).click()
    expect(page).to_have_url(re.compile(rf"/items/{na.pk}/$"))


def test_a_failing_item_offers_a_waiver_in_view(page, live_server, people, release):
    item = release.items.get(key=PLATFORM_ITEM)
    item_services.item_set_status(item=item, status="failed", by=people["engineer"], expected_version=1)
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/releases/{release.pk}/items/{item.pk}/")
    link = page.get_by_role("link", name="Request a waiver")
    expect(link).to_be_visible()  # not inside the collapsed history
    expect(page.locator("#history summary")).to_have_text("History (1 event)")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    assert not crumbs.inner_text().strip().endswith("/")
    link.click()
    expect(page).to_have_url(re.compile(r"/waivers/new/$"))


def test_an_empty_filter_says_so_and_sections_show_their_marker(page, live_server, people, release):
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/releases/{release.pk}/?q=no-such-words-anywhere")
    expect(page.locator(".filter-empty")).to_contain_text("No item matches this filter.")
    page.locator(".filter-empty").get_by_role("link", name="Clear the filter").click()
    summary = page.locator("details.section > summary").first
    marker = summary.evaluate("el => getComputedStyle(el, '::before').content")
    assert marker not in ("none", "normal", ""), marker


def test_the_favicon_is_served(page, live_server, people):
    login(page, live_server, "manager")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{live_server.url}{icon}").status == 200
    assert page.request.get(f"{live_server.url}/favicon.ico").status == 200


def test_no_csp_violation_when_a_probe_run_refreshes(page, live_server, people, release):
    from pathlib import Path

    from probes import bundles, services
    from probes.models import ProbeRun

    folder = Path(__file__).resolve().parents[1] / "probes" / "bundles" / "good"
    run = services.run_create(release=release, bundle=bundles.read_paths([folder]), queue=False)
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    page.locator("#probes summary").click()
    page.wait_for_timeout(2500)  # at least one refresh of the queued run
    services.run_execute(run_id=run.pk)  # the run finishes while the page polls it
    expect(page.locator("#probe-panel")).to_contain_text("finished", timeout=6000)
    page.wait_for_timeout(3000)  # the live view brings the items the run decided
    page.goto(f"{live_server.url}/releases/{release.pk}/probes/")
    page.wait_for_timeout(1000)
    assert ProbeRun.objects.get(pk=run.pk).state == "done"
    assert violations == []
