"""Sign-off and waiver views (reports have theirs in reports/views.py). Small functions: permissions
come from checklists.permissions, state changes from the services. An htmx request gets the panel
fragment back, a plain form post a redirect to the full sign-off page, so every action works without
JavaScript."""
import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from checklists import permissions
from checklists.models import Release, Report, Role, Team, TemplateSection, Waiver
from checklists.signoff.review import release_review
from checklists.signoff import services as signoff, waivers
from readiness import jobs

PANEL = "signoff/page.html#panel"
REPORTS = "signoff/page.html#reports"  # the archived reports: polled while one is pending


def _reports_context(request, release: Release) -> dict:
    """The report list. Costs one query (none for someone who may not read reports)."""
    readable = permissions.can_read_reports(request.user)
    archived = list(release.reports.select_related("requested_by")[:20]) if readable else []
    return {
        "release": release,
        "can_read_reports": readable,
        "reports": archived,
        "polling": any(r.state == Report.State.PENDING for r in archived),
    }


def blocker_groups(release: Release, blockers) -> list[dict]:
    """Blockers grouped by owning team, then section, in checklist order: what each team must do.
    Costs one query."""
    rows = blockers.incomplete + blockers.stale
    if not rows:
        return []
    items = {item.pk: item for item in release.items.filter(pk__in=[b.item_id for b in rows])
             .select_related("section", "owner_team").only("pk", "order", "section__title", "owner_team__name")}
    groups: dict[str, dict] = {}
    for kind, entries in (("incomplete", blockers.incomplete), ("stale", blockers.stale)):
        for blocker in entries:
            item = items[blocker.item_id]
            team = item.owner_team.name if item.owner_team else "No team"
            group = groups.setdefault(team, {"team": team, "sections": {}, "count": 0})
            group["sections"].setdefault(item.section.title, []).append(
                {"blocker": blocker, "kind": kind, "order": item.order})
            group["count"] += 1
    result = sorted(groups.values(), key=lambda g: (g["team"] == "No team", -g["count"], g["team"]))
    for group in result:
        group["sections"] = sorted(group["sections"].items(), key=lambda kv: min(e["order"] for e in kv[1]))
    return result


def _panel_context(request, release: Release) -> dict:
    user = request.user
    in_signoff = release.state in signoff.SIGNOFF_STATES
    can_manage = permissions.can_manage_signoff(user, release)
    blockers = None if in_signoff else signoff.signoff_blockers(release)
    return {
        "release": release,
        "rows": signoff.requirement_rows(release, user, with_eligibility=can_manage),
        "overrides": release.overrides.select_related("item", "by").order_by("created_at"),
        "blockers": blockers,
        "blocker_groups": blocker_groups(release, blockers) if blockers else [],
        "can_manage": can_manage,
        "editable": release.state in signoff.OPENABLE_STATES,
        **_reports_context(request, release),
        "waivers": Waiver.objects.filter(item__release=release).select_related("item", "requested_by", "decided_by"),
        "roles": Role.choices,
        "teams": Team.objects.all(),
        "sections": TemplateSection.objects.filter(version_id=release.template_version_id, level=2),
        "user_can_decide_waivers": Role.APPROVER in permissions.roles_of(user)
        or permissions.can_manage_release(user, release),
    }


def _respond(request, release: Release, *, status=200):
    """After an action: the panel for htmx, the full page otherwise."""
    if request.htmx:
        release.refresh_from_db()
        return render(request, PANEL, _panel_context(request, release), status=status)
    return redirect("signoff-detail", release.pk)


def _fail(request, release, error) -> HttpResponse:
    blockers = getattr(error, "blockers", None)
    # The blockers themselves are listed in the panel, as links grouped by team and section.
    messages.error(request, f"{error} The list below links to each item." if blockers else str(error))
    # htmx swaps only 2xx responses by default: the panel carries the messages, with a 200.
    return _respond(request, release)


