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

from checklists import permissions, selectors
from checklists.forms import ReleaseCreateForm, SectionItemsForm
from checklists.models import ReleaseItem, Team, TemplateSection
from checklists.services.items import KEEP, ItemError, items_bulk_update
from checklists.services.releases import ReleaseError, release_create

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
    form = ReleaseCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            release = release_create(
                template_version=data["template_version"], service=data["service"], version=data["version"],
                environment=data["environment"], target_date=data["target_date"],
                release_manager=data["release_manager"] or request.user, by=request.user,
                description=data["description"],
            )
        except ReleaseError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Release {release} created with {release.items.count()} items.")
            return redirect("release-detail", pk=release.pk)
    status = 400 if form.errors else 200
    return render(request, "checklists/release_form.html", {"form": form}, status=status)


@require_GET
@login_required
def release_detail(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    filters = selectors.ItemFilters.from_query(request.GET)
    roots, nodes = selectors.section_tree(release)
    # A page of rows at a time, in checklist order: the page costs the same whatever the release's size.
    page = Paginator(filters.apply(selectors.release_items(release), request.user),
                     settings.READINESS_RELEASE_PAGE_ITEMS).get_page(request.GET.get("page"))
    for item in page.object_list:
        _prepare_row(request.user, item, release)
        nodes[item.section_id].items.append(item)
    today = timezone.localdate()
    return render(request, "checklists/release_detail.html", {
        "release": release, "sections": roots, "filters": filters, "today": today,
        "page": page, "query": _query_without(request, "page"),
        "totals": selectors.release_totals(nodes), "counts": selectors.release_counts(release, today=today),
        "statuses": ReleaseItem.Status.choices, "teams": Team.objects.order_by("name"),
        "assignees": get_user_model().objects.filter(assigned_items__release=release).distinct()
                                            .order_by("username"),
        "can_manage": permissions.can_manage_release(request.user, release),
        "cursor": _cursor(timezone.now() - LIVE_MARGIN),
    })


@require_http_methods(["GET", "POST"])
@login_required
def section_update(request, pk, section_pk):
    """Set the owner team, assignee or due date of every item of a section (and its subsections) at
    once: for the release's manager. Items changed since the form was loaded are reported, not touched."""
    release = permissions.get_release_for_user(request.user, pk)
    section = get_object_or_404(TemplateSection, pk=section_pk, version_id=release.template_version_id)
    permissions.require_manage_release(request.user, release)
    items = list(selectors.section_items(release, section))
    form = SectionItemsForm(request.POST or None, items=items, teams=Team.objects.order_by("name"),
                            assignees=permissions.assignable_users(request.user, items[0]) if items else [])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = items_bulk_update(release=release, versions=data["versions"], by=request.user,
                                       owner_team=data["owner_team"], assignee=data["assignee"],
                                       due_date=data["due_date"])
        except ItemError as error:
            form.add_error(None, str(error))
        else:
            _bulk_messages(request, section, result, _bulk_summary(data))
            return redirect(reverse("release-detail", args=[release.pk]) + f"#section-{section.pk}")
    template = "checklists/section_form.html" + ("#form" if request.htmx else "")
    return render(request, template, {"release": release, "section": section, "items": items, "form": form},
                  status=400 if form.errors else 200)


def _bulk_summary(data) -> str:
    parts = []
    if data["owner_team"] is not KEEP:
        parts.append(f"owner team → {data['owner_team'].name if data['owner_team'] else 'no team'}")
    if data["assignee"] is not KEEP:
        person = data["assignee"]
        parts.append(f"assignee → {(person.get_full_name() or person.get_username()) if person else 'unassigned'}")
    if data["due_date"] is not KEEP:
        parts.append(f"due date → {data['due_date'].isoformat() if data['due_date'] else 'none'}")
    return ", ".join(parts)


def _bulk_messages(request, section, result, summary):
    title = section.title
    if result.changed:
        messages.success(request, f"{title}: {len(result.changed)} item{'s' if len(result.changed) != 1 else ''} "
                                  f"changed ({summary})"
                                  f"{f', {len(result.unchanged)} already had those values' if result.unchanged else ''}.")
    elif not result.conflicts:
        messages.info(request, f"{title}: nothing to change, every item already had those values.")
    if result.conflicts:
        shown = result.conflicts[:10]
        details = "; ".join(f"“{c.item.text[:50]}” ({c.changed_by}, {c.changed_at:%H:%M:%S})" if c.changed_at
                            else f"“{c.item.text[:50]}” ({c.changed_by})" for c in shown)
        more = f" and {len(result.conflicts) - len(shown)} more" if len(result.conflicts) > len(shown) else ""
        messages.warning(request, f"{len(result.conflicts)} item{'s were' if len(result.conflicts) != 1 else ' was'} "
                                  f"changed by someone else after you opened the form and left as they are: "
                                  f"{details}{more}. Review them and try again.")


def _prepare_row(user, item, release):
    """What a row needs beyond the item: no queries (roles and teams are cached on the user)."""
    item.release = release
    item.can_change = permissions.can_change_item(user, item)


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
    return render(request, "checklists/team_rollup.html", {"rows": selectors.team_rollup(request.user)})
