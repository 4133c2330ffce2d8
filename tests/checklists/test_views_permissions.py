"""Every view and htmx endpoint against every role: the rules of checklists.permissions, through HTTP."""
import pytest
from django.urls import reverse

from checklists.models import Comment, Evidence, ReleaseItem

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


@pytest.fixture
def item(release):
    return release.items.get(key=PLATFORM_ITEM)  # owned by the platform team (alice's)


def _urls(item):
    r, i = item.release_id, item.pk
    return {
        "item-detail": reverse("item-detail", args=[r, i]),
        "item-row": reverse("item-row", args=[r, i]),
        "item-update": reverse("item-update", args=[r, i]),
        "evidence-create": reverse("evidence-create", args=[r, i]),
        "comment-create": reverse("comment-create", args=[r, i]),
        "release-detail": reverse("release-detail", args=[r]),
        "release-changes": reverse("release-changes", args=[r]) + "?since=0",
    }


# Each change, as (url name, POST data builder).
CHANGES = {
    "status": ("item-update", lambda item: {"status": "done", "version": item.version}),
    "assign": ("item-update", lambda item: {"assignee": "", "due_date": "2030-01-01", "version": item.version}),
    "owner team": ("item-update", lambda item: {"owner_team": "", "version": item.version}),
    "evidence": ("evidence-create", lambda item: {"kind": "note", "note": "checked by hand"}),
    "comment": ("comment-create", lambda item: {"body": "looks good"}),
}
READS = ["item-detail", "release-detail", "release-changes"]
PAGES = ["dashboard", "my-items", "team-rollup"]


def _post(client, url, data, htmx=False):
    return client.post(url, data, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))


def test_anonymous_is_sent_to_login_everywhere(client, item):
    urls = [reverse(name) for name in [*PAGES, "release-create"]] + [
        url for name, url in _urls(item).items() if name not in ("evidence-create", "comment-create")]
    urls.append(reverse("team-items", args=["platform"]))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    for name, data in CHANGES.values():
        response = _post(client, _urls(item)[name], data(item))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Comment.objects.exists() and not Evidence.objects.exists()


@pytest.mark.parametrize("name", ["item-detail", "item-update", "evidence-create", "comment-create", "item-row",
                                  "release-detail", "release-changes"])
def test_wrong_method_is_refused(client, people, item, name):
    client.force_login(people["admin"])
    url = _urls(item)[name]
    assert client.put(url).status_code == 405
    assert client.delete(url).status_code == 405
    if name in ("evidence-create", "comment-create"):
        assert client.get(url).status_code == 405
    if name in ("item-detail", "item-row", "release-detail", "release-changes"):
        assert client.post(url).status_code == 405


def test_wrong_method_on_pages(client, people, release):
    client.force_login(people["admin"])
    for name in PAGES:
        assert client.post(reverse(name)).status_code == 405
    assert client.put(reverse("release-create")).status_code == 405
    assert client.post(reverse("team-items", args=["platform"])).status_code == 405


def test_nobody_gets_404_for_everything_in_a_release(client, people, item):
    client.force_login(people["nobody"])
    for url in _urls(item).values():
        assert client.get(url).status_code in (404, 405), url
    for name, data in CHANGES.values():
        response = _post(client, _urls(item)[name], data(item))
        assert response.status_code == 404
        assert b"todo-app" not in response.content  # nothing about the release leaks
    assert client.get(reverse("release-create")).status_code == 403
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200 and b"todo-app" not in page.content


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("who", ["auditor", "outsider_engineer", "other_manager"])
def test_readers_who_may_not_change_get_403(client, people, item, who, change):
    client.force_login(people[who])
    name, data = CHANGES[change]
    for htmx in (False, True):
        response = _post(client, _urls(item)[name], data(item), htmx=htmx)
        assert response.status_code == 403, (who, change, htmx)
    if change == "status":
        assert client.get(_urls(item)["item-update"]).status_code == 403
        assert client.get(_urls(item)["item-update"], HTTP_HX_REQUEST="true").status_code == 403
    item.refresh_from_db()
    assert item.version == 1 and item.status == ReleaseItem.Status.OPEN
    assert not Evidence.objects.exists() and not Comment.objects.exists()


def test_htmx_refusal_says_why_in_the_message_area(client, people, item):
    client.force_login(people["outsider_engineer"])
    response = _post(client, _urls(item)["item-update"], {"status": "done", "version": 1}, htmx=True)
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#messages"
    assert b"belongs to another team" in response.content


def test_other_manager_may_not_comment(client, people, item):
    client.force_login(people["other_manager"])
    assert _post(client, _urls(item)["comment-create"], {"body": "hi"}).status_code == 403


