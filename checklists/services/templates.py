"""Turning Markdown into template versions, and template versions back into Markdown."""
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from checklists import checklist_markdown as markdown, deciders, permissions
from checklists.audit import canonical_json, record
from checklists.models import ChecklistTemplate, Severity, Team, TemplateItem, TemplateSection, TemplateVersion


@dataclass
class ImportResult:
    version: TemplateVersion
    created: bool
    items: int
    sections: int


def template_import(*, data: bytes, name: str | None = None, source_name: str = "", metadata: dict | None = None,
                    by=None) -> ImportResult:
    """Create a new version of a template from Markdown bytes, or find the identical one imported before.

    `metadata` (optional) sets default teams per top-level section, severities, probe bindings and
    sign-off defaults: {"teams": {section_key: team_slug}, "severity": {item_key: level},
    "probes": {item_key: {"probe"|"artifact"|"collector": id, "params": {}}}, "signoff": [...]}
    (whichever kind binds an item, its prefixed id is stored in probe_id; see checklists.deciders). Raises ChecklistError; writes
    nothing on any error.
    """
    text = markdown.decode(data)
    checklist = markdown.parse(text, default_title=name or "Checklist", max_items=settings.READINESS_CHECKLIST_MAX_ITEMS,
                               max_depth=settings.READINESS_CHECKLIST_MAX_DEPTH)
    template_name = (name or checklist.title).strip()
    metadata = metadata or {}
    digest = source_digest(data, metadata)
    with transaction.atomic():
        template, _ = ChecklistTemplate.objects.get_or_create(name=template_name)
        template = ChecklistTemplate.objects.select_for_update(no_key=True).get(pk=template.pk)
        existing = template.versions.filter(source_sha256=digest).first()
        if existing:
            return ImportResult(existing, False, existing.items.count(), existing.sections.count())
        last = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = TemplateVersion.objects.create(
            template=template, number=last + 1, source_sha256=digest, source=text, source_name=source_name,
            intro=checklist.intro, signoff_defaults=metadata.get("signoff", []), created_by=by,
        )
        sections = _save_sections(version, checklist)
        items = _save_items(version, checklist, sections, metadata)
        record("checklists.template.imported", actor=by, obj=version,
               after={"template": template.name, "version": version.number, "items": items, "sha256": digest})
    return ImportResult(version, True, items, len(sections))


def source_digest(data: bytes, metadata: dict) -> str:
    """What a version is known by: the same Markdown with the same metadata imports as the same version."""
    return hashlib.sha256(data + canonical_json(metadata).encode()).hexdigest()


def template_imported_before(*, data: bytes, name: str, metadata: dict | None = None) -> ImportResult | None:
    """What template_import(data=data, metadata=metadata) finds when template `name` (the Markdown's
    title) already holds that version, without parsing the Markdown again; None when it would create
    one. One query, and the two counts of the result."""
    existing = TemplateVersion.objects.filter(template__name=name, source_sha256=source_digest(data, metadata or {})).first()
    if existing is None:
        return None
    return ImportResult(existing, False, existing.items.count(), existing.sections.count())


def _save_sections(version, checklist) -> dict[str, TemplateSection]:
    """One INSERT per nesting level: parents must have ids before their children point at them."""
    by_key: dict[str, TemplateSection] = {}
    levels: dict[int, list] = {}
    for order, (section, parent) in enumerate(checklist.walk_sections()):
        levels.setdefault(section.level, []).append((order, section, parent))
    for level in sorted(levels):
        rows = [
            TemplateSection(version=version, parent=by_key[parent.key] if parent else None, key=section.key,
                            title=section.title, level=section.level, order=order, intro=section.intro)
            for order, section, parent in levels[level]
        ]
        for row in TemplateSection.objects.bulk_create(rows):
            by_key[row.key] = row
    return by_key


