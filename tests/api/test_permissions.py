"""Every permission rule through the HTTP API, with a token of each role of the `people` cast."""
import pytest

from api.services import service_token_create
from checklists.models import AuditEvent, Evidence, Release, ReleaseItem, Role
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"
READERS = ["manager", "other_manager", "engineer", "outsider_engineer", "approver", "auditor", "admin"]
CHANGERS = ["manager", "engineer", "admin"]
NOT_CHANGERS = ["other_manager", "outsider_engineer", "approver", "auditor"]


@pytest.fixture
def stranger_secret(people):
    """A service token of a team that owns nothing in the release: it sees none of it."""
    team = TeamFactory(slug="mobile")
    return service_token_create(name="mobile ci", team=team, role=Role.ENGINEER, by=people["admin"])[1]


def _item(release):
    return release.items.get(key=PLATFORM_ITEM)  # owned by the platform team (alice's)


def _error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert set(body) == {"code", "message", "details"} and body["message"]
    if code:
        assert body["code"] == code
    return body


@pytest.mark.parametrize("who", READERS)
def test_everyone_who_sees_the_release_reads_it(api_as, release, who):
    api = api_as(who)
    assert api.get(f"/releases/{release.pk}").status_code == 200
    assert api.get(f"/releases/{release.pk}/items/{PLATFORM_ITEM}").status_code == 200
    assert api.get(f"/releases/{release.pk}/signoff").status_code == 200
    assert api.get("/releases").json()["count"] == 1


