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
            order=order, from_template=True,
        )
        scoped = [sections[key] for key in spec.get("sections", []) if key in sections]
        if scoped:
            requirement.sections.set(scoped)
