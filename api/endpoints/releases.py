"""Releases: list with filters, read with progress, create from a template version."""
import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.http import Http404
from ninja import Field, Query, Router, Schema, Status

from api import idempotency
from api.auth import audited
from api.errors import ApiError, responses
from api.pagination import Id, Number, Page, PageParams, paginate
from checklists import permissions, selectors
from checklists.models import ChecklistTemplate, Release, ReleaseItem, TemplateVersion
from checklists.services.releases import release_create

router = Router(tags=["releases"])


class Progress(Schema):
    total: int
    complete: int
    percent: int
    blocking: int
    overdue: int
    by_status: dict[str, int] | None = None


class ReleaseOut(Schema):
    id: int
    service: str
    version: str
    environment: str
    state: str
    drifted: bool
    target_date: datetime.date | None
    description: str
    template: str
    template_version: int
    release_manager: str | None
    created_at: datetime.datetime
    progress: Progress


class ReleaseFilters(Schema):
    state: Release.State | None = None
    environment: str | None = Field(None, max_length=50)
    service: str | None = Field(None, max_length=100)
    version: str | None = Field(None, max_length=100)
    team: str | None = Field(None, max_length=60, description="Slug of a team owning at least one item.")


class ReleaseIn(Schema):
    template: str = Field(..., min_length=1, max_length=200, description="Template name.")
    template_version: Number | None = Field(None, description="Version number; the latest if omitted.")
    service: str = Field(..., min_length=1, max_length=100, pattern=r"\S")
    version: str = Field(..., min_length=1, max_length=100, pattern=r"\S")
    environment: str = Field("production", min_length=1, max_length=50, pattern=r"\S")
    target_date: datetime.date | None = None
    description: str = Field("", max_length=5000)
    release_manager: str | None = Field(None, max_length=150, description="Username; the caller if omitted.")


def release_out(release: Release, *, by_status: dict | None = None) -> dict:
    return {
        "id": release.pk, "service": release.service, "version": release.version,
        "environment": release.environment, "state": release.state, "drifted": release.drifted,
        "target_date": release.target_date, "description": release.description,
        "template": release.template_version.template.name, "template_version": release.template_version.number,
        "release_manager": release.release_manager.get_username() if release.release_manager else None,
        "created_at": release.created_at,
        "progress": {"total": release.item_total, "complete": release.item_complete,
                     "percent": selectors.percent(release.item_complete, release.item_total),
                     "blocking": release.item_blocking, "overdue": release.item_overdue, "by_status": by_status},
    }


def release_for(request, release_id: Id) -> Release:
    """The release if the caller may see it (404 otherwise), with progress annotations."""
    release = (permissions.visible_releases(request.user).filter(pk=release_id)
               .select_related("template_version__template", "release_manager").first())
    if release is None:
        raise Http404("No such release.")
    return selectors.attach_progress([release])[0]


@router.get("/releases", response=responses({200: Page[ReleaseOut]}), summary="List releases")
def release_list(request, filters: Query[ReleaseFilters], page: Query[PageParams]):
    releases = selectors.dashboard_releases(request.user, selectors.ReleaseFilters(
        state=filters.state or "", environment=filters.environment or "", service=filters.service or "",
        team=filters.team or "")).select_related("template_version__template")
    if filters.version:
        releases = releases.filter(version=filters.version)
    return paginate(releases, page, release_out, prepare=selectors.attach_progress)


@router.get("/releases/{release_id}", response=responses({200: ReleaseOut}), summary="Read a release")
def release_read(request, release_id: Id):
    release = release_for(request, release_id)
    counts = dict(release.items.order_by().values_list("status").annotate(n=Count("pk")))
    return release_out(release, by_status={s: counts.get(s, 0) for s in ReleaseItem.Status.values})


def _template_version(data: ReleaseIn) -> TemplateVersion:
    template = ChecklistTemplate.objects.filter(name=data.template).first()
    if template is None:
        raise ApiError(400, "invalid", f"No template named “{data.template}”.", {"field": "template"})
    versions = template.versions.order_by("-number")
    version = versions.filter(number=data.template_version).first() if data.template_version else versions.first()
    if version is None:
        raise ApiError(400, "invalid", f"{template.name} has no version {data.template_version}.",
                       {"field": "template_version"})
    return version


@router.post("/releases", response=responses({201: ReleaseOut}),
             summary="Create a release from a template (release managers); honours Idempotency-Key")
def release_create_view(request, data: ReleaseIn):
    permissions.require_create_release(request.user)

    def create():
        template_version = _template_version(data)
        manager = request.user
        if data.release_manager:
            manager = get_user_model().objects.filter(username=data.release_manager, is_active=True).first()
            if manager is None or not permissions.can_create_release(manager):
                raise ApiError(400, "invalid", f"{data.release_manager} is not a release manager.",
                               {"field": "release_manager"})
        existing = Release.objects.filter(service=data.service.strip(), version=data.version.strip(),
                                          environment=data.environment.strip()).first()
        if existing is not None:
            raise ApiError(409, "exists", f"{existing} has a release already (id {existing.pk}).",
                           {"id": existing.pk} if permissions.visible_releases(request.user)
                           .filter(pk=existing.pk).exists() else None)
        with audited(request):
            release = release_create(template_version=template_version, service=data.service,
                                     version=data.version, environment=data.environment,
                                     target_date=data.target_date, release_manager=manager, by=request.user,
                                     description=data.description)
        return 201, ReleaseOut.model_validate(release_out(release_for(request, release.pk))).model_dump(mode="json")

    return Status(*idempotency.run(request, create))
