"""A pipeline end to end, with a real Celery worker: the deploy gate turns from 409 to 200, then back.

Create a release, run the probes on Readiness's own rendered manifests, attach evidence for every
manual item by key and tick them in one bulk call, approvals by the right people in the browser,
then the gate; then an item changes and the gate answers 409 saying why.
"""
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from checklists.models import AuditEvent
from tests.api.conftest import Api, worker_ready
from tests.celery_workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MANIFESTS = Path(__file__).resolve().parents[2] / "docker" / "k8s"


def test_a_pipeline_from_release_to_deploy_gate(client, people, approvers, secrets, workers, broker, settings, tmp_path,
                                                seed_teams):
    from checklists.seed import load_default_template

    # The worker stores and reads uploads where this process does.
    settings.MEDIA_ROOT = tmp_path / "data" / "uploads"
    workers.env["READINESS_DATA_DIR"] = str(tmp_path / "data")
    template = load_default_template().version.template.name
    workers.start()
    wait_for(lambda: worker_ready(broker), timeout=60, what="the worker")
    ci = Api(client, secrets["manager"])
    release = ci.post("/releases", {"template": template, "service": "shop", "version": "3.1.0"},
                      headers={"Idempotency-Key": "build-1"}).json()
    rid = release["id"]
    gate = "/gate/shop/3.1.0"
    assert ci.get(gate).status_code == 409

    uploads = [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(MANIFESTS.glob("*.yaml"))]
    run = ci.post(f"/releases/{rid}/probe-runs", files={"bundle": uploads})
    assert run.status_code == 202, run.content
    run = wait_for(lambda: (r := ci.get(f"/releases/{rid}/probe-runs/{run.json()['id']}").json())["finished"] and r,
                   timeout=90, what="the probe run")
    assert run["state"] == "done" and any(r["status"] == "pass" for r in run["results"])

    items = ci.get(f"/releases/{rid}/items", {"limit": 500}).json()["items"]
    passed = {i["key"] for i in items if i["status"] == "done"}
    assert passed and all(i["decided_by_probe"] for i in items if i["key"] in passed)
    rest = [i for i in items if i["status"] != "done"]
    for item in rest:
        text = "Checked by the release pipeline." if item["probe_id"] is None else "Provided by the platform."
        assert ci.post(f"/releases/{rid}/items/{item['key']}/evidence/note", {"text": text}).status_code == 201
    manual = [{"key": i["key"], "version": i["version"]} for i in rest if i["probe_id"] is None]
    platform = [{"key": i["key"], "version": i["version"], "status": "not_applicable"}
                for i in rest if i["probe_id"] is not None]
    response = ci.post(f"/releases/{rid}/items/bulk-status", {"status": "done", "reason": "Checked by the release pipeline", "items": manual + platform})
    assert response.status_code == 200, response.content
    assert ci.get(f"/releases/{rid}/signoff").json()["blockers"]["incomplete"] == []
    assert [r["code"] for r in ci.get(gate).json()["gate"]["reasons"]] == ["not_approved"]

    # The browser flow: the manager opens sign-off, each approver decides their requirement.
    client.force_login(people["manager"])
    assert client.post(f"/releases/{rid}/signoff/open/").status_code == 302
    signoff = ci.get(f"/releases/{rid}/signoff").json()
    assert signoff["state"] == "awaiting_signoff"
    from checklists.models import SignoffRequirement

    for requirement in SignoffRequirement.objects.filter(release_id=rid):
        client.force_login(approvers[requirement.name])
        response = client.post(f"/releases/{rid}/signoff/requirements/{requirement.pk}/decide/",
                               {"decision": "approved", "comment": "Evidence reviewed."})
        assert response.status_code == 302, response.content
    client.logout()

    response = ci.get(gate)
    assert response.status_code == 200, response.content
    assert {a["approver"] for a in response.json()["approval"]["approvals"]} == {u.username for u in
                                                                                 approvers.values()}

    # Later an engineer finds a problem: the gate closes and says why.
    key = next(i["key"] for i in items if i["probe_id"] is None and i["owner_team"] == "platform")
    version = ci.get(f"/releases/{rid}/items/{key}").json()["version"]
    engineer = Api(client, secrets["engineer"])
    assert engineer.patch(f"/releases/{rid}/items/{key}", {"version": version, "status": "failed"}).status_code == 200
    response = ci.get(gate)
    assert response.status_code == 409
    reasons = {r["code"]: r for r in response.json()["gate"]["reasons"]}
    assert set(reasons) == {"not_approved", "blocking_items"} and reasons["blocking_items"]["items"] == [key]
    decisions = AuditEvent.objects.filter(action="api.gate.decided").values_list("after__allowed", flat=True)
    assert list(decisions) == [False, False, True, False]
