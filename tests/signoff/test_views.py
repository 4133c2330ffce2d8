"""Every sign-off, waiver and report endpoint: anonymous, nobody, auditor, wrong method, happy path."""
import pytest
from django.urls import reverse

from checklists.models import Approval, Release, ReleaseItem, Report, Waiver
from checklists.signoff import services as signoff, waivers
from reports import services as reports

pytestmark = pytest.mark.django_db

ITEM_KEY = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"
PANEL_QUERIES = 16
MY_APPROVALS_QUERIES = 11


@pytest.fixture
def open_release(ready_release, people):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    return ready_release


@pytest.fixture
def waiver(release, people, tomorrow):
    item = release.items.get(key=ITEM_KEY)
    return waivers.waiver_request(item=item, by=people["engineer"], justification="j", expires_on=tomorrow)


def _changing_endpoints(release, waiver):
    requirement = release.requirements.get(name="Platform")
    item = release.items.get(key=ITEM_KEY)
    return [
        reverse("signoff-open", args=[release.pk]),
        reverse("signoff-reopen", args=[release.pk]),
        reverse("requirement-create", args=[release.pk]),
        reverse("requirement-update", args=[release.pk, requirement.pk]),
        reverse("requirement-delete", args=[release.pk, requirement.pk]),
        reverse("requirement-decide", args=[release.pk, requirement.pk]),
        reverse("waiver-create", args=[release.pk, item.pk]),
        reverse("waiver-decide", args=[waiver.pk]),
        reverse("waiver-revoke", args=[waiver.pk]),
    ]


def _pages(release):
    return [reverse("signoff-detail", args=[release.pk]), reverse("signoff-panel", args=[release.pk])]


def test_anonymous_is_sent_to_login(client, release, waiver):
    for url in _changing_endpoints(release, waiver):
        response = client.post(url, {"decision": "approved"})
        assert response.status_code == 302 and "/login/" in response["Location"], url
    for url in _pages(release) + [reverse("my-approvals")]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_nobody_sees_nothing(client, release, waiver, people):
    client.force_login(people["nobody"])
    for url in _changing_endpoints(release, waiver):
        assert client.post(url, {"decision": "approved"}).status_code == 404, url
    for url in _pages(release):
        assert client.get(url).status_code == 404, url


def test_auditor_changes_nothing(client, release, waiver, people):
    client.force_login(people["auditor"])
    before = (Release.objects.get().state, Approval.objects.count(), Waiver.objects.get().state)
    for url in _changing_endpoints(release, waiver):
        response = client.post(url, {"decision": "grant", "name": "X", "role": "", "comment": "c",
                                     "justification": "j", "expires_on": "2999-01-01"})
        assert response.status_code == 403, url
    assert (Release.objects.get().state, Approval.objects.count(), Waiver.objects.get().state) == before
    assert client.get(reverse("signoff-detail", args=[release.pk])).status_code == 200


def test_wrong_method(client, release, waiver, people):
    client.force_login(people["manager"])
    for url in _changing_endpoints(release, waiver):
        expected = 405
        assert client.put(url).status_code == expected, url
    assert client.post(reverse("signoff-detail", args=[release.pk])).status_code == 405
    assert client.post(reverse("my-approvals")).status_code == 405


