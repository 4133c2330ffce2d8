"""The canonical content of a release's report, and its manifest hash.

The content is a pure function of the database: no generation time, no request data. Rendering the
same release twice gives the same bytes, so `manifest = sha256(canonical JSON)` can be recomputed
later and compared with the one printed in a PDF. Reporting itself is not part of the content: the
`checklists.report.*` audit events are left out, or every export would invalidate the one before it.

Schema 2 added the `controls` key (overrides of failed probes, the sign-off rules in force, changes to
requirements that came from the template); schema 3 added `controls.check_params` (params a person set
on an item's check); every other key is as schema 1 had it. `build` still renders the older schemas on
request, so a report issued before can be compared with the release as it is.
"""
import datetime
import hashlib

from django.db.models import Prefetch

from checklists.audit import canonical_json
from checklists.models import (
    Approval, AuditEvent, ChecklistTemplate, Comment, Evidence, ItemOverride, Release, ReleaseItem, TemplateSection,
    Waiver,
)
from checklists.signoff.services import release_state_hash

SCHEMA = "readiness.report/3"
SCHEMAS = ("readiness.report/1", "readiness.report/2", SCHEMA)  # oldest first: every schema `build` can still render
CHECK_PARAMS_ACTION = "checklists.item.check_params_changed"
TEMPLATE_REQUIREMENT_ACTIONS = ("checklists.signoff.requirement_changed", "checklists.signoff.requirement_removed")
REPORT_ACTIONS = "checklists.report."
PROBE_RESULTS_KEPT = 3  # latest results per item; the count of all of them is kept too


def manifest_of(content: dict) -> str:
    return hashlib.sha256(content_bytes(content)).hexdigest()


def content_bytes(content: dict) -> bytes:
    """The JSON export: exactly the bytes the manifest is the SHA-256 of."""
    return canonical_json(content).encode()