@pytest.mark.parametrize("who", ["auditor", "outsider_engineer", "other_manager", "approver", "engineer", "admin"])
def test_everyone_who_sees_the_release_reads_its_pages(client, people, item, who):
    client.force_login(people[who])
    for name in READS:
        assert client.get(_urls(item)[name]).status_code in (200, 204), (who, name)
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("who", ["engineer", "assignee", "manager", "admin"])
def test_those_who_may_change_do(client, people, item, who):
    if who == "assignee":
        user = people["outsider_engineer"]  # another team, but the item is assigned to them
        ReleaseItem.objects.filter(pk=item.pk).update(assignee=user)
    else:
        user = people[who]
    client.force_login(user)
    urls = _urls(item)
    assert client.get(urls["item-update"]).status_code == 200
    response = _post(client, urls["item-update"], {"status": "done", "version": 1}, htmx=True)
    assert response.status_code == 200 and b"Saved" in response.content
    response = _post(client, urls["item-update"], {"due_date": "2030-01-01", "version": 2})
    assert response.status_code == 302
    assert _post(client, urls["evidence-create"], {"kind": "note", "note": "seen"}).status_code == 302
    assert _post(client, urls["comment-create"], {"body": "done"}).status_code == 302
    item.refresh_from_db()
    assert item.status == "done" and item.completed_by == user and str(item.due_date) == "2030-01-01"
    assert item.evidence.count() == 1 and item.comments.count() == 1


def test_only_the_release_manager_and_admin_change_owner_team_on_others_releases(client, people, item, seed_teams):
    client.force_login(people["manager"])
    response = _post(client, _urls(item)["item-update"], {"owner_team": seed_teams["sre"].pk, "version": 1})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.owner_team == seed_teams["sre"]
    client.force_login(people["engineer"])  # alice's team no longer owns it
    assert _post(client, _urls(item)["item-update"], {"status": "done", "version": 2}).status_code == 403


def test_engineer_assigns_only_within_the_owning_team(client, people, item):
    client.force_login(people["engineer"])
    bob = people["outsider_engineer"]
    response = _post(client, _urls(item)["item-update"], {"assignee": bob.pk, "version": 1}, htmx=True)
    assert response.status_code == 400 and b"cannot be assigned" in response.content
    response = _post(client, _urls(item)["item-update"], {"assignee": people["engineer"].pk, "version": 1})
    assert response.status_code == 302
    client.force_login(people["manager"])
    response = _post(client, _urls(item)["item-update"], {"assignee": bob.pk, "version": 2})
    item.refresh_from_db()
    assert item.assignee == bob


def test_approver_may_comment_but_not_change(client, people, item):
    client.force_login(people["approver"])
    assert _post(client, _urls(item)["comment-create"], {"body": "why?"}).status_code == 302
    assert _post(client, _urls(item)["item-update"], {"status": "done", "version": 1}).status_code == 403


@pytest.mark.parametrize("who,status", [("manager", 200), ("admin", 200), ("other_manager", 200),
                                        ("engineer", 403), ("auditor", 403), ("approver", 403), ("nobody", 403)])
def test_creating_a_release(client, people, release, who, status):
    client.force_login(people[who])
    assert client.get(reverse("release-create")).status_code == status
    response = client.post(reverse("release-create"), {
        "template_version": release.template_version_id, "service": "billing", "version": "9.9",
        "environment": "staging"})
    assert response.status_code == (302 if status == 200 else 403)


def test_waived_is_not_offered_and_refused(client, people, item):
    client.force_login(people["manager"])
    page = client.get(_urls(item)["release-detail"]).content.decode()
    row = page[page.index(f'id="item-{item.pk}"'):]
    row = row[:row.index('class="item-row', 10)]
    assert 'name="status"' in row and 'value="waived"' not in row
    response = _post(client, _urls(item)["item-update"], {"status": "waived", "version": 1}, htmx=True)
    assert response.status_code == 400 and b"granted waiver" in response.content
    item.refresh_from_db()
    assert item.status == "open"


def test_download_is_for_those_who_see_the_item(client, people, item, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(people["engineer"])
    from django.core.files.uploadedfile import SimpleUploadedFile
    client.post(_urls(item)["evidence-create"], {"kind": "file", "file": SimpleUploadedFile("a.txt", b"hello")})
    evidence = item.evidence.get()
    url = reverse("evidence-download", args=[item.release_id, item.pk, evidence.pk])
    for who, status in [("auditor", 200), ("outsider_engineer", 200), ("nobody", 404)]:
        client.force_login(people[who])
        assert client.get(url).status_code == status, who
    client.logout()
    assert client.get(url).status_code == 302
    client.force_login(people["admin"])
    other = item.release.items.exclude(pk=item.pk).first()
    wrong_item = reverse("evidence-download", args=[item.release_id, other.pk, evidence.pk])
    assert client.get(wrong_item).status_code == 404
