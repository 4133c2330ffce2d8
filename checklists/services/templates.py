"""Turning Markdown into template versions, and template versions back into Markdown."""
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from checklists import markdown
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
    "probes": {item_key: {"probe": id, "params": {}}}, "signoff": [...]}. Raises ChecklistError; writes
    nothing on any error.
    """
    text = markdown.decode(data)
    checklist = markdown.parse(text, default_title=name or "Checklist", max_items=settings.READINESS_CHECKLIST_MAX_ITEMS,
                               max_depth=settings.READINESS_CHECKLIST_MAX_DEPTH)
    template_name = (name or checklist.title).strip()
    metadata = metadata or {}
    digest = hashlib.sha256(data + canonical_json(metadata).encode()).hexdigest()
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
                probe_id=binding.get("probe", ""), probe_params=binding.get("params") or {},
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
