"""One door: every change to an item goes through `item_change`, audited, and no side door is left.

The admin, a probe's verdict, a waiver, the bulk form and a person's edit all end in the same entry
point; an override of a failed probe is a decision with a reason; voided approvals are announced.
"""
import ast
import pathlib

import pytest
from django.contrib import admin
from django.urls import reverse

from checklists.audit import verify_chain
from checklists.models import (
    AuditEvent, ChecklistTemplate, ItemOverride, Release, ReleaseItem, Team,
)
from checklists.services import items as item_services
from checklists.services import comments as comment_services
from checklists.services import evidence as evidence_services
from checklists.signoff import services as signoff, waivers
from checklists.services.items import ItemError, Source, VoidsApprovals
from tests.factories import approve_all

pytestmark = pytest.mark.django_db

PLATFORM_ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"
WORKFLOW_MODELS = {"release", "releaseitem", "approval", "waiver", "evidence", "comment", "auditevent",
                   "signoffrequirement", "report", "itemoverride", "proberun", "proberesult"}


@pytest.fixture
def admin_client(client, people):
    people["admin"].is_staff = people["admin"].is_superuser = True
    people["admin"].save()
    client.force_login(people["admin"])
    return client


def _fail_by_probe(item):
    """A probe run's verdict, the way probe results arrive: through the entry point."""
    item_services.item_change(item=item, changes={"status": ReleaseItem.Status.FAILED, "probe_status": "fail",
                                                  "decided_by_probe": True}, by=None,
                              expected_version=item.version, source=Source.PROBE)
    item.refresh_from_db()
    return item


