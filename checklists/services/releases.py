"""Creating releases from template versions."""
import json

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

    A fixed number of statements whatever the number of items or sign-off defaults: the items and
    the default sign-off requirements are copied inside the database by one statement.
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
    _snapshot(release, template_version, target_date)
    record("checklists.release.created", actor=by, obj=release, release=release,
           after={"service": service, "version": version, "environment": environment,
                  "template_version": template_version.pk, "state": release.state})
    return release


# Each release item's column and the SELECT expression over the template item `t` (and its parent
# `p`) that fills it; %(name)s are parameters. Every column of ReleaseItem is named, so a field added
# to the model without a place here fails loudly (see _snapshot_sql).
_ITEM_COLUMNS = {
    "release": "%(release)s", "template_item": "t.id", "section": "t.section_id", "key": "t.key",
    "parent_key": "COALESCE(p.key, '')", "text": "t.text", "guidance": "t.guidance", "order": 't."order"',
    "required": "t.required", "severity": "t.severity", "probe_id": "t.probe_id", "probe_params": "t.probe_params",
    "status": "%(status)s", "owner_team": "t.default_team_id", "assignee": "NULL", "due_date": "%(due)s",
    "version": "1", "decided_by_probe": "false", "probe_status": "''", "probe_checked_at": "NULL",
    "regressed": "false", "completed_by": "NULL", "changed_by": "NULL", "changed_at": "%(now)s",
}


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _snapshot_sql() -> str:
    """One statement, three INSERTs: every template item into the release, the template's default
    sign-off requirements (given as JSON, teams found by slug) and the sections they cover (by key)."""
    fields = {f.name for f in ReleaseItem._meta.concrete_fields if not f.primary_key}
    if fields != set(_ITEM_COLUMNS):
        raise RuntimeError(f"release item columns changed: {sorted(fields ^ set(_ITEM_COLUMNS))}; "
                           f"update _ITEM_COLUMNS")
    item_columns = ", ".join(_column(ReleaseItem, name) for name in _ITEM_COLUMNS)
    through = SignoffRequirement.sections.through
    r, col = SignoffRequirement, _column
    return f"""
        WITH items AS (
            INSERT INTO {_table(ReleaseItem)} ({item_columns})
            SELECT {", ".join(_ITEM_COLUMNS.values())}
            FROM {_table(TemplateItem)} t LEFT JOIN {_table(TemplateItem)} p ON p.id = t.parent_id
            WHERE t.version_id = %(version)s ORDER BY t."order"
            RETURNING 1),
        spec AS (
            SELECT d.* FROM jsonb_to_recordset(%(defaults)s::jsonb)
                AS d(position int, name text, role text, team text, sections jsonb)),
        requirements AS (
            INSERT INTO {_table(r)} ({col(r, "release")}, {col(r, "name")}, {col(r, "role")}, {col(r, "team")},
                                     {col(r, "order")}, {col(r, "from_template")})
            SELECT %(release)s, spec.name, COALESCE(spec.role, ''), team.id, spec.position, true
            FROM spec LEFT JOIN {_table(Team)} team ON team.slug = spec.team
            RETURNING id, {col(r, "name")} AS name),
        links AS (
            INSERT INTO {_table(through)} ({col(through, "signoffrequirement")}, {col(through, "templatesection")})
            SELECT DISTINCT requirements.id, section.id
            FROM requirements JOIN spec ON spec.name = requirements.name
            CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(spec.sections, '[]'::jsonb)) AS wanted(key)
            JOIN {_table(TemplateSection)} section
                ON section.version_id = %(version)s AND section.key = wanted.key
            RETURNING 1)
        SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM requirements), (SELECT count(*) FROM links)
    """


def _snapshot(release: Release, template_version: TemplateVersion, target_date) -> None:
    """Copy the template version's items and default sign-off requirements into the release."""
    defaults = [{"position": position, "name": spec["name"], "role": spec.get("role", ""), "team": spec.get("team"),
                 "sections": list(spec.get("sections", []))}
                for position, spec in enumerate(template_version.signoff_defaults or [])]
    with connection.cursor() as cursor:
        cursor.execute(_snapshot_sql(), {
            "release": release.pk, "version": template_version.pk, "due": target_date,
            "status": ReleaseItem.Status.OPEN, "now": timezone.now(), "defaults": json.dumps(defaults),
        })


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