def _at(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    return value.isoformat()


def _who(user) -> str | None:
    if user is None:
        return None
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def outcome(release: Release, approvals: list[Approval], requirement_count: int) -> str:
    live = [a for a in approvals if a.superseded_at is None]
    if release.state == Release.State.APPROVED:
        text = f"Approved: all {requirement_count} sign-off requirement(s) approved."
    elif release.state == Release.State.REJECTED:
        names = ", ".join(sorted(a.requirement.name for a in live if a.decision == Approval.Decision.REJECTED))
        text = f"Rejected ({names}); not approved for release."
    elif release.state == Release.State.AWAITING_SIGNOFF:
        approved = sum(1 for a in live if a.decision == Approval.Decision.APPROVED)
        text = f"Awaiting sign-off: {approved} of {requirement_count} requirement(s) approved."
    else:
        text = f"Not signed off: the release is {release.get_state_display().lower()}."
    if release.drifted:
        text += " Drift flagged: reality changed after an approval."
    return text


def build(release: Release, *, schema: str = SCHEMA) -> dict:
    """The report content. Query count is fixed (about 15), whatever the number of items or evidence.

    `schema` names an older layout (one of SCHEMAS) to render the release as a report of that schema
    would have described it: verify_report compares an old report with it."""
    if schema not in SCHEMAS:
        raise ValueError(f"unknown report schema {schema!r}")
    release = (Release.objects.select_related("template_version__template", "release_manager", "created_by")
               .get(pk=release.pk))
    version = release.template_version
    sections = list(TemplateSection.objects.filter(version=version).order_by("order"))
    items = list(_items(release))
    requirements = list(release.requirements.select_related("team").prefetch_related("sections"))
    approvals = list(release.approvals.select_related("approver", "requirement").order_by("created_at", "pk"))
    events = list(AuditEvent.objects.filter(release=release).exclude(action__startswith=REPORT_ACTIONS)
                  .order_by("id"))
    content = {
        "schema": schema,
        "release": {
            "id": release.pk, "service": release.service, "version": release.version,
            "environment": release.environment, "description": release.description,
            "target_date": _at(release.target_date), "state": release.state,
            "state_label": release.get_state_display(), "drifted": release.drifted,
            "outcome": outcome(release, approvals, len(requirements)),
            "release_manager": _who(release.release_manager), "created_by": _who(release.created_by),
            "created_at": _at(release.created_at),
        },
        "template": {"name": version.template.name, "version": version.number, "source_sha256": version.source_sha256},
        "progress": _progress(items, sections),
        "sections": [{"key": s.key, "title": s.title, "level": s.level} for s in sections],
        "items": [_item(item) for item in items],
        "signoff": {
            "state_hash": release_state_hash(release),
            "requirements": [{
                "id": r.pk, "name": r.name, "role": r.role, "team": r.team.name if r.team else None,
                "sections": sorted(s.key for s in r.sections.all()),
            } for r in requirements],
            "decisions": [{
                "id": a.pk, "requirement": a.requirement.name, "approver": _who(a.approver),
                "role": a.requirement.get_role_display() if a.requirement.role else None,
                "team": requirements_team(requirements, a.requirement_id),
                "decision": a.decision, "comment": a.comment, "state_hash": a.state_hash,
                "at": _at(a.created_at), "superseded_at": _at(a.superseded_at),
                "superseded_reason": a.superseded_reason,
            } for a in approvals],
        },
        "audit": [{
            "id": e.pk, "at": _at(e.created_at), "actor": e.actor_name, "action": e.action,
            "object": f"{e.object_type}:{e.object_id}", "before": e.before, "after": e.after,
            "prev_hash": e.prev_hash, "hash": e.hash,
        } for e in events],
    }
    if schema != SCHEMAS[0]:
        content["controls"] = _controls(release, events)
    if schema not in SCHEMAS[:2]:
        content["controls"]["check_params"] = _check_params(items, events)
    return content


RULES = {
    ChecklistTemplate.OverridePolicy.REASON: "A person may override a failed probe only with a reason; every "
                                             "override is listed below with the probe's findings at the time.",
    ChecklistTemplate.OverridePolicy.WAIVER: "A failed probe cannot be overridden: only a granted waiver takes "
                                             "such an item out of the open work.",
}
ONE_PERSON_ONE_REQUIREMENT = "A person decides at most one sign-off requirement of this release."
ONE_PERSON_MANY_REQUIREMENTS = ("This release's template lets one person decide several sign-off requirements: "
                                "the approvals below may come from fewer people than there are requirements.")


def _controls(release: Release, events: list[AuditEvent]) -> dict:
    """What a person decided against a machine or the template, and the rules those decisions met.
    One query (the overrides); the template and the audit events are already loaded."""
    template = release.template_version.template
    overrides = (ItemOverride.objects.filter(release=release).select_related("item", "by")
                 .order_by("created_at", "pk"))
    return {
        "rules": {
            "override_policy": template.override_policy,
            "override_policy_label": template.get_override_policy_display(),
            "override_rule": RULES.get(template.override_policy, template.get_override_policy_display()),
            "one_person_many_requirements": template.one_person_many_requirements,
            "separation_rule": (ONE_PERSON_MANY_REQUIREMENTS if template.one_person_many_requirements
                                else ONE_PERSON_ONE_REQUIREMENT),
        },
        "overrides": [{
            "id": o.pk, "item": o.item.key, "text": o.item.text, "from_status": o.from_status,
            "to_status": o.to_status, "to_status_label": o.get_to_status_display(), "by": _who(o.by),
            "at": _at(o.created_at), "reason": o.reason, "probe_summary": o.probe_summary,
            "probe_findings": o.probe_findings,
        } for o in overrides],
        "template_requirement_changes": [{
            "id": e.pk, "action": e.action.rsplit("_", 1)[-1], "requirement": e.before.get("name"),
            "by": e.actor_name, "at": _at(e.created_at), "before": e.before,
            "after": e.after if e.action.endswith("_changed") else None,
        } for e in events
            if e.action in TEMPLATE_REQUIREMENT_ACTIONS and (e.before or {}).get("from_template") is True],
    }


def _check_params(items, events: list[AuditEvent]) -> list[dict]:
    """Every setting of a check's params on the release: loosening a threshold decides a verdict."""
    keys = {str(item.pk): item for item in items}
    return [{
        "id": e.pk, "item": keys[e.object_id].key, "text": keys[e.object_id].text,
        "check": keys[e.object_id].probe_id, "by": e.actor_name, "at": _at(e.created_at),
        "before": (e.before or {}).get("probe_params"), "after": (e.after or {}).get("probe_params"),
    } for e in events if e.action == CHECK_PARAMS_ACTION and e.object_id in keys]


def requirements_team(requirements, requirement_id) -> str | None:
    for r in requirements:
        if r.pk == requirement_id:
            return r.team.name if r.team else None
    return None


def _items(release: Release):
    from probes.models import ProbeResult

    return (release.items.select_related("section", "owner_team", "assignee", "completed_by", "changed_by")
            .prefetch_related(
                Prefetch("evidence", queryset=Evidence.objects.select_related("created_by", "probe_result")
                         .order_by("created_at", "pk")),
                Prefetch("comments", queryset=Comment.objects.select_related("author").order_by("created_at", "pk")),
                Prefetch("waivers", queryset=Waiver.objects.select_related("requested_by", "decided_by")
                         .order_by("requested_at", "pk")),
                Prefetch("probe_results", queryset=ProbeResult.objects.order_by("-created_at", "-pk")),
            ).order_by("order"))


def _item(item: ReleaseItem) -> dict:
    results = list(item.probe_results.all())
    return {
        "key": item.key, "section": item.section.key, "parent": item.parent_key or None, "text": item.text,
        "required": item.required, "severity": item.severity, "status": item.status,
        "status_label": item.get_status_display(),
        "owner_team": item.owner_team.name if item.owner_team else None, "assignee": _who(item.assignee),
        "due_date": _at(item.due_date), "completed_by": _who(item.completed_by), "changed_by": _who(item.changed_by),
        "changed_at": _at(item.changed_at), "version": item.version,
        "probe": {
            "id": item.probe_id, "decided_by_probe": item.decided_by_probe, "status": item.probe_status,
            "checked_at": _at(item.probe_checked_at), "regressed": item.regressed, "results_total": len(results),
            "results": [{"run": r.run_id, "status": r.status, "summary": r.summary, "findings": r.findings,
                         "exempted": r.exempted, "at": _at(r.created_at)} for r in results[:PROBE_RESULTS_KEPT]],
        } if item.probe_id or results else None,
        "evidence": [{
            "id": e.pk, "kind": e.kind, "name": str(e), "filename": e.filename, "sha256": e.sha256, "size": e.size,
            "content_type": e.content_type, "url": e.url, "note": e.note,
            "probe_result": e.probe_result.summary if e.probe_result else None,
            "by": _who(e.created_by), "at": _at(e.created_at), "has_file": bool(e.file),
        } for e in item.evidence.all()],
        "comments": [{"id": c.pk, "author": _who(c.author), "at": _at(c.created_at), "body": c.body}
                     for c in item.comments.all()],
        "waivers": [{
            "id": w.pk, "state": w.state, "justification": w.justification, "expires_on": _at(w.expires_on),
            "requested_by": _who(w.requested_by), "requested_at": _at(w.requested_at),
            "decided_by": _who(w.decided_by), "decided_at": _at(w.decided_at),
            "decision_comment": w.decision_comment, "previous_status": w.previous_status,
        } for w in item.waivers.all()],
    }


def _progress(items: list[ReleaseItem], sections: list[TemplateSection]) -> dict:
    top = {}
    parents = {s.pk: s.parent_id for s in sections}
    by_pk = {s.pk: s for s in sections}
    for s in sections:
        node = s.pk
        while parents.get(node) is not None:
            node = parents[node]
        top[s.pk] = by_pk[node]

    def row(label, group):
        complete = sum(1 for i in group if i.is_complete)
        return {"name": label, "total": len(group), "complete": complete,
                "percent": round(100 * complete / len(group)) if group else 0,
                "failed": sum(1 for i in group if i.status == ReleaseItem.Status.FAILED),
                "waived": sum(1 for i in group if i.status == ReleaseItem.Status.WAIVED)}

    by_section, by_team = {}, {}
    for item in items:
        by_section.setdefault(top[item.section_id].key, []).append(item)
        by_team.setdefault(item.owner_team.name if item.owner_team else "No team", []).append(item)
    titles = {s.key: s.title for s in sections}
    statuses = {}
    for item in items:
        statuses[item.status] = statuses.get(item.status, 0) + 1
    return {
        "total": row("All items", items),
        "by_status": dict(sorted(statuses.items())),
        "by_section": [{"key": key, **row(titles[key], group)} for key, group in by_section.items()],
        "by_team": [row(name, group) for name, group in sorted(by_team.items())],
    }