# --- Finding 1: the admin -----------------------------------------------------------------------
def test_the_admin_cannot_change_an_approved_release_item(admin_client, ready_release, people, approvers):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    release = approve_all(ready_release, approvers)
    item = release.items.get(key=PLATFORM_ITEM)
    events = AuditEvent.objects.count()
    url = reverse("admin:checklists_releaseitem_change", args=[item.pk])
    response = admin_client.post(url, {"status": "failed", "owner_team": "", "assignee": "", "due_date": ""})
    assert response.status_code == 403
    item.refresh_from_db()
    release.refresh_from_db()
    assert item.status == ReleaseItem.Status.DONE and release.state == Release.State.APPROVED
    assert AuditEvent.objects.count() == events
    changelist = admin_client.get(reverse("admin:checklists_releaseitem_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_every_admin_change_form_is_refused_or_audited(admin_client, ready_release, people):
    """Walk every registered model of ours: workflow models refuse a POST, the others audit it."""
    from tests.factories import make_one_of_each

    make_one_of_each(ready_release, people)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("checklists", "probes"):
            continue
        info = (model._meta.app_label, model._meta.model_name)
        obj = model.objects.first()
        assert obj is not None, f"no {info} row to open"
        url = reverse("admin:%s_%s_change" % info, args=[obj.pk])
        page = admin_client.get(url)
        assert page.status_code == 200, info
        form = page.context["adminform"].form
        data = {name: form.initial.get(name, "") for name in form.fields}
        data = {k: ("" if v is None else (v.pk if hasattr(v, "pk") else v)) for k, v in data.items()
                if not isinstance(v, (list, tuple))}
        data.update(_management_forms(page))
        before = AuditEvent.objects.count()
        response = admin_client.post(url, data)
        if model._meta.model_name in WORKFLOW_MODELS or not model_admin.has_change_permission(page.wsgi_request, obj):
            assert response.status_code == 403, info
            assert AuditEvent.objects.count() == before, info
        else:
            assert response.status_code == 302, (info, getattr(response, "context", None)
                                                 and response.context["adminform"].form.errors)
            assert AuditEvent.objects.count() > before, info
    assert verify_chain().ok


def _management_forms(page) -> dict:
    data = {}
    for formset in page.context.get("inline_admin_formsets", []):
        prefix = formset.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def test_a_team_edited_in_the_admin_is_audited(admin_client, seed_teams):
    team = seed_teams["sre"]
    response = admin_client.post(reverse("admin:checklists_team_change", args=[team.pk]),
                                 {"name": "Site reliability", "slug": team.slug, "memberships-TOTAL_FORMS": "0",
                                  "memberships-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="checklists.admin.team_changed")
    assert event.before == {"name": "SRE"} or event.before["name"] != "Site reliability"
    assert event.after["name"] == "Site reliability"
    assert Team.objects.get(pk=team.pk).name == "Site reliability"


# --- Finding 2: overrides -----------------------------------------------------------------------
def test_overriding_a_failed_probe_needs_a_reason_and_is_recorded(release, people):
    item = _fail_by_probe(release.items.get(key=PLATFORM_ITEM))
    with pytest.raises(ItemError) as refused:
        item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=item.version)
    assert refused.value.code == "override_needs_reason"
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.FAILED
    item_services.item_set_status(item=item, status="done", by=people["engineer"], expected_version=item.version,
                                  reason="The third node is being added today; tracked in OPS-12.")
    override = ItemOverride.objects.get(item=item)
    assert override.by == people["engineer"] and override.from_status == "failed" and override.to_status == "done"
    assert "OPS-12" in override.reason
    assert AuditEvent.objects.filter(action="checklists.item.overridden", object_id=str(item.pk)).exists()


def test_the_override_is_on_the_item_and_the_signoff_page(client, release, people):
    item = _fail_by_probe(release.items.get(key=PLATFORM_ITEM))
    client.force_login(people["engineer"])
    url = reverse("item-update", args=[release.pk, item.pk])
    refused = client.post(url, {"version": item.version, "status": "done"})
    assert refused.status_code == 400 and "override" in refused.content.decode()
    saved = client.post(url, {"version": item.version, "status": "done", "reason": "Accepted risk, see RISK-7"})
    assert saved.status_code == 302
    assert "RISK-7" in client.get(reverse("item-detail", args=[release.pk, item.pk])).content.decode()
    client.force_login(people["manager"])
    page = client.get(reverse("signoff-detail", args=[release.pk])).content.decode()
    assert "Overrides of failed probes" in page and "RISK-7" in page


def test_a_template_can_require_a_waiver_instead_of_an_override(release, people):
    template = release.template_version.template
    template.override_policy = ChecklistTemplate.OverridePolicy.WAIVER
    template.save()
    item = _fail_by_probe(release.items.get(key=PLATFORM_ITEM))
    item.release.template_version.template.refresh_from_db()
    with pytest.raises(ItemError) as refused:
        item_services.item_set_status(item=item, status="not_applicable", by=people["manager"],
                                      expected_version=item.version, reason="not needed")
    assert refused.value.code == "override_needs_waiver"


def test_the_built_in_template_asks_for_a_reason():
    from checklists.seed import load_default_template

    template = load_default_template().version.template
    assert template.override_policy == ChecklistTemplate.OverridePolicy.REASON


# --- Finding 4: voided approvals are announced --------------------------------------------------
def test_a_change_that_voids_approvals_asks_first_and_then_tells_everyone(
        client, ready_release, people, approvers, outbox, django_capture_on_commit_callbacks):
    signoff.signoff_open(release=ready_release, by=people["manager"])
    release = approve_all(ready_release, approvers)
    item = release.items.get(key=PLATFORM_ITEM)
    with pytest.raises(VoidsApprovals) as asked:
        item_services.item_set_status(item=item, status="failed", by=people["engineer"],
                                      expected_version=item.version, confirm_void=False)
    assert len(asked.value.approvals) == 3 and "Saving voids 3 approval" in str(asked.value)
    client.force_login(people["engineer"])
    url = reverse("item-update", args=[release.pk, item.pk])
    response = client.post(url, {"version": item.version, "status": "failed"})
    assert response.status_code == 409 and "Saving voids 3 approval" in response.content.decode()
    item.refresh_from_db()
    assert item.status == ReleaseItem.Status.DONE
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"version": item.version, "status": "failed", "confirm_void": "on"})
    assert response.status_code == 302
    voided = [m for m in outbox if "voided" in m.subject]
    assert voided, [m.subject for m in outbox]
    recipients = {address for m in voided for address in m.to}
    assert {"pat@example.com", "sam@example.com", "paula@example.com", "manager@example.com"} <= recipients
    assert "alice" in voided[0].body.lower() or "Alice" in voided[0].body


# --- Every write path is audited ----------------------------------------------------------------
def test_every_workflow_write_path_writes_an_audit_event(release, people, tomorrow):
    """Each way a release item, a release's state, an approval or a waiver changes, exercised once;
    the audit log grows each time and the chain stays intact."""
    item = release.items.get(key=PLATFORM_ITEM)
    manager, engineer = people["manager"], people["engineer"]

    def fresh():
        item.refresh_from_db()
        return item

    paths = [
        lambda: item_services.item_set_status(item=fresh(), status="in_progress", by=engineer,
                                              expected_version=item.version),
        lambda: item_services.item_assign(item=fresh(), assignee=engineer, by=manager, expected_version=item.version),
        lambda: item_services.item_set_owner_team(item=fresh(), team=None, by=manager, expected_version=item.version),
        lambda: item_services.item_set_due_date(item=fresh(), due_date=tomorrow, by=manager,
                                                expected_version=item.version),
        lambda: item_services.items_bulk_update(release=release, versions={item.pk: fresh().version}, by=manager,
                                                due_date=None),
        lambda: _fail_by_probe(fresh()),
        lambda: evidence_services.evidence_add_note(item=fresh(), text="checked by hand", by=engineer),
        lambda: comment_services.comment_add(item=fresh(), body="a question", by=engineer),
        lambda: waivers.waiver_request(item=fresh(), by=engineer, justification="later", expires_on=tomorrow),
        lambda: waivers.waiver_decide(waiver=fresh().waivers.get(), by=manager, grant=True),
        lambda: waivers.waiver_revoke(waiver=fresh().waivers.get(), by=manager),
        lambda: signoff.requirement_create(release=release, by=manager, name="Extra", role="approver"),
    ]
    for path in paths:
        before = AuditEvent.objects.count()
        path()
        assert AuditEvent.objects.count() > before, path
    assert verify_chain().ok


def test_the_probe_engine_imports_no_django():
    root = pathlib.Path(__file__).resolve().parents[2] / "probes" / "engine"
    offenders = [f"{path}:{node.lineno}" for path in root.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, (ast.Import, ast.ImportFrom))
                 and any(name.split(".")[0] in ("django", "checklists") for name in
                         ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]))]
    assert offenders == []


