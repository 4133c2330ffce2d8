"""Sign-off in a real browser: an approver approves, the auditor downloads the PDF report."""
import io
import re

import pytest
from playwright.sync_api import expect

from checklists.models import Approval, Release, ReleaseItem, Report
from checklists.signoff import services as signoff
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_release(release, people):
    release.items.update(status=ReleaseItem.Status.DONE)
    signoff.signoff_open(release=release, by=people["manager"])
    return release


def test_approver_approves_and_auditor_downloads_the_pdf(new_page, live_server, people, open_release, settings):
    from pypdf import PdfReader

    # No worker runs in browser tests: the report task runs eagerly, on commit of the request that asks
    # for it, in the live server's thread (the view is not in a transaction, so "on commit" is at once).
    settings.CELERY_TASK_ALWAYS_EAGER = True

    approver = new_page()
    login(approver, live_server, "sam")  # Security approver
    approver.goto(f"{live_server.url}/releases/{open_release.pk}/signoff/")
    row = approver.locator("tr", has_text="Security").first
    row.get_by_label("Comment (required to reject)").fill("Security controls reviewed.")
    row.get_by_role("button", name="Approve").click()
    expect(approver.locator("#signoff-panel")).to_contain_text("Security: approved")
    expect(approver.locator("#requirement-" + str(open_release.requirements.get(name="Security").pk))
           ).to_contain_text("Security controls reviewed.")
    approval = Approval.objects.get(release=open_release)
    assert approval.approver.username == "sam" and approval.state_hash

    auditor = new_page()
    login(auditor, live_server, "audrey")
    auditor.goto(f"{live_server.url}/releases/{open_release.pk}/signoff/")
    expect(auditor.get_by_role("button", name="Approve")).to_have_count(0)
    auditor.get_by_role("button", name="Generate PDF report").click()
    link = auditor.get_by_role("link", name=re.compile(r"Download PDF report #\d+"))
    expect(link).to_be_visible(timeout=120_000)
    report = Report.objects.get(release=open_release)
    assert report.state == Report.State.READY
    with auditor.expect_download(timeout=60_000) as download_info:
        link.click()
    path = download_info.value.path()
    data = open(path, "rb").read()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Security controls reviewed." in text
    assert reader.metadata["/readinessmanifest"] == report.manifest_sha256 and report.manifest_sha256 in text
    assert Release.objects.get(pk=open_release.pk).state == Release.State.AWAITING_SIGNOFF


def test_the_report_list_polls_until_a_pending_report_is_ready(new_page, live_server, people, open_release):
    from reports import services as reports
    from reports.tasks import generate_report

    report, _ = reports.report_request(release=open_release, fmt="md", by=people["manager"])
    manager = new_page()
    login(manager, live_server, "manager")
    manager.goto(f"{live_server.url}/releases/{open_release.pk}/signoff/")
    row = manager.locator(f"#report-{report.pk}")
    expect(row).to_contain_text("Queued")
    manager.get_by_label("Reopen the release (supersedes every standing decision)").fill("typing, not lost")
    generate_report(report.pk)  # what a worker does, from this thread
    expect(row.get_by_role("link", name=f"Download MD report #{report.pk}")).to_be_visible(timeout=10_000)
    # Only the list was swapped: what the manager typed in a form beside it is still there.
    expect(manager.get_by_label("Reopen the release (supersedes every standing decision)")).to_have_value(
        "typing, not lost")