def test_open_refused_lists_the_blockers(client, release, people):
    client.force_login(people["manager"])
    response = client.post(reverse("signoff-open", args=[release.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sign-off cannot open" in body
    item = release.items.get(key=ITEM_KEY)
    # Each blocker links to its item, grouped by the team that owns it; no raw keys.
    assert reverse("item-detail", args=[release.pk, item.pk]) in body and item.text in body
    assert "Platform: " in body and "<code>" not in body and ITEM_KEY not in body
    assert Release.objects.get().state == Release.State.IN_PROGRESS


def test_approver_approves_through_the_panel(client, open_release, people, approvers):
    client.force_login(approvers["Platform"])
    requirement = open_release.requirements.get(name="Platform")
    url = reverse("requirement-decide", args=[open_release.pk, requirement.pk])
    panel = client.get(reverse("signoff-panel", args=[open_release.pk])).content.decode()
    assert url in panel
    response = client.post(url, {"decision": "rejected", "comment": ""}, headers={"HX-Request": "true"})
    assert "needs a comment" in response.content.decode()
    response = client.post(url, {"decision": "approved", "comment": "ok"})
    assert response.status_code == 302
    assert Approval.objects.get().approver == approvers["Platform"]
    # Someone outside the requirement is refused.
    client.force_login(people["engineer"])
    assert client.post(url, {"decision": "approved"}).status_code == 403


def test_waiver_request_form_and_my_page(client, release, people, tomorrow):
    item = release.items.get(key=ITEM_KEY)
    client.force_login(people["engineer"])
    url = reverse("waiver-create", args=[release.pk, item.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"justification": "j", "expires_on": "2000-01-01"}).status_code == 400
    assert client.post(url, {"justification": "Two nodes until Q3", "expires_on": tomorrow.isoformat()}).status_code == 302
    waiver = Waiver.objects.get()
    client.force_login(people["approver"])
    page = client.get(reverse("my-approvals")).content.decode()
    assert "Two nodes until Q3" in page
    response = client.post(reverse("waiver-decide", args=[waiver.pk]), {"decision": "grant", "next": "mine"})
    assert response.status_code == 302
    assert ReleaseItem.objects.get(pk=item.pk).status == ReleaseItem.Status.WAIVED


def test_my_page_lists_pending_approvals(client, open_release, approvers):
    client.force_login(approvers["Security"])
    page = client.get(reverse("my-approvals")).content.decode()
    assert "Security" in page and str(open_release) in page


def test_report_download_permissions(client, release, people):
    report = reports.report_generate(release=release, fmt="json")
    url = reverse("report-download", args=[report.pk])
    client.force_login(people["engineer"])  # sees the release (their team owns items), may not download
    assert client.get(url).status_code == 403
    client.force_login(people["nobody"])
    assert client.get(url).status_code == 404
    client.force_login(people["auditor"])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b'{"audit"')
    client.force_login(people["engineer"])
    assert client.post(reverse("report-create", args=[release.pk]), {"format": "json"}).status_code == 403
    assert client.post(reverse("report-bundle", args=[release.pk])).status_code == 403
    client.force_login(people["auditor"])
    response = client.post(reverse("report-create", args=[release.pk]), {"format": "md"})
    assert response.status_code == 302 and response.url == reverse("signoff-detail", args=[release.pk])
    assert Report.objects.count() == 2
    assert Report.objects.latest("pk").state == Report.State.PENDING  # generated by a worker, not here


def test_the_signoff_page_and_my_approvals_cost_pinned_queries(client, ready_release, people, approvers,
                                                               django_assert_num_queries):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    client.force_login(approvers["Security"])
    client.get(reverse("signoff-detail", args=[ready_release.pk]))  # warm the session
    # 16 for the 211-item seed release, whatever its size: session and user, the release, the viewer's
    # memberships, requirements and their sections, approvals, who decided which items (the audit
    # history, read once), the scope index (read once for all requirements), overrides, waivers, the
    # approver's review summary (with the params set on checks) and the forms' teams and sections.
    # Nothing is read per item or per requirement.
    with django_assert_num_queries(PANEL_QUERIES):
        assert client.get(reverse("signoff-detail", args=[ready_release.pk])).status_code == 200
    # "My approvals", one release awaiting sign-off: each such release adds its requirements,
    # approvals, deciders and scope index (the same reads as its sign-off panel).
    with django_assert_num_queries(MY_APPROVALS_QUERIES):
        assert client.get(reverse("my-approvals")).status_code == 200