def test_no_code_writes_item_workflow_fields_outside_the_entry_point():
    """No `.update(status=…)`, `.bump(` or `status=` assignment on release items outside items.py."""
    root = pathlib.Path(__file__).resolve().parents[2]
    allowed = {root / "checklists" / "services" / "items.py", root / "checklists" / "models" / "releases.py"}
    offenders = []
    for path in list((root / "checklists").rglob("*.py")) + list((root / "probes").rglob("*.py")):
        if path in allowed or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "bump":
                    offenders.append(f"{path}:{node.lineno} bump()")
                if node.func.attr == "update" and {k.arg for k in node.keywords} & {
                        "status", "assignee", "owner_team", "due_date", "assignee_id", "owner_team_id"}:
                    offenders.append(f"{path}:{node.lineno} update()")
    assert offenders == []


ABOVE_CHECKLISTS = ("probes", "reports", "api", "people", "notices")


def test_checklists_imports_nothing_from_the_apps_above_it():
    """The records depend on nothing that judges or shows them: probes depend on checklists, and the
    report, the API and notices sit above both."""
    root = pathlib.Path(__file__).resolve().parents[2] / "checklists"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}:{node.lineno} {name}" for name in names
                          if name.split(".")[0] in ABOVE_CHECKLISTS]
    assert offenders == []
