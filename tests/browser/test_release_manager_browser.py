"""A release manager's day in a real browser: bulk changes, templates, moving a release, a phone."""
import re

import pytest
from playwright.sync_api import expect

from checklists.models import AuditEvent, ReleaseItem, TemplateVersion
from checklists.services import items as item_services
from checklists.services.releases import release_create
from checklists.services.templates import template_import
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

V1 = """# Small service checklist

## Reliability
- [ ] Health probes are configured
  - liveness and readiness on every container
- [ ] Backups run nightly
  - [ ] Restores are tested

## Security
- [ ] Images are pinned
"""
V2 = V1.replace("- [ ] Images are pinned", "- [ ] Images are pinned by digest <!-- key: security.images-are-pinned -->\n"
                "- [ ] Secrets come from a vault")


def test_bulk_status_change_of_a_filtered_selection_with_one_conflict(page, live_server, people, release):
    login(page, live_server, "manager")
    # Live updates held back, as on a slow network: the page keeps the versions it loaded.
    page.route(re.compile(r".*/changes/\?since=.*"), lambda route: route.abort())
    page.goto(f"{live_server.url}/releases/{release.pk}/?team=platform")
    platform = list(release.items.filter(owner_team__slug="platform").order_by("order"))
    expect(page.locator(".item-row")).to_have_count(len(platform))
    picked = platform[:4]
    for item in picked:
        page.locator(f"#item-{item.pk} .bulk-pick").check()
    expect(page.locator("#bulk-count")).to_have_text("4")
    # Alice changes one of them meanwhile.
    changed = picked[1]
    item_services.item_set_status(item=changed, status="in_progress", by=people["engineer"], expected_version=1)
    bulk = page.locator("#bulk-form")
    bulk.get_by_label("Status").select_option("done")
    bulk.get_by_role("button", name="Apply").click()
    conflicts = page.locator("#bulk-conflicts")
    expect(conflicts).to_contain_text("Nothing was saved.")
    expect(conflicts).to_contain_text("1 of the 4 selected items changed")
    expect(conflicts.get_by_role("link", name=changed.text)).to_be_visible()
    expect(conflicts).to_contain_text("alice")
    assert not release.items.filter(status="done").exists()
    page.get_by_role("button", name="Apply again to 4 items").click()
    expect(page.locator("#messages")).to_contain_text("4 items changed (status → Done).")
    assert page.url.endswith(f"/releases/{release.pk}/?team=platform")  # back to the filtered page
    assert set(release.items.filter(status="done").values_list("pk", flat=True)) == {i.pk for i in picked}
    assert AuditEvent.objects.filter(action=item_services.BULK_ACTION).count() == 4
    # "All items matching the filter": the rest of the platform items in one go.
    page.locator("#bulk-scope-all").check()
    page.locator("#bulk-form").get_by_label("Status").select_option("in_progress")
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()
    expect(page.locator("#messages")).to_contain_text(f"{len(platform)} items changed (status → In progress)")
    assert release.items.filter(status="in_progress").count() == len(platform)


def test_arrow_keys_on_a_status_do_not_save_until_enter(page, live_server, people, release):
    item = release.items.filter(owner_team__slug="platform").order_by("order").first()
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/releases/{release.pk}/?team=platform")
    select = page.locator(f"#status-{item.pk}")
    select.focus()
    select.press("ArrowDown")
    select.press("ArrowDown")
    expect(page.locator(f"#item-{item.pk} .status-save")).to_be_visible()
    page.wait_for_timeout(500)
    item.refresh_from_db()
    assert item.version == 1 and item.status == "open"
    assert not AuditEvent.objects.filter(action="checklists.item.status_changed").exists()
    select.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Saved")
    item.refresh_from_db()
    assert item.status == "done" and item.version == 2
    assert AuditEvent.objects.filter(action="checklists.item.status_changed").count() == 1


def test_template_upload_preview_save_and_diff(page, live_server, people, tmp_path):
    template_import(data=V1.encode(), source_name="small.md")
    upload = tmp_path / "small-v2.md"
    upload.write_text(V2)
    login(page, live_server, "manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="Upload a checklist").click()
    page.get_by_label("Markdown checklist").set_input_files(str(upload))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("a new version of Small service checklist")
    expect(preview).to_contain_text("2 top-level sections")
    expect(preview).to_contain_text("5 items")
    expect(preview.locator(".preview-items .preview-items")).to_contain_text("Restores are tested")  # nested
    assert TemplateVersion.objects.count() == 1  # nothing saved yet
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#messages")).to_contain_text("Saved Small service checklist version 2")
    version = TemplateVersion.objects.get(number=2)
    assert version.source_name == "small-v2.md"
    page.get_by_role("link", name="Changes from version 1").click()
    expect(page.locator("#diff-summary")).to_contain_text("1 added, 0 removed, 1 changed, 3 unchanged")
    expect(page.locator("#diff-added")).to_contain_text("Secrets come from a vault")
    expect(page.locator("#diff-changed")).to_contain_text("Images are pinned by digest")


def test_move_a_release_to_a_new_template_version(page, live_server, people):
    v1 = template_import(data=V1.encode()).version
    release = release_create(template_version=v1, service="svc", version="1", by=people["manager"])
    kept = release.items.get(key="reliability.backups-run-nightly")
    item_services.item_set_status(item=kept, status="done", by=people["manager"], expected_version=1)
    template_import(data=V2.encode())
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    page.get_by_role("link", name="move to version 2").click()
    expect(page.locator(".move-effects")).to_contain_text("3 unchanged items keep their status, evidence and history")
    expect(page.locator("#diff-added")).to_contain_text("Secrets come from a vault")
    page.get_by_role("button", name="Move to version 2").click()
    expect(page.locator("#messages")).to_contain_text("Moved to Small service checklist v2")
    expect(page.locator(".item-row")).to_have_count(5)
    expect(page.locator(f"#status-{kept.pk}")).to_have_value("done")
    expect(page.locator(".item-row", has_text="Secrets come from a vault")).to_be_visible()
    kept.refresh_from_db()
    assert kept.status == ReleaseItem.Status.DONE and kept.template_item.version.number == 2


def test_at_390_px_the_navigation_fits_and_log_out_is_visible(browser, live_server, people, release, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        login(page, live_server, "manager")
        page.goto(f"{live_server.url}/releases/{release.pk}/")
        page.screenshot(path=str(tmp_path / "release-390.png"), full_page=False)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide"
        logout = page.get_by_role("button", name="Log out")
        expect(logout).to_be_visible()
        box = logout.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        for link in page.get_by_role("navigation", name="Main").get_by_role("link").all():
            b = link.bounding_box()
            assert b["x"] >= 0 and b["x"] + b["width"] <= 390, link.inner_text()
        page.goto(f"{live_server.url}/releases/{release.pk}/signoff/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
