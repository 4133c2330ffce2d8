"""Creating releases from template versions."""
from django.db import connection, transaction
from django.utils import timezone

from checklists.audit import record
from checklists.models import (Release, ReleaseItem, SignoffRequirement, Team, TemplateItem, TemplateSection,
                               TemplateVersion)


class ReleaseError(ValueError):
    """A release cannot be created or changed as asked; the message says why."""


@transaction.atomic
def release_create(*, template_version: TemplateVersion, service: str, version: str, environment: str = "production",
                   target_date=None, release_manager=None, by=None, description: str = "") -> Release:
    """Create a release and snapshot every template item into it.

    A fixed number of statements whatever the number of items: the items are copied by one
    INSERT … SELECT inside the database, and the sign-off defaults by two bulk INSERTs.
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
    _snapshot_items(release, template_version, target_date)
    _copy_signoff_defaults(release, template_version)
    record("checklists.release.created", actor=by, obj=release, release=release,
           after={"service": service, "version": version, "environment": environment,
                  "template_version": template_version.pk, "state": release.state})
    return release


# Each release item's column and the SELECT expression over the template item `t` (and its parent
# `p`) that fills it; %(release)s, %(due)s and %(now)s are parameters. Every column of ReleaseItem is
# named, so a field added to the model without a place here fails loudly (see the check below).
_SNAPSHOT = {
    "release": "%(release)s", "template_item": "t.id", "section": "t.section_id", "key": "t.key",
    "parent_key": "COALESCE(p.key, '')", "text": "t.text", "guidance": "t.guidance", "order": "t.\"order\"",
    "required": "t.required", "severity": "t.severity", "probe_id": "t.probe_id", "probe_params": "t.probe_params",
    "status": "%(status)s", "owner_team": "t.default_team_id", "assignee": "NULL", "due_date": "%(due)s",
    "version": "1", "decided_by_probe": "false", "probe_status": "''", "probe_checked_at": "NULL",
    "regressed": "false", "completed_by": "NULL", "changed_by": "NULL", "changed_at": "%(now)s",
}


def _snapshot_sql() -> str:
    fields = {f.name: f for f in ReleaseItem._meta.concrete_fields if not f.primary_key}
    if set(fields) != set(_SNAPSHOT):
        raise RuntimeError(f"release item columns changed: {sorted(set(fields) ^ set(_SNAPSHOT))}; update _SNAPSHOT")
    columns = ", ".join(connection.ops.quote_name(fields[name].column) for name in _SNAPSHOT)
    values = ", ".join(_SNAPSHOT.values())
    items = connection.ops.quote_name(TemplateItem._meta.db_table)
    return (f"INSERT INTO {connection.ops.quote_name(ReleaseItem._meta.db_table)} ({columns}) "
            f"SELECT {values} FROM {items} t LEFT JOIN {items} p ON p.id = t.parent_id "
            f"WHERE t.version_id = %(version)s ORDER BY t.\"order\"")


def _snapshot_items(release: Release, template_version: TemplateVersion, target_date) -> None:
    """Copy every item of the template version into the release: one statement, in the database."""
    with connection.cursor() as cursor:
        cursor.execute(_snapshot_sql(), {
            "release": release.pk, "version": template_version.pk, "due": target_date,
            "status": ReleaseItem.Status.OPEN, "now": timezone.now(),
        })


def _copy_signoff_defaults(release: Release, template_version: TemplateVersion) -> None:
    """The template's default requirements, in at most four statements: teams, sections, the
    requirements (one bulk INSERT) and their sections (one bulk INSERT)."""
    defaults = template_version.signoff_defaults or []
    if not defaults:
        return
    teams = {t.slug: t for t in Team.objects.filter(slug__in=[d.get("team") for d in defaults if d.get("team")])}
    section_keys = {key for d in defaults for key in d.get("sections", [])}
    sections = ({s.key: s for s in TemplateSection.objects.filter(version=template_version, key__in=section_keys)}
                if section_keys else {})
    requirements = SignoffRequirement.objects.bulk_create([
        SignoffRequirement(release=release, name=spec["name"], role=spec.get("role", ""),
                           team=teams.get(spec.get("team")), order=order, from_template=True)
        for order, spec in enumerate(defaults)
    ])
    through = SignoffRequirement.sections.through
    links = [through(signoffrequirement_id=requirement.pk, templatesection_id=sections[key].pk)
             for requirement, spec in zip(requirements, defaults)
             for key in dict.fromkeys(spec.get("sections", [])) if key in sections]
    if links:
        through.objects.bulk_create(links)