def test_another_teams_token_sees_nothing(api_as, release, stranger_secret):
    api = api_as(stranger_secret)
    assert api.get("/releases").json() == {"count": 0, "limit": 100, "offset": 0, "next_offset": None, "items": []}
    for path in (f"/releases/{release.pk}", f"/releases/{release.pk}/items", f"/releases/{release.pk}/signoff",
                 f"/releases/{release.pk}/items/{PLATFORM_ITEM}"):
        body = _error(api.get(path), 404, "not_found")
        assert "todo-app" not in body["message"]
    _error(api.patch(f"/releases/{release.pk}/items/{PLATFORM_ITEM}", {"version": 1, "status": "done"}), 404)
    _error(api.post(f"/releases/{release.pk}/items/{PLATFORM_ITEM}/evidence/note", {"text": "x"}), 404)
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("who", CHANGERS)
def test_those_who_may_change_an_item_do(api_as, release, who):
    api = api_as(who)
    response = api.patch(f"/releases/{release.pk}/items/{PLATFORM_ITEM}", {"version": 1, "status": "done"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done" and response.json()["version"] == 2
    response = api.post(f"/releases/{release.pk}/items/{PLATFORM_ITEM}/evidence/note", {"text": "checked"})
    assert response.status_code == 201


@pytest.mark.parametrize("who", NOT_CHANGERS)
def test_readers_who_may_not_change_get_403(api_as, release, who):
    api = api_as(who)
    path = f"/releases/{release.pk}/items/{PLATFORM_ITEM}"
    _error(api.patch(path, {"version": 1, "status": "done"}), 403, "forbidden")
    _error(api.patch(path, {"version": 1, "due_date": "2030-01-01"}), 403)
    _error(api.post(path + "/evidence/note", {"text": "x"}), 403)
    _error(api.post(path + "/evidence/link", {"url": "https://ci.example.com/1"}), 403)
    _error(api.post(f"/releases/{release.pk}/items/bulk-status",
                    {"status": "done", "items": [{"key": PLATFORM_ITEM, "version": 1}]}), 403)
    item = _item(release)
    assert item.version == 1 and item.status == "open" and not Evidence.objects.exists()


@pytest.mark.parametrize("who,status", [("manager", 201), ("other_manager", 201), ("admin", 201),
                                        ("engineer", 403), ("auditor", 403), ("approver", 403)])
def test_creating_a_release(api_as, release, who, status):
    response = api_as(who).post("/releases", {"template": release.template_version.template.name,
                                              "service": "billing", "version": "9.9", "environment": "staging"})
    assert response.status_code == status, response.content
    assert Release.objects.filter(service="billing").exists() == (status == 201)


@pytest.mark.parametrize("who,status", [("admin", 201), ("manager", 403), ("engineer", 403), ("auditor", 403)])
def test_importing_a_template_is_for_admins(api_as, people, who, status):
    from django.core.files.uploadedfile import SimpleUploadedFile

    checklist = SimpleUploadedFile("ops.md", b"# Ops\n\n## Backups\n\n- [ ] Backups are tested\n")
    response = api_as(who).post("/templates/import", files={"file": checklist, "name": "Ops"})
    assert response.status_code == status, response.content
    if status == 201:
        assert response.json() == {"template": "Ops", "version": 1, "created": True, "sections": 1, "items": 1}


@pytest.mark.parametrize("who,status", [("manager", 202), ("engineer", 202), ("auditor", 403),
                                        ("approver", 403), ("other_manager", 403)])
def test_starting_a_probe_run(api_as, release, who, status):
    from django.core.files.uploadedfile import SimpleUploadedFile

    manifest = SimpleUploadedFile("app.yaml", b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n")
    response = api_as(who).post(f"/releases/{release.pk}/probe-runs", files={"bundle": [manifest]})
    assert response.status_code == status, response.content
    assert release.probe_runs.exists() == (status == 202)


@pytest.mark.parametrize("who,status", [("manager", 202), ("auditor", 403), ("approver", 403), ("other_manager", 403)])
def test_starting_a_collection(api_as, release, people, who, status):
    from probes.endpoints import endpoint_create

    endpoint_create(name="prom", kind="prometheus", url="http://127.0.0.1:1", by=people["admin"])
    response = api_as(who).post(f"/releases/{release.pk}/collections")
    assert response.status_code == status, response.content
    if status == 202:
        run = release.probe_runs.get()
        assert response.json()["source"] == "observability endpoints" and run.trigger == "api"
        assert list(run.endpoints.values_list("name", flat=True)) == ["prom"]
    else:
        assert not release.probe_runs.exists()


def test_a_collection_without_an_endpoint_is_refused_by_name(api_as, release):
    body = _error(api_as("manager").post(f"/releases/{release.pk}/collections"), 409, "no_endpoint")
    assert "No observability endpoint serves the production environment" in body["message"]


@pytest.mark.parametrize("who,status", [("auditor", 202), ("approver", 202), ("manager", 202),
                                        ("engineer", 403), ("outsider_engineer", 403)])
def test_requesting_a_report(api_as, release, who, status):
    response = api_as(who).post(f"/releases/{release.pk}/reports", {"format": "json"})
    assert response.status_code == status, response.content
    if status == 202:
        report = response.json()
        assert report["state"] == "pending" and report["download"] is None
        assert api_as(who).get(f"/reports/{report['id']}").json()["id"] == report["id"]
        _error(api_as(who).get(f"/reports/{report['id']}/download"), 409, "not_ready")
        _error(api_as("engineer").get(f"/reports/{report['id']}"), 403)


def test_every_write_is_audited_with_the_tokens_name(api_as, release):
    api_as("engineer").patch(f"/releases/{release.pk}/items/{PLATFORM_ITEM}", {"version": 1, "status": "done"})
    event = AuditEvent.objects.get(action="checklists.item.status_changed")
    assert event.actor_name == "alice"
    assert event.after["via"] == "api" and event.after["token"] == "engineer-ci"
    api_as("engineer").post(f"/releases/{release.pk}/items/{PLATFORM_ITEM}/evidence/note", {"text": "seen"})
    assert AuditEvent.objects.get(action="checklists.evidence.added").after["token"] == "engineer-ci"


def test_an_assigned_outsider_may_change_that_item(api_as, release, people):
    ReleaseItem.objects.filter(release=release, key=PLATFORM_ITEM).update(assignee=people["outsider_engineer"])
    response = api_as("outsider_engineer").patch(f"/releases/{release.pk}/items/{PLATFORM_ITEM}",
                                                 {"version": 1, "status": "in_progress"})
    assert response.status_code == 200


def test_engineers_assign_only_within_the_owning_team(api_as, release):
    path = f"/releases/{release.pk}/items/{PLATFORM_ITEM}"
    _error(api_as("engineer").patch(path, {"version": 1, "assignee": "bob"}), 400, "assignee_not_allowed")
    response = api_as("engineer").patch(path, {"version": 1, "assignee": "alice", "due_date": "2030-01-01"})
    assert response.status_code == 200
    assert response.json()["assignee"] == "alice" and response.json()["due_date"] == "2030-01-01"
    assert response.json()["version"] == 3
    response = api_as("manager").patch(path, {"version": 3, "assignee": "bob"})
    assert response.json()["assignee"] == "bob"


def test_a_service_token_acts_with_exactly_its_membership(api_as, release, people, seed_teams):
    token, secret = service_token_create(name="platform deploy", team=seed_teams["platform"], role=Role.ENGINEER,
                                         by=people["admin"])
    assert token.user.username == "svc-platform-platform-deploy"
    assert list(token.user.memberships.values_list("team__slug", "role")) == [("platform", "engineer")]
    api = api_as(secret)
    assert api.patch(f"/releases/{release.pk}/items/{PLATFORM_ITEM}",
                     {"version": 1, "status": "done"}).status_code == 200
    other = release.items.exclude(owner_team=seed_teams["platform"]).first()
    _error(api.patch(f"/releases/{release.pk}/items/{other.key}", {"version": 1, "status": "done"}), 403)
    _error(api.post("/releases", {"template": "x", "service": "s", "version": "1"}), 403)


def test_only_admins_create_service_tokens(people, seed_teams):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        service_token_create(name="x", team=seed_teams["platform"], role=Role.ENGINEER, by=people["manager"])


@pytest.mark.parametrize("body", [
    '{"template": "a\\u0000", "service": "s", "version": "1"}',  # a NUL, as JSON writes it
    '{"template": "Built-in", "service": "s", "version": "1", "description": "\\ud800"}',  # a lone surrogate
    '{"template": "Built-in", "service": "s", "version": "1", "a\\u0000": [{"b": ["\\u0000"]}]}',  # nested, in a key
])
def test_text_the_database_cannot_store_is_a_400_not_a_500(api_as, release, body):
    api = api_as("manager")
    response = api.client.post("/api/v1/releases", body, content_type="application/json", headers=api._headers(None))
    assert _error(response, 400, "invalid")["message"].startswith("The request holds characters that cannot be stored")
