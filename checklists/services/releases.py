"""Creating releases from template versions."""
from django.db import transaction

from checklists.audit import record
from checklists.models import Release, ReleaseItem, SignoffRequirement, Team, TemplateSection, TemplateVersion


class ReleaseError(ValueError):
    """A release cannot be created or changed as asked; the message says why."""


@transaction.atomic
def release_create(*, template_version: TemplateVersion, service: str, version: str, environment: str = "production",
                   target_date=None, release_manager=None, by=None, description: str = "") -> Release:
    """Create a release and snapshot every template item into it.

    Query count does not depend on the number of items: the items are read once and written with one
    bulk INSERT.
    """
    service, version, environment = service.strip(), version.strip(), environment.strip() or "production"
    if not service or not version:
        raise ReleaseError("A release needs a service and a version.")
    if Release.objects.filter(service=service, version=version, environment=environment).exists():
        raise ReleaseError(f"{service} {version} already has a release for {environment}.")
    release = Release.objects.create(
        template_version=template_version, service=service, version=version, environment=environment,
        target_date=target_date, release_manager=release_manager or by, created_by=by, description=description,
        state=Release.State.IN_PROGRESS,
    )
    template_items = template_version.items.select_related("parent").order_by("order")
    ReleaseItem.objects.bulk_create([
        ReleaseItem(
            release=release, template_item=t, section_id=t.section_id, key=t.key,
            parent_key=t.parent.key if t.parent else "", text=t.text, guidance=t.guidance, order=t.order,
            required=t.required, severity=t.severity, probe_id=t.probe_id, probe_params=t.probe_params,
            owner_team_id=t.default_team_id, due_date=target_date,
        )
        for t in template_items
    ])
    _copy_signoff_defaults(release, template_version)
    record("checklists.release.created", actor=by, obj=release, release=release,
           after={"service": service, "version": version, "environment": environment,
                  "template_version": template_version.pk, "state": release.state})
    return release


def _copy_signoff_defaults(release: Release, template_version: TemplateVersion) -> None:
    defaults = template_version.signoff_defaults or []
    if not defaults:
        return
    teams = {t.slug: t for t in Team.objects.filter(slug__in=[d.get("team") for d in defaults if d.get("team")])}
    section_keys = {key for d in defaults for key in d.get("sections", [])}
    sections = {s.key: s for s in TemplateSection.objects.filter(version=template_version, key__in=section_keys)}
    for order, spec in enumerate(defaults):
        requirement = SignoffRequirement.objects.create(
            release=release, name=spec["name"], role=spec.get("role", ""), team=teams.get(spec.get("team")),
            order=order,
        )
        scoped = [sections[key] for key in spec.get("sections", []) if key in sections]
        if scoped:
            requirement.sections.set(scoped)


CARRIED_KINDS = ("file", "link", "note")  # probe results are not carried: the next probe run decides


@transaction.atomic
def release_create_from(*, previous: Release, version: str, environment: str | None = None, target_date=None,
                        template_version: TemplateVersion | None = None, by, description: str = "") -> Release:
    """Start the next release of a service from its previous one: the same checklist (or a newer
    version of it), each item's owner team and assignee as they were, and the evidence people added
    within READINESS_CARRY_EVIDENCE_DAYS copied over, marked as carried (pointing at the original,
    which keeps its date and who added it; same hash, same stored bytes). Statuses start open and
    approvals are never carried: people confirm, approvers decide again. Costs a fixed number of queries."""
    import datetime

    from django.conf import settings
    from django.utils import timezone

    from checklists.audit import record_many
    from checklists.models import Evidence

    template_version = template_version or previous.template_version
    if template_version.template_id != previous.template_version.template_id:
        raise ReleaseError("A release started from another one keeps its checklist (or a newer version of it).")
    release = release_create(template_version=template_version, service=previous.service, version=version,
                             environment=environment or previous.environment, target_date=target_date,
                             release_manager=by, by=by, description=description)
    old_items = {item.key: item for item in previous.items.only("pk", "key", "owner_team_id", "assignee_id")}
    new_items = list(release.items.only("pk", "key", "owner_team_id", "assignee_id", "release_id"))
    for item in new_items:
        old = old_items.get(item.key)
        if old is not None:
            item.owner_team_id, item.assignee_id = old.owner_team_id, old.assignee_id
    ReleaseItem.objects.bulk_update(new_items, ["owner_team_id", "assignee_id"], batch_size=500)
    since = timezone.now() - datetime.timedelta(days=settings.READINESS_CARRY_EVIDENCE_DAYS)
    by_key = {item.key: item for item in new_items}
    fresh = (Evidence.objects.filter(item__release=previous, kind__in=CARRIED_KINDS, created_at__gte=since)
             .select_related("item").order_by("pk"))
    copies = []
    for original in fresh:
        target = by_key.get(original.item.key)
        if target is None:
            continue
        source = original.carried_from_id or original.pk  # always point at the first original
        copies.append(Evidence(item=target, kind=original.kind, file=original.file.name, filename=original.filename,
                               content_type=original.content_type, size=original.size, sha256=original.sha256,
                               url=original.url, note=original.note, created_by=by, carried_from_id=source))
    Evidence.objects.bulk_create(copies)
    record_many([{"action": "checklists.release.started_from", "obj": release, "release": release,
                  "after": {"from_release": previous.pk, "from": str(previous), "evidence_carried": len(copies)}},
                 *({"action": "checklists.evidence.carried", "obj": e.item, "release": release,
                    "after": {"evidence": e.pk, "kind": e.kind, "sha256": e.sha256, "carried_from": e.carried_from_id}}
                   for e in copies)], actor=by)
    release.carried_evidence = len(copies)
    return release
