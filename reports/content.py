"""The canonical content of a release's report, and its manifest hash.

The content is a pure function of the database: no generation time, no request data. Rendering the
same release twice gives the same bytes, so `manifest = sha256(canonical JSON)` can be recomputed
later and compared with the one printed in a PDF. Reporting itself is not part of the content: the
`checklists.report.*` audit events are left out, or every export would invalidate the one before it.
"""
import datetime
import hashlib

from django.db.models import Prefetch

from checklists.audit import canonical_json
from checklists.models import (
    Approval, AuditEvent, Comment, Evidence, Release, ReleaseItem, TemplateSection, Waiver,
)
from checklists.signoff.services import release_state_hash

SCHEMA = "readiness.report/1"
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


def build(release: Release) -> dict:
    """The report content. Query count is fixed (about 15), whatever the number of items or evidence."""
    release = (Release.objects.select_related("template_version__template", "release_manager", "created_by")
               .get(pk=release.pk))
    version = release.template_version
    sections = list(TemplateSection.objects.filter(version=version).order_by("order"))
    items = list(_items(release))
    requirements = list(release.requirements.select_related("team").prefetch_related("sections"))
    approvals = list(release.approvals.select_related("approver", "requirement").order_by("created_at", "pk"))
    events = list(AuditEvent.objects.filter(release=release).exclude(action__startswith=REPORT_ACTIONS)
                  .order_by("id"))
    return {
        "schema": SCHEMA,
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
