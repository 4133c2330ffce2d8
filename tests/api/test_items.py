"""Items through the API: filters, the optimistic lock (409 with the current value), bulk all-or-nothing."""
import pytest

from checklists.models import AuditEvent, ReleaseItem

pytestmark = pytest.mark.django_db

ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def test_list_filters_and_pages(api_as, release):
    api = api_as("auditor")
    base = f"/releases/{release.pk}/items"
    page = api.get(base, {"limit": 50}).json()
    assert page["count"] == 211 and len(page["items"]) == 50 and page["next_offset"] == 50
    last = api.get(base, {"limit": 50, "offset": 200}).json()
    assert len(last["items"]) == 11 and last["next_offset"] is None
    assert api.get(base, {"key": ITEM}).json()["items"][0]["key"] == ITEM
    section = release.items.get(key=ITEM).section
    top = section.parent or section
    listed = api.get(base, {"section": top.key, "limit": 500}).json()
    keys = {i["key"] for i in listed["items"]}
    assert ITEM in keys and listed["count"] == len(keys) < 211  # the top section with its subsections
    sections = {i["section"] for i in listed["items"]}
    assert section.key in sections and len(sections) > 1 and all(s.startswith(top.key) for s in sections)
    platform = api.get(base, {"team": "platform", "limit": 500}).json()
    assert platform["count"] == release.items.filter(owner_team__slug="platform").count()
    assert api.get(base, {"status": "done"}).json()["count"] == 0
    assert api.get(base, {"status": "bogus"}).status_code == 422
    assert api.get(base, {"limit": 0}).status_code == 422


def test_a_stale_version_is_refused_with_the_current_value(api_as, release):
    path = f"/releases/{release.pk}/items/{ITEM}"
    assert api_as("engineer").patch(path, {"version": 1, "status": "in_progress"}).status_code == 200
    response = api_as("manager").patch(path, {"version": 1, "status": "done"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["details"]["current"] == "In progress" and error["details"]["version"] == 2
    assert error["details"]["changed_by"] == "alice" and error["details"]["field"] == "status"
    item = release.items.get(key=ITEM)
    assert item.status == "in_progress" and item.version == 2


def test_a_change_of_several_fields_is_all_or_nothing(api_as, release):
    path = f"/releases/{release.pk}/items/{ITEM}"
    response = api_as("engineer").patch(path, {"version": 1, "status": "done", "assignee": "bob"})
    assert response.status_code == 400  # bob is not in the owning team: the status is not kept either
    assert release.items.get(key=ITEM).status == "open"


def test_bad_changes_name_the_field(api_as, release):
    path = f"/releases/{release.pk}/items/{ITEM}"
    api = api_as("manager")
    assert api.patch(path, {"version": 1, "status": "waived"}).json()["error"]["details"] == {"field": "status"}
    assert api.patch(path, {"version": 1}).status_code == 422
    assert api.patch(path, {"status": "done"}).status_code == 422
    assert api.patch(path, {"version": 1, "assignee": "ghost"}).status_code == 400
    assert api.patch(f"/releases/{release.pk}/items/no.such-item", {"version": 1, "status": "done"}).status_code == 404
    response = api.client.patch(f"/api/v1{path}", "{not json", content_type="application/json",
                                headers=api._headers(None))
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def _entries(release, keys):
    return [{"key": k, "version": v} for k, v in release.items.filter(key__in=keys).values_list("key", "version")]


def test_bulk_status_changes_every_item_in_one_call(api_as, release):
    keys = list(release.items.filter(owner_team__slug="platform").values_list("key", flat=True)[:30])
    response = api_as("engineer").post(f"/releases/{release.pk}/items/bulk-status",
                                       {"status": "done", "items": _entries(release, keys)})
    assert response.status_code == 200, response.content
    assert response.json()["changed"] == 30 and {i["status"] for i in response.json()["items"]} == {"done"}
    events = AuditEvent.objects.filter(action="checklists.item.status_changed")
    assert events.count() == 30 and all(e.after["token"] == "engineer-ci" for e in events)


def test_bulk_status_costs_the_same_queries_for_5_items_as_for_30(api_as, release):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    keys = list(release.items.filter(owner_team__slug="platform").order_by("order").values_list("key", flat=True)[:36])
    api = api_as("engineer")
    api.post(f"/releases/{release.pk}/items/bulk-status", {"status": "done", "items": _entries(release, keys[35:])})
    counts = []  # after a first call: the token's once-a-minute bookkeeping is behind us
    for chosen in (keys[:5], keys[5:35]):
        entries = [{**e, "status": status} for e, status in zip(_entries(release, chosen), ["done", "in_progress"] * 15)]
        with CaptureQueriesContext(connection) as queries:
            assert api.post(f"/releases/{release.pk}/items/bulk-status", {"items": entries}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_bulk_status_is_all_or_nothing(api_as, release):
    mine = list(release.items.filter(owner_team__slug="platform").values_list("key", flat=True)[:5])
    theirs = release.items.exclude(owner_team__slug="platform").values_list("key", flat=True).first()
    api = api_as("engineer")
    url = f"/releases/{release.pk}/items/bulk-status"
    response = api.post(url, {"status": "done", "items": _entries(release, [*mine, theirs])})
    assert response.status_code == 403 and response.json()["error"]["details"] == {"refused": [theirs]}
    stale = _entries(release, mine)
    ReleaseItem.objects.filter(release=release, key=mine[2]).update(version=7)
    response = api.post(url, {"status": "done", "items": stale})
    assert response.status_code == 409
    assert [c["key"] for c in response.json()["error"]["details"]["conflicts"]] == [mine[2]]
    response = api.post(url, {"status": "done", "items": [*stale[:2], {"key": "no.such", "version": 1}]})
    assert response.status_code == 404 and response.json()["error"]["details"] == {"missing": ["no.such"]}
    response = api.post(url, {"items": stale[:2]})
    assert response.status_code == 422  # no status for them
    assert not release.items.filter(status="done").exists()
    assert not AuditEvent.objects.filter(action="checklists.item.status_changed").exists()


def test_wrong_methods(api_as, release):
    api = api_as("admin")
    assert api.client.delete(f"/api/v1/releases/{release.pk}", headers=api._headers(None)).status_code == 405
    assert api.client.put(f"/api/v1/releases/{release.pk}/items/{ITEM}", headers=api._headers(None)).status_code == 405
