"""Upgrades keep data: a database at the last released schema, filled through the historical models,
migrated forward to the latest of every app, loses nothing and still verifies.

The previous release's schema is checklists 0004_report_state and probes 0001_initial; every later
migration is new in this release and must work on a populated database, its RunPython included.
"""
import datetime
import hashlib
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from checklists.audit import GENESIS, canonical_json, event_hash, verify_chain

PREVIOUS_RELEASE = [("checklists", "0004_report_state"), ("probes", "0001_initial")]
PDF_BYTES = b"%PDF-1.7\n% a report archived by the previous release\n%%EOF\n"
DEFAULTS = [{"name": "Any approver", "role": "approver"},
            {"name": "Platform review", "role": "approver", "team": "platform"}]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _chain(apps, specs):
    """Append audit events through the historical model, hashed exactly as checklists.audit does."""
    AuditEvent = apps.get_model("checklists", "AuditEvent")
    previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
    for spec in specs:
        actor = spec.get("actor")
        event = AuditEvent(
            created_at=timezone.now(), actor=actor, actor_name=actor.username if actor else "system",
            action=spec["action"], release=spec.get("release"), object_type=spec["obj"]._meta.model_name,
            object_id=str(spec["obj"].pk), prev_hash=previous,
            before=json.loads(canonical_json(spec.get("before", {}))),
            after=json.loads(canonical_json(spec.get("after", {}))),
        )
        event.hash = previous = event_hash(event)
        event.save()


def _populate(apps, media_root):
    User = apps.get_model("auth", "User")
    get = lambda name: apps.get_model("checklists", name)  # noqa: E731
    manager = User.objects.create(username="rita", password="!")
    engineer = User.objects.create(username="eli", password="!")
    approver = User.objects.create(username="ada", password="!")
    platform = get("Team").objects.create(slug="platform", name="Platform")
    get("Membership").objects.create(user=approver, team=platform, role="approver")
    get("Membership").objects.create(user=engineer, team=platform, role="engineer")
    template = get("ChecklistTemplate").objects.create(name="Production readiness", description="Built in")
    version = get("TemplateVersion").objects.create(
        template=template, number=1, source_sha256="a" * 64, source="# Ready\n- [ ] Alerts\n- [ ] Backups\n",
        signoff_defaults=DEFAULTS, created_by=manager)
    section = get("TemplateSection").objects.create(version=version, key="ready", title="Ready", level=1, order=0)
    template_items = [
        get("TemplateItem").objects.create(version=version, section=section, key=f"ready/{key}", text=text,
                                           order=n, line=n + 2, probe_id=probe)
        for n, (key, text, probe) in enumerate([("alerts", "Alerts", "alerts.rules"), ("backups", "Backups", "")])]
    release = get("Release").objects.create(
        service="shop", version="1.4.0", template_version=version, state="approved", created_by=manager,
        release_manager=manager)
    alerts, backups = [
        get("ReleaseItem").objects.create(
            release=release, template_item=template_item, section=section, key=template_item.key,
            text=template_item.text, order=template_item.order, owner_team=platform, status=status,
            completed_by=engineer if status == "done" else None, changed_by=engineer, version=3,
            probe_id=template_item.probe_id, probe_status="fail" if template_item.probe_id else "")
        for template_item, status in zip(template_items, ["done", "waived"])]
    copied = get("SignoffRequirement").objects.create(release=release, name="Any approver", role="approver", order=0)
    added = get("SignoffRequirement").objects.create(release=release, name="Security", role="approver", order=1)
    added.sections.add(section)
    approval = get("Approval").objects.create(release=release, requirement=copied, approver=approver,
                                              decision="approved", comment="Looks right", state_hash="b" * 64)
    get("Evidence").objects.create(item=alerts, kind="note", note="Pager rota attached", sha256="c" * 64,
                                   created_by=engineer)
    get("Evidence").objects.create(item=alerts, kind="link", url="https://runbooks.example/alerts",
                                   sha256="d" * 64, created_by=engineer)
    waiver = get("Waiver").objects.create(
        item=backups, state="granted", justification="Restore drill next sprint", previous_status="open",
        expires_on=datetime.date(2027, 1, 31), requested_by=engineer, decided_by=approver,
        decided_at=timezone.now())
    get("Comment").objects.create(item=alerts, author=engineer, body="Done on staging first")
    cluster = apps.get_model("probes", "Cluster").objects.create(name="staging")
    run = apps.get_model("probes", "ProbeRun").objects.create(cluster=cluster, release=release, state="done",
                                                              requested_by=engineer)
    apps.get_model("probes", "ProbeResult").objects.create(
        run=run, item=alerts, item_key=alerts.key, probe_id="alerts.rules", status="fail",
        summary="2 of 3 rules missing", findings=[{"object": "rule/a"}, {"object": "rule/b"}])
    report_file = media_root / "reports" / "2026" / "11" / "shop-1.4.0.pdf"
    report_file.parent.mkdir(parents=True)
    report_file.write_bytes(PDF_BYTES)
    report = get("Report").objects.create(
        release=release, format="pdf", file="reports/2026/11/shop-1.4.0.pdf", manifest_sha256="e" * 64,
        size=len(PDF_BYTES), state="ready", requested_by=manager, finished_at=timezone.now())
    get("Report").objects.create(release=release, format="pdf", state="pending", requested_by=manager)
    _chain(apps, [
        {"action": "checklists.release.created", "actor": manager, "obj": release, "release": release,
         "after": {"service": "shop", "version": "1.4.0"}},
        {"action": "checklists.item.status_changed", "actor": engineer, "obj": alerts, "release": release,
         "before": {"status": "open"}, "after": {"status": "done", "version": 3}},
        {"action": "checklists.waiver.granted", "actor": approver, "obj": waiver, "release": release,
         "after": {"expires_on": datetime.date(2027, 1, 31)}},
        {"action": "checklists.approval.decided", "actor": approver, "obj": approval, "release": release,
         "after": {"decision": "approved", "at": timezone.now()}},
        {"action": "checklists.report.generated", "actor": None, "obj": report, "release": release,
         "after": {"manifest_sha256": "e" * 64, "title": "Ré­lease ✓"}},
    ])