def _save_items(version, checklist, sections, metadata) -> int:
    teams = _teams_by_section(checklist, metadata.get("teams", {}))
    severities = metadata.get("severity", {})
    probes = metadata.get("probes", {})
    by_depth: dict[int, list] = {}
    depth_of: dict[str, int] = {}
    for order, (item, section) in enumerate(checklist.walk_items()):
        depth = depth_of[item.parent_key] + 1 if item.parent_key else 0
        depth_of[item.key] = depth
        by_depth.setdefault(depth, []).append((order, item, section))
    saved: dict[str, TemplateItem] = {}
    for depth in sorted(by_depth):
        rows = []
        for order, item, section in by_depth[depth]:
            binding = probes.get(item.key) or {}
            rows.append(TemplateItem(
                version=version, section=sections[section.key], parent=saved.get(item.parent_key),
                key=item.key, text=item.text, guidance=item.guidance, order=order, kind=item.kind,
                checked_in_source=item.checked, number=item.number, line=item.line,
                default_team=teams.get(section.key), required=_required(item, section),
                severity=severities.get(item.key) or _severity(item),
                probe_id=deciders.binding_id(binding), probe_params=binding.get("params") or {},
            ))
        for row in TemplateItem.objects.bulk_create(rows):
            saved[row.key] = row
    return len(saved)


def _teams_by_section(checklist, mapping: dict[str, str]) -> dict[str, Team]:
    """Each section inherits its top-level section's team unless it is named itself."""
    teams = {team.slug: team for team in Team.objects.filter(slug__in=set(mapping.values()))}
    result = {}
    for section, parent in checklist.walk_sections():
        slug = mapping.get(section.key)
        if slug is None and parent is not None:
            result[section.key] = result.get(parent.key)
            continue
        result[section.key] = teams.get(slug)
    return result


def _required(item, section) -> bool:
    text = f"{section.title} {item.text}".lower()
    return "(optional)" not in text and "(if applicable)" not in text


def _severity(item) -> str:
    return Severity.HIGH if item.kind == TemplateItem.Kind.NUMBERED else Severity.MEDIUM


def version_to_checklist(version: TemplateVersion) -> markdown.Checklist:
    """Rebuild the parsed form of a stored version (2 queries), the input of markdown.render()."""
    checklist = markdown.Checklist(title=version.template.name, intro=version.intro)
    sections = {}
    for row in version.sections.order_by("order"):
        section = markdown.Section(key=row.key, title=row.title, level=row.level, intro=row.intro)
        sections[row.pk] = section
        parent = sections.get(row.parent_id)
        (parent.sections if parent else checklist.sections).append(section)
    items = {}
    for row in version.items.order_by("order"):
        item = markdown.Item(key=row.key, text=row.text, line=row.line, kind=row.kind, checked=row.checked_in_source,
                             number=row.number, guidance=row.guidance, explicit_key=True)
        items[row.pk] = item
        parent = items.get(row.parent_id)
        if parent:
            item.parent_key = parent.key
            parent.children.append(item)
        else:
            sections[row.section_id].items.append(item)
    return checklist


def template_export(*, template: ChecklistTemplate) -> str:
    version = template.latest_version()
    return markdown.render(version_to_checklist(version))


# --- Templates in the browser: preview, versions, diff, edit, export ---------------------------------
class TemplateError(ValueError):
    """A template change cannot be made as asked; the message says why."""


def template_preview(*, data: bytes, name: str | None = None) -> markdown.Checklist:
    """Parse an upload without writing anything: what `template_import` would save. Raises ChecklistError."""
    text = markdown.decode(data)
    return markdown.parse(text, default_title=name or "Checklist")


def template_version_export(*, version: TemplateVersion) -> str:
    """A version as Markdown (each item line ending in its key). Costs 3 queries."""
    return markdown.render(version_to_checklist(version))


DIFF_FIELDS = ("text", "guidance", "required", "severity", "default_team_id", "probe_id", "probe_params",
               "section_key", "parent_key")
# Fields whose change alters what an item asks for: a release moving to the new version reopens it.
MEANING_FIELDS = ("text", "guidance")


@dataclass
class ItemChange:
    key: str
    old: TemplateItem
    new: TemplateItem
    fields: list[str]

    @property
    def reopens(self) -> bool:
        return any(name in MEANING_FIELDS for name in self.fields)


@dataclass
class TemplateDiff:
    old: TemplateVersion
    new: TemplateVersion
    added: list[TemplateItem]
    removed: list[TemplateItem]
    changed: list[ItemChange]
    unchanged: int

    def __bool__(self):
        return bool(self.added or self.removed or self.changed)

    @property
    def changed_by_key(self) -> dict[str, ItemChange]:
        return {change.key: change for change in self.changed}


def _diff_items(version: TemplateVersion) -> dict[str, TemplateItem]:
    items = {}
    for item in version.items.select_related("section", "parent", "default_team").order_by("order"):
        item.section_key = item.section.key
        item.parent_key = item.parent.key if item.parent else ""
        items[item.key] = item
    return items


