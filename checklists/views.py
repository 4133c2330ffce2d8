"""Pages across releases: the dashboard, creating a release, the release page and its live changes,
"my items" and the team rollup. Item endpoints are in item_views."""
import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from checklists import charts, permissions, selectors
from checklists.bulk_views import bulk_assignees
from checklists.forms import BulkItemsForm, ReleaseCreateForm, format_versions
from checklists.models import ReleaseItem, Team, TemplateSection
from checklists.services.releases import ReleaseError, release_create, release_create_from

DASHBOARD_PAGE_SIZE = 50
WORK_PAGE_SIZE = 100
# The live view's cursor trails the clock by this much so that a change whose transaction commits
# shortly after a poll is still picked up by the next one (rows may be sent twice; swaps are idempotent).
LIVE_MARGIN = datetime.timedelta(seconds=2)


@require_GET
@login_required
def dashboard(request):
    filters = selectors.ReleaseFilters.from_query(request.GET)
    page = Paginator(selectors.dashboard_releases(request.user, filters), DASHBOARD_PAGE_SIZE) \
        .get_page(request.GET.get("page"))
    for release in page:
        release.progress = selectors.percent(release.item_complete, release.item_total)
    return render(request, "checklists/dashboard.html", {
        "page": page, "releases": page.object_list, "filters": filters,
        "choices": selectors.dashboard_choices(request.user),
        "can_create": permissions.can_create_release(request.user),
        "query": _query_without(request, "page"),
        "blocker_trend": charts.blocker_trend_svg(selectors.filtered_releases(request.user, filters)),
    })


def _query_without(request, *names) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@require_http_methods(["GET", "POST"])
@login_required
def release_create_view(request):
    permissions.require_create_release(request.user)
    previous = _previous_release(request)
    initial = {}
    if previous is not None:
        initial = {"template_version": previous.template_version_id, "service": previous.service,
                   "environment": previous.environment, "from_release": previous.pk}
    form = ReleaseCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if previous is not None:
                if data["service"].strip() != previous.service:
                    raise ReleaseError(f"A release started from {previous} is a release of {previous.service}.")
                release = release_create_from(previous=previous, version=data["version"],
                                              environment=data["environment"], target_date=data["target_date"],
                                              template_version=data["template_version"], by=request.user,
                                              description=data["description"])
            else:
                release = release_create(
                    template_version=data["template_version"], service=data["service"], version=data["version"],
                    environment=data["environment"], target_date=data["target_date"],
                    release_manager=data["release_manager"] or request.user, by=request.user,
                    description=data["description"],
                )
        except ReleaseError as error:
            form.add_error(None, str(error))
        else:
            carried = getattr(release, "carried_evidence", None)
            messages.success(request, f"Release {release} created with {release.items.count()} items"
                                      + (f", {carried} evidence carried from {previous}." if carried is not None
                                         else "."))
            return redirect("release-detail", pk=release.pk)
    status = 400 if form.errors else 200
    return render(request, "checklists/release_form.html", {"form": form, "previous": previous,
                  "carry_days": settings.READINESS_CARRY_EVIDENCE_DAYS}, status=status)


def _previous_release(request):
    """The release to start from (?from= or the form's from_release), if the user may see it."""
    raw = request.POST.get("from_release") or request.GET.get("from") or ""
    if not raw.isdigit():
        return None
    return permissions.get_release_for_user(request.user, int(raw))


