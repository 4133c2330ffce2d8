"""The deploy gate: 200 with the approval when the release may ship, else 409 with every reason."""
import datetime

import pytest
from django.utils import timezone

from checklists.models import AuditEvent, Release, ReleaseItem, Waiver
from reports import services as reports

pytestmark = pytest.mark.django_db

GATE = "/gate/todo-app/1.0.0"
ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def _codes(response):
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"]["code"] == "gate_closed"
    assert body["error"]["details"] == body["gate"]["reasons"]
    return [r["code"] for r in body["gate"]["reasons"]]


def test_an_approved_release_may_ship(api_as, approved_release, approvers):
    response = api_as("manager").get(GATE, {"environment": "production"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["allowed"] is True and body["reasons"] == [] and body["release"] == approved_release.pk
    approval = body["approval"]
    assert {a["approver"] for a in approval["approvals"]} == {u.username for u in approvers.values()}
    assert len(approval["state_hash"]) == 64 and approval["approved_at"]
    assert approval["report"] is None
    event = AuditEvent.objects.filter(action="api.gate.decided").last()
    assert event.release_id == approved_release.pk and event.after["allowed"] is True
    assert event.after["token"] == "manager-ci" and event.after["state_hash"] == approval["state_hash"]


def test_the_approval_carries_the_latest_pdf_reports_manifest(api_as, approved_release, people):
    report = reports.report_generate(release=approved_release, fmt="pdf", by=people["auditor"])
    approval = api_as("auditor").get(GATE).json()["approval"]
    assert approval["report"]["manifest_sha256"] == report.manifest_sha256


def test_unknown_and_invisible_releases_are_not_found(api_as, release, people):
    assert _codes(api_as("manager").get("/gate/todo-app/9.9.9")) == ["not_found"]
    assert _codes(api_as("manager").get(GATE, {"environment": "staging"})) == ["not_found"]
    from api.services import service_token_create
    from checklists.models import Role
    from tests.factories import TeamFactory

    secret = service_token_create(name="m", team=TeamFactory(slug="mobile"), role=Role.ENGINEER,
                                  by=people["admin"])[1]
    assert _codes(api_as(secret).get(GATE)) == ["not_found"]
    assert AuditEvent.objects.filter(action="api.gate.decided", after__allowed=False).count() == 3


def test_an_open_release_lists_not_approved_and_blocking_items(api_as, release):
    response = api_as("engineer").get(GATE)
    assert _codes(response) == ["not_approved", "blocking_items"]
    blocking = response.json()["gate"]["reasons"][1]
    assert blocking["count"] == release.items.filter(required=True).count() and len(blocking["items"]) == 20


def test_dry_run_answers_200_with_the_verdict(api_as, release):
    response = api_as("engineer").get(GATE, {"dry_run": "1"})
    assert response.status_code == 200
    assert response.json()["allowed"] is False and response.json()["dry_run"] is True
    assert [r["code"] for r in response.json()["reasons"]] == ["not_approved", "blocking_items"]
    assert AuditEvent.objects.get(action="api.gate.decided").after["dry_run"] is True


def test_drift_closes_the_gate(api_as, approved_release):
    Release.objects.filter(pk=approved_release.pk).update(drifted=True)
    ReleaseItem.objects.filter(release=approved_release, key=ITEM).update(regressed=True)
    response = api_as("manager").get(GATE)
    assert _codes(response) == ["drift"]
    assert response.json()["gate"]["reasons"][0]["items"] == [ITEM]


def test_stale_probe_evidence_closes_the_gate(api_as, approved_release, settings):
    old = timezone.now() - datetime.timedelta(hours=settings.READINESS_EVIDENCE_MAX_AGE_HOURS + 1)
    ReleaseItem.objects.filter(release=approved_release, key=ITEM).update(decided_by_probe=True,
                                                                          probe_checked_at=old)
    assert _codes(api_as("manager").get(GATE)) == ["stale_probes"]
    ReleaseItem.objects.filter(release=approved_release, key=ITEM).update(probe_checked_at=timezone.now())
    assert api_as("manager").get(GATE).status_code == 200


def test_an_expired_waiver_closes_the_gate(api_as, approved_release, people):
    item = approved_release.items.get(key=ITEM)
    ReleaseItem.objects.filter(pk=item.pk).update(status=ReleaseItem.Status.WAIVED)
    Waiver.objects.create(item=item, state=Waiver.State.GRANTED, justification="Q3",
                          expires_on=timezone.localdate(), requested_by=people["engineer"],
                          decided_by=people["manager"])
    codes = _codes(api_as("manager").get(GATE))
    assert "expired_waivers" in codes and "blocking_items" in codes  # waived without a live waiver


def test_an_item_change_after_approval_closes_the_gate(api_as, approved_release):
    assert api_as("manager").get(GATE).status_code == 200
    item = approved_release.items.get(key=ITEM)
    response = api_as("engineer").patch(f"/releases/{approved_release.pk}/items/{ITEM}",
                                        {"version": item.version, "status": "failed"})
    assert response.status_code == 200
    response = api_as("manager").get(GATE)
    assert _codes(response) == ["not_approved", "blocking_items"]
    assert response.json()["gate"]["reasons"][1]["items"] == [ITEM]