def template_diff(*, old: TemplateVersion, new: TemplateVersion) -> TemplateDiff:
    """Items added, removed and changed between two versions, matched by their stable key. 2 queries."""
    before, after = _diff_items(old), _diff_items(new)
    changed = []
    for key, item in after.items():
        if key in before:
            fields = [name for name in DIFF_FIELDS if getattr(before[key], name) != getattr(item, name)]
            if fields:
                changed.append(ItemChange(key, before[key], item, fields))
    return TemplateDiff(
        old=old, new=new,
        added=[item for key, item in after.items() if key not in before],
        removed=[item for key, item in before.items() if key not in after],
        changed=changed, unchanged=sum(1 for key in after if key in before) - len(changed),
    )


def can_manage_templates(user) -> bool:
    from checklists.models import Role

    return bool(permissions.roles_of(user) & {Role.ADMIN, Role.RELEASE_MANAGER})


def require_manage_templates(user) -> None:
    if not can_manage_templates(user):
        raise PermissionDenied("Only admins and release managers change checklist templates.")


EDITABLE_ITEM_FIELDS = ("text", "default_team", "required", "severity", "probe_id")
ITEM_TEXT_MAX = 2000


def template_version_edit(*, version: TemplateVersion, edits: dict[str, dict], by,
                          probe_ids: set[str] | None = None) -> TemplateVersion:
    """A new version of the template: `version` with the given items changed (key -> {field: value} for
    text, default_team, required, severity, probe_id; `probe_ids`, when given, are the probes a binding
    may name). Keys stay: a release keeps each item's history
    across versions. Published versions never change. Raises TemplateError; writes nothing on error.
    Costs a fixed number of queries (bulk INSERTs per nesting level)."""
    require_manage_templates(by)
    items = list(version.items.select_related("parent").order_by("order"))
    by_key = {item.key: item for item in items}
    unknown = sorted(set(edits) - set(by_key))
    if unknown:
        raise TemplateError(f"No item with the key {unknown[0]!r} in {version}.")
    changed = {}
    for key, fields in edits.items():
        item = by_key[key]
        diff = {}
        for name, value in fields.items():
            if name not in EDITABLE_ITEM_FIELDS:
                raise TemplateError(f"{name!r} is not an editable field.")
            if name == "text":
                value = " ".join((value or "").split())
                if not value:
                    raise TemplateError(f"Item {key}: the text cannot be empty.")
                if len(value) > ITEM_TEXT_MAX:
                    raise TemplateError(f"Item {key}: the text holds at most {ITEM_TEXT_MAX} characters.")
            if name == "severity" and value not in Severity.values:
                raise TemplateError(f"Item {key}: “{value}” is not a severity.")
            if name == "probe_id":
                value = (value or "").strip()
                if value and probe_ids is not None and value not in probe_ids:
                    raise TemplateError(f"Item {key}: there is no probe “{value}”.")
            current = item.default_team if name == "default_team" else getattr(item, name)
            if value != current:
                diff[name] = value
        if diff:
            changed[key] = diff
    if not changed:
        raise TemplateError("Nothing changed: every item already has those values.")
    with transaction.atomic():
        template = ChecklistTemplate.objects.select_for_update().get(pk=version.template_id)
        last = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
        checklist = version_to_checklist(version)
        for item, _ in checklist.walk_items():
            if "text" in changed.get(item.key, {}):
                item.text = changed[item.key]["text"]
        source = markdown.render(checklist)
        attributes = {key: {name: (value.slug if hasattr(value, "slug") else value) for name, value in diff.items()}
                      for key, diff in changed.items()}
        digest = hashlib.sha256(f"{version.source_sha256}\n{canonical_json(attributes)}".encode()).hexdigest()
        if template.versions.filter(source_sha256=digest).exists():
            raise TemplateError("A version with exactly these changes exists already.")
        new = TemplateVersion.objects.create(
            template=template, number=last + 1, source_sha256=digest, source=source,
            source_name=f"edited from version {version.number}", intro=version.intro,
            signoff_defaults=version.signoff_defaults, created_by=by,
        )
        sections = _copy_sections(version, new)
        saved: dict[int, TemplateItem] = {}
        depth = {}
        for item in items:
            depth[item.pk] = depth[item.parent_id] + 1 if item.parent_id else 0
        for level in sorted(set(depth.values())):
            rows = []
            for item in items:
                if depth[item.pk] != level:
                    continue
                fields = changed.get(item.key, {})
                rows.append(TemplateItem(
                    version=new, section=sections[item.section_id], parent=saved.get(item.parent_id),
                    key=item.key, text=fields.get("text", item.text), guidance=item.guidance, order=item.order,
                    kind=item.kind, checked_in_source=item.checked_in_source, number=item.number, line=item.line,
                    default_team=fields["default_team"] if "default_team" in fields else item.default_team,
                    required=fields.get("required", item.required), severity=fields.get("severity", item.severity),
                    probe_id=fields.get("probe_id", item.probe_id),
                    probe_params=item.probe_params if fields.get("probe_id", item.probe_id) == item.probe_id else {},
                ))
            for old, row in zip([i for i in items if depth[i.pk] == level],
                                TemplateItem.objects.bulk_create(rows), strict=True):
                saved[old.pk] = row
        record("checklists.template.edited", actor=by, obj=new, after={
            "template": template.name, "version": new.number, "from_version": version.number,
            "changes": attributes, "sha256": digest})
    return new


