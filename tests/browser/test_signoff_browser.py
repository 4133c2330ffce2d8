"""Sign-off in a real browser: an approver approves, the auditor downloads the PDF report."""
import io

import pytest
from playwright.sync_api import expect

from checklists.models import Approval, Release, ReleaseItem
from checklists.services import signoff
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_release(release, people):
    release.items.update(status=ReleaseItem.Status.DONE)
    signoff.signoff_open(release=release, by=people["manager"])
    return release


def test_approver_approves_and_auditor_downloads_the_pdf(new_page, live_server, people, open_release):
    from pypdf import PdfReader

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
    with auditor.expect_download(timeout=120_000) as download_info:
        auditor.get_by_role("button", name="Download PDF report").click()
    path = download_info.value.path()
    data = open(path, "rb").read()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Security controls reviewed." in text
    assert reader.metadata["/readinessmanifest"] in text
    assert Release.objects.get(pk=open_release.pk).state == Release.State.AWAITING_SIGNOFF
