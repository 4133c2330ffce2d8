"""Pages across releases: the dashboard, creating a release, the release page and its live changes,
"my items" and the team rollup. Item endpoints are in items.py."""
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

from checklists import charts, permissions, row_cache, selectors
from checklists.views.bulk import bulk_assignees
from checklists.forms import BulkItemsForm, ReleaseCreateForm, format_versions
from checklists.models import ReleaseItem, Team, TemplateSection
from checklists.services.releases import ReleaseError, release_create, release_create_from

DASHBOARD_PAGE_SIZE = 50
WORK_PAGE_SIZE = 100


@require_GET
@login_required
def dashboard(request):
    filters = selectors.ReleaseFilters.from_query(request.GET)
    page = Paginator(selectors.dashboard_releases(request.user, filters), DASHBOARD_PAGE_SIZE) \
        .get_page(request.GET.get("page"))
    releases = selectors.attach_progress(page.object_list)
    return render(request, "checklists/dashboard.html", {
        "page": page, "releases": releases, "filters": filters,
        "choices": selectors.dashboard_choices(request.user),
        "can_create": permissions.can_create_release(request.user),
        "query": _query_without(request, "page"),
        "blocker_trend": charts.blocker_trend_svg(_latest_releases(request.user, filters, page, releases)),
    })


def _latest_releases(user, filters, page, releases) -> list:
    """The newest releases the filters keep, with progress, for the blocker trend: the first page's
    own rows when it is the first page (it starts with them)."""
    if page.number == 1:
        return releases
    newest = selectors.dashboard_releases(user, filters)[:charts.TREND_RELEASES]
    return selectors.attach_progress(newest)


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
    """The release page. Rows of the first sections come with it (about ROW_BUDGET of them); every
    other section loads its rows when it scrolls into view (`?section=<id>`, as an htmx fragment), so
    the page costs the same for 200 items or 2,000. Without JavaScript the section's link leads to
    the page with that section's rows drawn."""
    # The live view's cursor is read with the release, before the items (see release_cursor), and so
    # is the newest version of its checklist, which a manager may move it to.
    release = permissions.get_release_for_user(request.user, pk, cursor=selectors.release_cursor(),
                                               newest_template_version=selectors.newest_template_version())
    filters = selectors.ItemFilters.from_query(request.GET)
    wanted = _section_param(request)
    if request.htmx and wanted is not None:
        return _section_rows(request, release, filters, wanted)
    today = timezone.localdate()
    roots, nodes = selectors.section_tree(release, today=today)
    items = filters.apply(selectors.release_items(release), request.user)
    matching = (selectors.section_matches(filters.apply(release.items.all(), request.user)) if filters.active
                else {node.pk: node.own for node in nodes.values()})
    drawn, budget = [], ROW_BUDGET
    for node in selectors.walk(roots):
        node.matching = matching.get(node.pk, 0)
        if node.matching and (node.matching <= budget or node.pk == wanted):
            drawn.append(node.pk)
            budget = max(0, budget - node.matching)
        elif node.matching:
            budget = 0  # sections keep their order: once one waits, the ones after it wait too
    for item in items.filter(section_id__in=drawn):
        _prepare_row(request.user, item, release)
        nodes[item.section_id].items.append(item)
    totals = selectors.release_totals(nodes)
    can_manage = permissions.can_manage_release(request.user, release)
    teams = Team.objects.order_by("name")
    # "Every item the filter shows", for the bulk form: ids and versions only, whatever is drawn yet.
    shown = (list(filters.apply(release.items.order_by("order"), request.user)
                  .values_list("pk", "version", named=True)) if can_manage else [])
    shown_count = sum(matching.values())
    sections_key = row_cache.sections_key(release=release, roots=roots, can_manage=can_manage, today=today,
                                          query=request.GET.urlencode(), shown_count=shown_count,
                                          total=totals["total"])
    return render(request, "checklists/release_detail.html", {
        "release": release, "sections": roots, "sections_key": sections_key, "filters": filters, "today": today,
        "totals": totals, "counts": totals,
        "statuses": ReleaseItem.Status.choices, "teams": teams,
        "assignees": get_user_model().objects.filter(assigned_items__release=release).distinct()
                                            .order_by("username"),
        "can_manage": can_manage, "shown_count": shown_count,
        "can_create": permissions.can_create_release(request.user),
        "newer_version": release.newest_template_version if can_manage else None,
        "bulk_form": BulkItemsForm(teams=teams, assignees=bulk_assignees(request.user, release),
                                   initial={"shown": format_versions(shown)}) if shown else None,
        "cursor": release.cursor,
    })


# Rows drawn with the release page itself; the rest load section by section.
ROW_BUDGET = 40


def _section_param(request) -> int | None:
    value = request.GET.get("section", "")
    return int(value) if value.isdigit() and len(value) < 18 else None


def _section_rows(request, release, filters, section_pk):
    """The rows of one section (not its subsections: they load on their own), filtered as the page."""
    section = get_object_or_404(TemplateSection, pk=section_pk, version_id=release.template_version_id)
    # A batch of rows at a time, however large the section: the next batch loads as this one ends.
    size = settings.READINESS_RELEASE_PAGE_ITEMS
    start = int(request.GET["from"]) if request.GET.get("from", "").isdigit() and len(request.GET["from"]) < 10 else 0
    rows = filters.apply(selectors.release_items(release), request.user).filter(section_id=section.pk)
    items = list(rows[start:start + size + 1])
    more = len(items) > size
    items = items[:size]
    for item in items:
        _prepare_row(request.user, item, release)
    return render(request, "checklists/_section_items.html", {
        "release": release, "section": section, "items": items, "today": timezone.localdate(),
        "next_from": start + size if more else None,
    })


def _prepare_row(user, item, release):
    """What a row needs beyond the item: no queries (roles and teams are cached on the user)."""
    item.release = release
    item.can_change = permissions.can_change_item(user, item)
    item.can_bulk = permissions.can_manage_release(user, release)


@require_GET
@login_required
def release_changes(request, pk):
    """Polled by the open release page with the cursor it was given (an audit event id): the rows
    changed since, as out-of-band swaps, the progress they moved and the next cursor. Answers 204 (no
    body, one query after the user's) when nothing changed."""
    since = request.GET.get("since", "")
    if not since.isdigit() or len(since) > 18:
        return HttpResponseBadRequest("since must be a cursor from the release page.")
    release, cursor, items = selectors.release_changes(request.user, pk, int(since))
    if release is None:
        raise Http404("No such release.")
    if cursor == int(since):
        return HttpResponse(status=204)
    today = timezone.localdate()
    roots, nodes = selectors.section_tree(release, today=today)
    touched = {}
    for item in items:
        _prepare_row(request.user, item, release)
        node = nodes.get(item.section_id)
        while node is not None:
            touched[node.pk] = node
            node = nodes.get(node.section.parent_id)
    totals = selectors.release_totals(nodes)
    return render(request, "checklists/_changes.html", {
        "release": release, "items": items, "sections": touched.values(), "today": today,
        "totals": totals, "counts": totals, "cursor": cursor, "oob": True,
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
    today = timezone.localdate()
    for item in page:
        item.can_change = permissions.can_change_item(request.user, item)
        item.overdue = item.is_overdue(today)
    return render(request, "checklists/work_list.html", {
        "page": page, "items": page.object_list, "today": today,
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