def _counts(apps):
    models = [("checklists", name) for name in (
        "ChecklistTemplate", "TemplateVersion", "TemplateSection", "TemplateItem", "Team", "Membership", "Release",
        "ReleaseItem", "SignoffRequirement", "Approval", "Evidence", "Waiver", "Comment", "Report", "AuditEvent")]
    models += [("probes", name) for name in ("Cluster", "ProbeRun", "ProbeResult")]
    return {f"{app}.{name}": apps.get_model(app, name).objects.count() for app, name in models}


@pytest.mark.django_db(transaction=True)
def test_an_upgrade_from_the_previous_release_keeps_every_row_and_the_audit_chain(media_root):
    from django.apps import apps as current

    try:
        old = _migrate(PREVIOUS_RELEASE)
        _populate(old, media_root)
        before = _counts(old)
        _migrate(_latest())
    finally:
        _migrate(_latest())  # whatever happened, leave the latest schema for the tests after this one

    assert _counts(current) == before
    from checklists.models import (Approval, ChecklistTemplate, Evidence, Release, ReleaseItem, Report,
                                   SignoffRequirement, Waiver)
    from probes.models import ProbeResult

    release = Release.objects.get()
    assert (release.service, release.version, release.state, release.release_manager.username) == (
        "shop", "1.4.0", "approved", "rita")
    items = {item.key: item for item in ReleaseItem.objects.all()}
    assert {key: (item.status, item.version, item.probe_status) for key, item in items.items()} == {
        "ready/alerts": ("done", 3, "fail"), "ready/backups": ("waived", 3, "")}
    assert items["ready/alerts"].completed_by.username == "eli"
    approval = Approval.objects.get()
    assert (approval.approver.username, approval.decision, approval.comment, approval.superseded_at) == (
        "ada", "approved", "Looks right", None)
    waiver = Waiver.objects.get()
    assert (waiver.state, waiver.expires_on, waiver.decided_by.username) == ("granted", datetime.date(2027, 1, 31), "ada")
    assert sorted(Evidence.objects.values_list("kind", flat=True)) == ["link", "note"]
    assert Evidence.objects.filter(carried_from__isnull=False).count() == 0

    # New fields, filled sensibly: a requirement named like one of the template's defaults came from it.
    assert dict(SignoffRequirement.objects.values_list("name", "from_template")) == {
        "Any approver": True, "Security": False}
    assert list(SignoffRequirement.objects.get(name="Security").sections.values_list("key", flat=True)) == ["ready"]
    template = ChecklistTemplate.objects.get()
    assert (template.override_policy, template.one_person_many_requirements) == ("reason", False)
    ready = Report.objects.get(state="ready")
    assert ready.file_sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert Report.objects.get(state="pending").file_sha256 == ""
    assert ProbeResult.objects.get().findings_total == 2  # as many as the previous release stored

    chain = verify_chain()
    assert chain.ok, chain.reason
    assert chain.checked == 5
