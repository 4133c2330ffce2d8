"""The release workflow in a real browser: what a release manager and engineers do all day."""
import hashlib
import re

import pytest
from playwright.sync_api import expect

from checklists.models import Comment, Evidence, Release, ReleaseItem
from checklists.services import items as item_services
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


@pytest.fixture
def item(release):
    return release.items.get(key=PLATFORM_ITEM)


def _release_url(live_server, release):
    return f"{live_server.url}/releases/{release.pk}/"


def test_log_in_and_create_a_release(page, live_server, people, release):
    login(page, live_server, "manager")
    expect(page.get_by_role("heading", name="Releases")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New release").click()
    page.get_by_label("Service").fill("payments-api")
    page.locator("#id_version").fill("2.0.0")
    page.get_by_label("Environment").fill("staging")
    page.get_by_role("button", name="Create release").click()
    expect(page.get_by_role("heading", name=re.compile("payments-api 2.0.0"))).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("created with 211 items")
    # The first sections come with the page; each of the others loads its rows as it scrolls into view.
    assert 0 < page.locator(".item-row").count() < 211
    scroll_to_next = """() => { const next = document.querySelector('.items.waiting');
                                if (next) { next.scrollIntoView(); } return !!next; }"""
    for _ in range(200):
        if not page.evaluate(scroll_to_next):
            break
        page.wait_for_timeout(50)
    expect(page.locator(".item-row")).to_have_count(211)
    assert Release.objects.filter(service="payments-api", environment="staging").exists()


def test_change_status_inline_moves_the_progress_bar(page, live_server, people, release, item):
    login(page, live_server, "alice")
    page.goto(_release_url(live_server, release))
    progress = page.locator("#release-progress")
    expect(progress).to_contain_text("0 of 211 items")
    url_before = page.url
    page.locator(f"#status-{item.pk}").select_option("done")
    expect(page.locator("#messages")).to_contain_text("Saved")
    expect(progress).to_contain_text("1 of 211 items")
    expect(progress.locator("progress")).to_have_attribute("value", "0")  # 1/211 rounds to 0%
    expect(page.locator(f"#section-progress-{item.section_id}")).to_contain_text("1/")
    assert page.url == url_before  # no reload
    item.refresh_from_db()
    assert item.status == "done" and item.completed_by == people["engineer"]


def test_upload_evidence_and_download_it(page, live_server, people, release, item, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    content = b"kubectl get nodes\nnode-1 Ready\nnode-2 Ready\nnode-3 Ready\n"
    upload = tmp_path / "nodes.txt"
    upload.write_bytes(content)
    login(page, live_server, "alice")
    page.goto(f"{_release_url(live_server, release)}items/{item.pk}/")
    page.get_by_text("Add evidence").click()
    page.get_by_label(re.compile("^File")).set_input_files(str(upload))
    page.get_by_role("button", name="Upload file").click()
    expect(page.locator("#evidence")).to_contain_text("File “nodes.txt” added")
    evidence = Evidence.objects.get()
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    with page.expect_download() as download_info:
        page.locator("#evidence").get_by_role("link", name="nodes.txt").click()
    download = download_info.value
    assert download.suggested_filename == "nodes.txt"
    assert open(download.path(), "rb").read() == content


def test_comment(page, live_server, people, release, item):
    login(page, live_server, "alice")
    page.goto(f"{_release_url(live_server, release)}items/{item.pk}/")
    page.get_by_label("Add a comment").fill("Three nodes in **three zones**, see the evidence.")
    page.get_by_role("button", name="Comment").click()
    expect(page.locator("#comments")).to_contain_text("Comment added.")
    expect(page.locator("#comments strong", has_text="three zones")).to_be_visible()
    assert Comment.objects.get().author == people["engineer"]


def test_a_change_by_another_session_appears_without_reload(new_page, live_server, people, release, item):
    manager = login(new_page(), live_server, "manager")
    manager.goto(_release_url(live_server, release))
    expect(manager.locator(f"#status-{item.pk}")).to_have_value("open")
    alice = login(new_page(), live_server, "alice")
    alice.goto(_release_url(live_server, release))
    alice.locator(f"#status-{item.pk}").select_option("failed")
    expect(alice.locator("#messages")).to_contain_text("Saved")
    # The manager's page polls every 2.5 s: the row and the counts follow within 5 s.
    expect(manager.locator(f"#status-{item.pk}")).to_have_value("failed", timeout=5_000)
    expect(manager.locator(f"#item-{item.pk} .badge", has_text="blocking")).to_be_visible()
    expect(manager.locator("#release-progress")).to_contain_text("1 blocking")


def test_a_stale_save_shows_the_conflict(page, live_server, people, release, item):
    login(page, live_server, "manager")
    # Hold back the live updates so this page keeps the version it loaded, as a slow network would.
    page.route(re.compile(r".*/changes/\?since=.*"), lambda route: route.abort())
    page.goto(_release_url(live_server, release))
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=1)
    page.locator(f"#status-{item.pk}").select_option("failed")
    row = page.locator(f"#item-{item.pk}")
    expect(row.get_by_role("alert")).to_contain_text("Not saved: alice changed this item")
    expect(row.get_by_role("alert")).to_contain_text("Status is now “Done”")
    expect(page.locator(f"#status-{item.pk}")).to_have_value("done")  # the current value, not ours
    item.refresh_from_db()
    assert item.status == "done" and item.version == 2


def test_an_engineer_cannot_change_another_teams_item(page, live_server, people, release, item):
    login(page, live_server, "bob")  # backend team; the item belongs to platform
    page.goto(_release_url(live_server, release))
    row = page.locator(f"#item-{item.pk}")
    expect(row).to_contain_text("Open")
    expect(row.locator("select")).to_have_count(0)
    expect(row.get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)
    backend_item = release.items.filter(owner_team__slug="backend").first()
    expect(page.locator(f"#status-{backend_item.pk}")).to_be_visible()  # their own team's items they can
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(f"{_release_url(live_server, release)}items/{item.pk}/edit/",
                                 form={"status": "done", "version": "1"},
                                 headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status == 403
    assert "belongs to another team" in response.text()
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.OPEN and item.version == 1