def _copy_sections(old: TemplateVersion, new: TemplateVersion) -> dict[int, TemplateSection]:
    """Copy a version's sections, one INSERT per nesting level; returns old pk -> new section."""
    rows = list(old.sections.order_by("order"))
    copies: dict[int, TemplateSection] = {}
    for level in sorted({row.level for row in rows}):
        batch = [row for row in rows if row.level == level]
        created = TemplateSection.objects.bulk_create([
            TemplateSection(version=new, parent=copies.get(row.parent_id), key=row.key, title=row.title,
                            level=row.level, order=row.order, intro=row.intro) for row in batch])
        copies.update({row.pk: copy for row, copy in zip(batch, created, strict=True)})
    return copies



# --- Moving a release to a newer version of its template ---------------------------------------------
MOVE_ACTION = "checklists.release.template_moved"
MOVE_ITEM_ACTION = "checklists.item.template_moved"


@dataclass
class MovePlan:
    """What moving `release` to `diff.new` does: unchanged items keep everything; items whose text or
    guidance changed keep their evidence and history but reopen; added items arrive open; removed items
    are deleted, unless they hold evidence, comments, waivers or probe results (`blocked`)."""

    release: object
    diff: TemplateDiff
    reopened: list[str]  # keys
    blocked: list  # release items that would be removed but hold records

    @property
    def allowed(self) -> bool:
        return not self.blocked


def release_move_plan(*, release, to_version: TemplateVersion) -> MovePlan:
    """Check the move and say what it would do. Costs 3 queries."""
    from checklists.models import Release, ReleaseItem
    from checklists.services.releases import ReleaseError

    current = release.template_version
    if to_version.template_id != current.template_id:
        raise ReleaseError(f"{to_version} is not a version of {current.template.name}.")
    if to_version.number <= current.number:
        raise ReleaseError(f"A release moves only to a newer version than {current}.")
    if release.state not in (Release.State.DRAFT, Release.State.IN_PROGRESS):
        raise ReleaseError("A release in sign-off keeps its checklist: reopen it first.")
    diff = template_diff(old=current, new=to_version)
    removed = [item.key for item in diff.removed]
    blocked = []
    if removed:
        from django.db.models import Q

        # Reverse relations, so that the app that records need not import the app that judges.
        held = (Q(evidence__isnull=False) | Q(comments__isnull=False) | Q(waivers__isnull=False)
                | Q(probe_results__isnull=False))
        blocked = list(ReleaseItem.objects.filter(held, release=release, key__in=removed).distinct().order_by("order"))
    reopened = [change.key for change in diff.changed if change.reopens]
    return MovePlan(release=release, diff=diff, reopened=reopened, blocked=blocked)