@require_GET
@login_required
def signoff_detail(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    return render(request, "signoff/page.html", {**_panel_context(request, release),
                                                 "review": release_review(release)})


@require_GET
@login_required
def signoff_panel(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    return render(request, PANEL, _panel_context(request, release))


@require_POST
@login_required
def signoff_open(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    permissions.require_manage_signoff(request.user, release, "opens sign-off")
    try:
        signoff.signoff_open(release=release, by=request.user)
    except signoff.SignoffError as error:
        return _fail(request, release, error)
    messages.success(request, "Sign-off is open; the approvers have been told.")
    return _respond(request, release)


@require_POST
@login_required
def signoff_reopen(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    permissions.require_manage_signoff(request.user, release, "reopens it")
    try:
        signoff.signoff_reopen(release=release, by=request.user, reason=request.POST.get("reason", ""))
    except signoff.SignoffError as error:
        return _fail(request, release, error)
    messages.success(request, "The release is reopened; every standing decision is superseded.")
    return _respond(request, release)


def _requirement_fields(request, release):
    role = request.POST.get("role", "")
    if role and role not in Role.values:
        role = "__invalid__"
    team = Team.objects.filter(pk=request.POST.get("team") or None).first()
    section_ids = [s for s in request.POST.getlist("sections") if s.isdigit()]
    sections = list(TemplateSection.objects.filter(pk__in=section_ids, version_id=release.template_version_id))
    return {"name": request.POST.get("name", ""), "role": role, "team": team, "sections": sections}


@require_POST
@login_required
def requirement_create(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    permissions.require_manage_signoff(request.user, release, "edits its sign-off requirements")
    fields = _requirement_fields(request, release)
    if fields["role"] == "__invalid__":
        return _fail(request, release, "Unknown role.")
    try:
        signoff.requirement_create(release=release, by=request.user, **fields)
    except signoff.SignoffError as error:
        return _fail(request, release, error)
    return _respond(request, release)


def _requirement_to_edit(request, pk, requirement_pk):
    requirement = permissions.get_requirement_for_user(request.user, pk, requirement_pk)
    permissions.require_manage_signoff(request.user, requirement.release, "edits its sign-off requirements")
    return requirement, requirement.release


@require_POST
@login_required
def requirement_update(request, pk, requirement_pk):
    requirement, release = _requirement_to_edit(request, pk, requirement_pk)
    fields = _requirement_fields(request, release)
    if fields["role"] == "__invalid__":
        return _fail(request, release, "Unknown role.")
    try:
        signoff.requirement_update(requirement=requirement, by=request.user, **fields)
    except signoff.SignoffError as error:
        return _fail(request, release, error)
    return _respond(request, release)


@require_POST
@login_required
def requirement_delete(request, pk, requirement_pk):
    requirement, release = _requirement_to_edit(request, pk, requirement_pk)
    try:
        signoff.requirement_delete(requirement=requirement, by=request.user)
    except signoff.SignoffError as error:
        return _fail(request, release, error)
    return _respond(request, release)


@require_POST
@login_required
def requirement_decide(request, pk, requirement_pk):
    requirement = permissions.get_requirement_for_user(request.user, pk, requirement_pk)
    release = requirement.release
    if not permissions.holds_requirement(request.user, requirement):
        raise PermissionDenied("You are not a member of the team or holder of the role this requirement asks for.")
    try:
        approval = signoff.approval_decide(requirement=requirement, by=request.user,
                                           decision=request.POST.get("decision", ""),
                                           comment=request.POST.get("comment", ""))
    except signoff.SignoffError as error:
        return _fail(request, release, error)
    messages.success(request, f"{requirement.name}: {approval.get_decision_display().lower()}.")
    return _respond(request, release)


# --- Waivers ----------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@login_required
def waiver_create(request, pk, item_pk):
    item = permissions.get_item_for_user(request.user, pk, item_pk, for_change=True)
    error = ""
    if request.method == "POST":
        try:
            expires_on = datetime.date.fromisoformat(request.POST.get("expires_on", ""))
        except ValueError:
            error = "Give the expiry date as YYYY-MM-DD."
        else:
            try:
                waivers.waiver_request(item=item, by=request.user, justification=request.POST.get("justification", ""),
                                       expires_on=expires_on)
            except waivers.WaiverError as exc:
                error = str(exc)
            else:
                messages.success(request, "Waiver requested; the release manager has been told.")
                return redirect("signoff-detail", item.release_id)
    return render(request, "signoff/waiver_form.html", {"item": item, "release": item.release, "error": error,
                                                        "data": request.POST}, status=400 if error else 200)


@require_POST
@login_required
def waiver_decide(request, waiver_pk):
    waiver = permissions.get_waiver_for_user(request.user, waiver_pk)
    release = waiver.item.release
    if not permissions.can_decide_waiver(request.user, waiver):
        raise PermissionDenied("A waiver is decided by the release's manager or an approver, not its requester.")
    decision = request.POST.get("decision")
    from_mine = request.POST.get("next") == "mine"
    error = "" if decision in ("grant", "refuse") else "Choose grant or refuse."
    if not error:
        try:
            waivers.waiver_decide(waiver=waiver, by=request.user, grant=decision == "grant",
                                  comment=request.POST.get("comment", ""))
        except waivers.WaiverError as exc:
            error = str(exc)
    if error and from_mine:  # stay on "Approvals & waivers", with the error beside the waiver
        return render(request, "signoff/my.html", {**_my_approvals_context(request.user),
                                                   "waiver_error": (waiver.pk, error)}, status=400)
    if error:
        return _fail(request, release, error)
    verb = "granted" if decision == "grant" else "refused"
    messages.success(request, f"Waiver {verb} for “{_plain(waiver.item.text)}” ({release}).")
    if from_mine:
        return redirect("my-approvals")
    return _respond(request, release)


def _plain(text: str) -> str:
    from checklists.templatetags.readiness import plain_text

    return plain_text(text)


@require_POST
@login_required
def waiver_revoke(request, waiver_pk):
    waiver = permissions.get_waiver_for_user(request.user, waiver_pk)
    release = waiver.item.release
    if not permissions.can_revoke_waiver(request.user, waiver):
        raise PermissionDenied("Only the release's manager revokes a waiver.")
    try:
        waivers.waiver_revoke(waiver=waiver, by=request.user)
    except waivers.WaiverError as error:
        return _fail(request, release, error)
    return _respond(request, release)


# --- My approvals & waivers -------------------------------------------------------------------------
@require_GET
@login_required
def my_approvals(request):
    return render(request, "signoff/my.html", _my_approvals_context(request.user))


def _my_approvals_context(user) -> dict:
    visible = permissions.visible_releases(user)
    to_decide = [w for w in Waiver.objects.filter(state=Waiver.State.REQUESTED, item__release__in=visible)
                 .select_related("item__release", "requested_by") if permissions.can_decide_waiver(user, w)]
    mine = (Waiver.objects.filter(requested_by=user).select_related("item__release", "decided_by")
            .order_by("-requested_at")[:50])
    return {"pending": signoff.pending_for_user(user), "waivers_to_decide": to_decide, "my_waivers": mine}
