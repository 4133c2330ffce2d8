"""Changing many items of a release at once: the rows ticked on the release page (or every row its
filter shows) and whole sections. All or nothing: when one item changed since the page was loaded,
nothing is saved and the page lists what conflicted, ready to apply again to the items as they are."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from checklists import permissions, selectors
from checklists.forms import BulkItemsForm, SectionItemsForm, format_versions
from checklists.models import ReleaseItem, Team, TemplateSection
from checklists.services.items import KEEP, ItemError, items_bulk_update

SHOWN_CONFLICTS = 20


def _back(request, release) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("release-detail", args=[release.pk])


def bulk_assignees(user, release):
    """People a bulk change may assign: those who could act on the release's items. Costs a query."""
    probe = ReleaseItem(release=release)
    return permissions.assignable_users(user, probe)


@require_POST
@login_required
def items_bulk(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    permissions.require_manage_release(request.user, release)
    form = BulkItemsForm(request.POST, teams=Team.objects.order_by("name"),
                         assignees=bulk_assignees(request.user, release))
    back = _back(request, release)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = items_bulk_update(release=release, versions=data["versions"], by=request.user,
                                       reason=data["reason"], **form.changes())
        except ItemError as error:
            form.add_error(None, str(error))
        else:
            if result.saved:
                messages.success(request, saved_message(result, summary(form.changes())))
                return redirect(back)
            return _bulk_page(request, release, form, data["versions"], back, conflicts=result.conflicts,
                              status=409)
    versions = form.cleaned_data.get("versions") or {}
    return _bulk_page(request, release, form, versions, back, status=400)


def _bulk_page(request, release, form, versions, back, *, conflicts=(), status):
    """The selection as it is now, the form as it was filled, and what stopped it."""
    items = list(release.items.filter(pk__in=list(versions)).select_related("owner_team", "assignee",
                                                                             "changed_by").order_by("order"))
    for item in items:  # after a conflict, apply again to the items as they are now
        item.form_version = item.version if conflicts else versions[item.pk]
    return render(request, "checklists/bulk_form.html", {
        "release": release, "form": form, "items": items, "conflicts": conflicts[:SHOWN_CONFLICTS],
        "more_conflicts": max(0, len(conflicts) - SHOWN_CONFLICTS), "conflict_count": len(conflicts),
        "back": back,
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def section_update(request, pk, section_pk):
    """Set the status, owner team, assignee or due date of every item of a section (and its
    subsections) at once, for the release's manager: "mark this section not applicable" with one
    reason is `status=not_applicable`."""
    release = permissions.get_release_for_user(request.user, pk)
    section = get_object_or_404(TemplateSection, pk=section_pk, version_id=release.template_version_id)
    permissions.require_manage_release(request.user, release)
    items = list(selectors.section_items(release, section))
    initial = {"status": request.GET.get("status", "")} if request.method == "GET" else None
    form = SectionItemsForm(request.POST or None, items=items, teams=Team.objects.order_by("name"),
                            assignees=bulk_assignees(request.user, release), initial=initial)
    status = 200
    conflicts = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = items_bulk_update(release=release, versions=data["versions"], by=request.user,
                                       reason=data["reason"], **form.changes())
        except ItemError as error:
            form.add_error(None, str(error))
        else:
            if result.saved:
                messages.success(request, f"{section.title}: " + saved_message(result, summary(form.changes())))
                return redirect(reverse("release-detail", args=[release.pk]) + f"#section-{section.pk}")
            conflicts, status = result.conflicts, 409
            # Offer to apply again to the items as they are now.
            form.data = form.data.copy()
            form.data["versions"] = format_versions(items)
    if form.errors:
        status = 400
    template = "checklists/section_form.html" + ("#form" if request.htmx else "")
    return render(request, template, {"release": release, "section": section, "items": items, "form": form,
                                      "prefix": f"bulk-{section.pk}",
                                      "conflicts": conflicts[:SHOWN_CONFLICTS], "conflict_count": len(conflicts),
                                      "more_conflicts": max(0, len(conflicts) - SHOWN_CONFLICTS)}, status=status)


def summary(changes: dict) -> str:
    parts = []
    if changes.get("status", KEEP) is not KEEP:
        parts.append(f"status → {ReleaseItem.Status(changes['status']).label}")
    if changes.get("owner_team", KEEP) is not KEEP:
        parts.append(f"owner team → {changes['owner_team'].name if changes['owner_team'] else 'no team'}")
    if changes.get("assignee", KEEP) is not KEEP:
        person = changes["assignee"]
        parts.append(f"assignee → {(person.get_full_name() or person.get_username()) if person else 'unassigned'}")
    if changes.get("due_date", KEEP) is not KEEP:
        parts.append(f"due date → {changes['due_date'].isoformat() if changes['due_date'] else 'none'}")
    return ", ".join(parts)


def saved_message(result, what: str) -> str:
    changed, unchanged = len(result.changed), len(result.unchanged)
    if not changed:
        return "nothing to change, every item already had those values."
    text = f"{changed} item{'s' if changed != 1 else ''} changed ({what})"
    if unchanged:
        text += f", {unchanged} already had those values"
    return text + "."
