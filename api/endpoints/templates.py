"""Checklist templates: list, read, and import a Markdown checklist as a new version (admins)."""
import datetime

from django.db.models import Count, Max
from django.http import Http404
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from api.auth import audited
from api.errors import ApiError, responses
from api.pagination import Id, Number, Page, PageParams, paginate
from checklists import permissions
from checklists.models import ChecklistTemplate, TemplateVersion
from checklists.services.templates import template_import

router = Router(tags=["templates"])
MAX_CHECKLIST_BYTES = 2 * 1024 * 1024


class TemplateOut(Schema):
    id: int
    name: str
    description: str
    latest_version: int | None
    versions: int


class SectionOut(Schema):
    key: str
    title: str
    level: int
    parent: str | None


class TemplateItemOut(Schema):
    key: str
    text: str
    section: str
    parent: str | None
    required: bool
    severity: str
    probe_id: str


class VersionOut(Schema):
    id: int
    template: str
    number: int
    source_sha256: str
    created_at: datetime.datetime
    sections: list[SectionOut]
    items: list[TemplateItemOut]


class ImportOut(Schema):
    template: str
    version: int
    created: bool
    sections: int
    items: int


def _visible(request):
    if not permissions.roles_of(request.user):
        raise Http404("No such template.")


def _template_row(t) -> dict:
    return {"id": t.pk, "name": t.name, "description": t.description, "latest_version": t.latest,
            "versions": t.version_count}


def _templates():
    return ChecklistTemplate.objects.annotate(latest=Max("versions__number"),
                                              version_count=Count("versions")).order_by("name")


@router.get("/templates", response=responses({200: Page[TemplateOut]}), summary="List templates")
def template_list(request, page: Query[PageParams]):
    _visible(request)
    return paginate(_templates(), page, _template_row)


def _version_out(version: TemplateVersion) -> dict:
    sections = list(version.sections.select_related("parent").order_by("order"))
    keys = {s.pk: s.key for s in sections}
    items = list(version.items.select_related("parent").order_by("order"))
    return {
        "id": version.pk, "template": version.template.name, "number": version.number,
        "source_sha256": version.source_sha256, "created_at": version.created_at,
        "sections": [{"key": s.key, "title": s.title, "level": s.level, "parent": keys.get(s.parent_id)}
                     for s in sections],
        "items": [{"key": i.key, "text": i.text, "section": keys[i.section_id],
                   "parent": i.parent.key if i.parent else None, "required": i.required, "severity": i.severity,
                   "probe_id": i.probe_id} for i in items],
    }


# Before /templates/{template_id}: "import" must not be read as an id.
@router.post("/templates/import", response=responses({200: ImportOut, 201: ImportOut}),
             summary="Import a Markdown checklist as a new template version (admins)")
def template_import_view(request, file: File[UploadedFile], name: Form[str] = ""):
    _visible(request)
    if not permissions.is_admin(request.user):
        raise ApiError(403, "forbidden", "Only admins import checklist templates.")
    if file.size > MAX_CHECKLIST_BYTES:
        raise ApiError(413, "too_large", f"A checklist file holds at most {MAX_CHECKLIST_BYTES // 1024} KB.")
    with audited(request):
        result = template_import(data=file.read(), name=name.strip()[:200] or None, source_name=file.name or "",
                                 by=request.user)
    return Status(201 if result.created else 200, {
        "template": result.version.template.name, "version": result.version.number, "created": result.created,
        "sections": result.sections, "items": result.items})


@router.get("/templates/{template_id}", response=responses({200: VersionOut}),
            summary="Read a template's version (the latest unless ?version=N)")
def template_read(request, template_id: Id, version: Number | None = None):
    _visible(request)
    versions = TemplateVersion.objects.select_related("template").filter(template_id=template_id)
    found = (versions.filter(number=version) if version is not None else versions.order_by("-number")).first()
    if found is None:
        raise Http404("No such template or version.")
    return _version_out(found)