def release_move_to_version(*, release, to_version: TemplateVersion, by, from_version_id: int) -> MovePlan:
    """Move a release to a newer version of its template, as `release_move_plan` describes. Refused when
    the release moved meanwhile (`from_version_id` is what the person reviewed), is in sign-off, or would
    lose records. One audit event for the release and one per item that changed, was added or removed.
    Costs a fixed number of queries (bulk UPDATE, INSERT and DELETE)."""
    from django.utils import timezone

    from checklists.audit import record_many
    from checklists.models import Release, ReleaseItem
    from checklists.services.releases import ReleaseError

    permissions.require_manage_release(by, release)
    with transaction.atomic():
        release = Release.objects.select_for_update().select_related("template_version__template").get(pk=release.pk)
        if release.template_version_id != from_version_id:
            raise ReleaseError(f"The release moved to {release.template_version} meanwhile: review the change again.")
        plan = release_move_plan(release=release, to_version=to_version)
        if plan.blocked:
            names = "; ".join(f"“{item.text}”" for item in plan.blocked[:10])
            raise ReleaseError(f"{len(plan.blocked)} item(s) removed in {to_version} hold evidence, comments, "
                               f"waivers or probe results and would be lost: {names}.")
        diff = plan.diff
        targets = {item.key: item for item in to_version.items.select_related("parent").order_by("order")}
        items = list(release.items.select_for_update().order_by("order"))
        now = timezone.now()
        events, moved, gone = [], [], []
        changes = diff.changed_by_key
        for item in items:
            target = targets.get(item.key)
            if target is None:
                gone.append(item)
                events.append({"action": MOVE_ITEM_ACTION, "obj": item, "release": release,
                               "before": {"key": item.key, "text": item.text, "status": item.status},
                               "after": {"removed": True, "template_version": to_version.number}})
                continue
            before = {"text": item.text, "status": item.status, "template_version": release.template_version.number}
            item.template_item, item.section_id, item.order = target, target.section_id, target.order
            item.parent_key = target.parent.key if target.parent else ""
            change = changes.get(item.key)
            if change:
                item.text, item.guidance, item.required = target.text, target.guidance, target.required
                item.severity, item.probe_id, item.probe_params = target.severity, target.probe_id, target.probe_params
                if change.reopens and item.status != ReleaseItem.Status.OPEN:
                    item.status, item.completed_by, item.decided_by_probe = ReleaseItem.Status.OPEN, None, False
                item.version += 1
                item.changed_by, item.changed_at = by, now
                events.append({"action": MOVE_ITEM_ACTION, "obj": item, "release": release, "before": before,
                               "after": {"text": item.text, "status": item.status, "fields": change.fields,
                                         "template_version": to_version.number, "version": item.version}})
            moved.append(item)
        ReleaseItem.objects.bulk_update(moved, ["template_item", "section_id", "order", "parent_key", "text",
                                                "guidance", "required", "severity", "probe_id", "probe_params",
                                                "status", "completed_by", "decided_by_probe", "version",
                                                "changed_by", "changed_at"], batch_size=500)
        ReleaseItem.objects.filter(pk__in=[item.pk for item in gone]).delete()
        added = ReleaseItem.objects.bulk_create([
            ReleaseItem(release=release, template_item=t, section_id=t.section_id, key=t.key,
                        parent_key=t.parent.key if t.parent else "", text=t.text, guidance=t.guidance, order=t.order,
                        required=t.required, severity=t.severity, probe_id=t.probe_id, probe_params=t.probe_params,
                        owner_team_id=t.default_team_id, due_date=release.target_date, changed_by=by, changed_at=now)
            for t in diff.added])
        events += [{"action": MOVE_ITEM_ACTION, "obj": item, "release": release,
                    "after": {"added": True, "text": item.text, "template_version": to_version.number}}
                   for item in added]
        _remap_requirement_sections(release, to_version)
        old_number = release.template_version.number
        release.template_version = to_version
        release.save(update_fields=["template_version", "updated_at"])
        record_many([{"action": MOVE_ACTION, "obj": release, "release": release,
                      "before": {"template_version": old_number},
                      "after": {"template_version": to_version.number, "added": [i.key for i in diff.added],
                                "removed": [i.key for i in diff.removed], "changed": [c.key for c in diff.changed],
                                "reopened": plan.reopened, "unchanged": diff.unchanged}}, *events], actor=by)
    return plan


def _remap_requirement_sections(release, to_version: TemplateVersion) -> None:
    """Sign-off requirements scoped to sections follow the sections (by key) into the new version."""
    new_sections = {s.key: s for s in to_version.sections.all()}
    for requirement in release.requirements.prefetch_related("sections"):
        scoped = list(requirement.sections.all())
        if scoped:
            requirement.sections.set([new_sections[s.key] for s in scoped if s.key in new_sections])


def clean_source_name(name: str) -> str:
    """The uploaded file's own name, without any folder: what messages and the version show."""
    return (name or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