@require_GET
@login_required
def release_detail(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    filters = selectors.ItemFilters.from_query(request.GET)
    roots, nodes = selectors.section_tree(release)
    shown = []
    for item in filters.apply(selectors.release_items(release), request.user):
        _prepare_row(request.user, item, release)
        nodes[item.section_id].items.append(item)
        shown.append(item)
    today = timezone.localdate()
    can_manage = permissions.can_manage_release(request.user, release)
    teams = Team.objects.order_by("name")
    return render(request, "checklists/release_detail.html", {
        "release": release, "sections": roots, "filters": filters, "today": today,
        "totals": selectors.release_totals(nodes), "counts": selectors.release_counts(release, today=today),
        "statuses": ReleaseItem.Status.choices, "teams": teams,
        "assignees": get_user_model().objects.filter(assigned_items__release=release).distinct()
                                            .order_by("username"),
        "can_manage": can_manage, "shown_count": len(shown),
        "can_create": permissions.can_create_release(request.user),
        "newer_version": release.template_version.template.versions.filter(
            number__gt=release.template_version.number).order_by("-number").first() if can_manage else None,
        "bulk_form": BulkItemsForm(teams=teams, assignees=bulk_assignees(request.user, release),
                                   initial={"shown": format_versions(shown)}) if can_manage and shown else None,
        "cursor": _cursor(timezone.now() - LIVE_MARGIN),
    })


def _prepare_row(user, item, release):
    """What a row needs beyond the item: no queries (roles and teams are cached on the user)."""
    item.release = release
    item.can_change = permissions.can_change_item(user, item)
    item.can_bulk = permissions.can_manage_release(user, release)


def _cursor(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@require_GET
@login_required
def release_changes(request, pk):
    """Polled by the open release page: the rows changed since the cursor, as out-of-band swaps, and
    the progress they moved. Answers 204 (no body, one query) when nothing changed."""
    try:
        since = datetime.datetime.fromtimestamp(int(request.GET["since"]) / 1_000_000, tz=datetime.UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        return HttpResponseBadRequest("since must be a cursor from the release page.")
    now = timezone.now()
    release, items = selectors.release_changes(request.user, pk, since)
    if release is None:
        raise Http404("No such release.")
    if not items:
        return HttpResponse(status=204)
    roots, nodes = selectors.section_tree(release)
    touched = {}
    for item in items:
        _prepare_row(request.user, item, release)
        node = nodes.get(item.section_id)
        while node is not None:
            touched[node.pk] = node
            node = nodes.get(node.section.parent_id)
    newest = max(item.changed_at for item in items)
    cursor = max(since, min(newest, now - LIVE_MARGIN))
    return render(request, "checklists/_changes.html", {
        "release": release, "items": items, "sections": touched.values(), "today": timezone.localdate(),
        "totals": selectors.release_totals(nodes), "counts": selectors.release_counts(release),
        "cursor": _cursor(cursor), "oob": True,
    })


@require_GET
@login_required
def my_items(request):
    """Open items assigned to the user or owned by one of their teams, across releases, soonest due first."""
    scope = request.GET.get("scope", "")
    items = selectors.work_items(request.user, only_open=request.GET.get("show") != "all")
    if scope == "assigned":
        items = items.filter(assignee=request.user)
    else:
        items = items.filter(permissions.item_filter_for(request.user))
    return _work_list(request, items, title="My items", scope=scope)


@require_GET
@login_required
def team_items(request, slug):
    team = get_object_or_404(Team, slug=slug)
    items = selectors.work_items(request.user, only_open=request.GET.get("show") != "all").filter(owner_team=team)
    if request.GET.get("overdue") == "1":
        items = items.filter(due_date__lt=timezone.localdate())
    if request.GET.get("blocking") == "1":
        items = items.filter(required=True, status=ReleaseItem.Status.FAILED)
    return _work_list(request, items, title=f"Open items of {team.name}", team=team)


def _work_list(request, items, **context):
    page = Paginator(items, WORK_PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page:
        item.can_change = permissions.can_change_item(request.user, item)
    return render(request, "checklists/work_list.html", {
        "page": page, "items": page.object_list, "today": timezone.localdate(),
        "query": _query_without(request, "page"), **context,
    })


@require_GET
@login_required
def team_rollup(request):
    return render(request, "checklists/team_rollup.html", {"rows": selectors.team_rollup(request.user),
                                                           "heatmap": charts.team_section_heatmap(request.user)})


@require_GET
@login_required
def release_burndown(request, pk):
    """The release's burndown as an SVG image (the release page shows it with an <img>)."""
    release = permissions.get_release_for_user(request.user, pk)
    response = HttpResponse(charts.burndown_svg(release), content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, no-cache"
    return response
