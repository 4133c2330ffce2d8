"""Teams and people, for admins: every page answers 404 to anyone else (they may not see it)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from checklists import permissions
from checklists.models import AuditEvent, Membership, Team
from people import services
from people.forms import GroupMappingForm, MembershipForm, ReassignForm, RoleForm, TeamForm
from people.models import GroupMapping


def _admin_only(request) -> None:
    if not permissions.is_admin(request.user):
        raise Http404("No such page.")


def _bad(request, form, template, context):
    return render(request, template, {**context, "form": form}, status=400)


@require_GET
@login_required
def team_list(request):
    _admin_only(request)
    teams = Team.objects.annotate(member_count=Count("memberships")).order_by("name")
    return render(request, "people/team_list.html", {"teams": teams, "form": TeamForm()})


@require_http_methods(["GET", "POST"])
@login_required
def team_create(request):
    _admin_only(request)
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                team = services.team_create(name=form.cleaned_data["name"], slug=form.cleaned_data["slug"],
                                            by=request.user)
            except services.PeopleError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Team {team} created.")
                return redirect("people:team-detail", team.slug)
        return _bad(request, form, "people/team_form.html", {})
    return render(request, "people/team_form.html", {"form": form})


@require_GET
@login_required
def team_detail(request, slug):
    _admin_only(request)
    team = get_object_or_404(Team, slug=slug)
    return render(request, "people/team_detail.html", _team_context(team, MembershipForm()))


def _team_context(team, form) -> dict:
    memberships = team.memberships.select_related("user").order_by("user__username")
    return {"team": team, "memberships": memberships, "form": form, "roles": RoleForm.base_fields["role"].choices,
            "mappings": team.group_mappings.order_by("group")}


@require_POST
@login_required
def membership_set(request, slug):
    """Add a member or change a member's role (the same form: a user and a role)."""
    _admin_only(request)
    team = get_object_or_404(Team, slug=slug)
    form = MembershipForm(request.POST)
    if form.is_valid():
        try:
            membership = services.membership_set_role(team=team, user=form.cleaned_data["user"],
                                                      role=form.cleaned_data["role"], by=request.user)
        except services.PeopleError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{membership.user.get_username()} is {membership.get_role_display().lower()} "
                                      f"in {team}.")
            return redirect("people:team-detail", team.slug)
    return render(request, "people/team_detail.html", _team_context(team, form), status=400)


@require_POST
@login_required
def membership_remove(request, slug, user_pk):
    _admin_only(request)
    team = get_object_or_404(Team, slug=slug)
    user = get_object_or_404(get_user_model(), pk=user_pk)
    try:
        services.membership_remove(team=team, user=user, by=request.user)
    except services.PeopleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{user.get_username()} removed from {team}.")
    return redirect("people:team-detail", team.slug)


@require_GET
@login_required
def user_list(request):
    _admin_only(request)
    q = request.GET.get("q", "").strip()[:100]
    users = get_user_model().objects.annotate(team_count=Count("memberships")).order_by("-is_active", "username")
    if q:
        users = users.filter(Q(username__icontains=q) | Q(email__icontains=q) | Q(first_name__icontains=q)
                             | Q(last_name__icontains=q))
    return render(request, "people/user_list.html", {"users": users[:500], "q": q})


@require_GET
@login_required
def user_detail(request, pk):
    _admin_only(request)
    person = get_object_or_404(get_user_model(), pk=pk)
    return render(request, "people/user_detail.html", _user_context(person, ReassignForm(exclude=person)))


def _user_context(person, form) -> dict:
    return {
        "person": person, "form": form,
        "memberships": person.memberships.select_related("team").order_by("team__name"),
        "identities": person.identities.order_by("issuer"),
        "assignments": services.open_assignments(person)[:200],
        "history": AuditEvent.objects.filter(actor=person).order_by("-id")[:20],
    }


@require_POST
@login_required
def user_deactivate(request, pk):
    _admin_only(request)
    person = get_object_or_404(get_user_model(), pk=pk)
    try:
        count = services.user_deactivate(user=person, by=request.user)
    except services.PeopleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{person.get_username()} is deactivated."
                         + (f" {count} open item(s) are still assigned to them: reassign them below." if count else ""))
    return redirect("people:user-detail", person.pk)


@require_POST
@login_required
def user_reactivate(request, pk):
    _admin_only(request)
    person = get_object_or_404(get_user_model(), pk=pk)
    try:
        services.user_reactivate(user=person, by=request.user)
    except services.PeopleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{person.get_username()} is active again.")
    return redirect("people:user-detail", person.pk)


@require_POST
@login_required
def user_reassign(request, pk):
    _admin_only(request)
    person = get_object_or_404(get_user_model(), pk=pk)
    form = ReassignForm(request.POST, exclude=person)
    if not form.is_valid():
        return render(request, "people/user_detail.html", _user_context(person, form), status=400)
    moved, skipped = services.assignments_reassign(user=person, to=form.cleaned_data["to"], by=request.user)
    to = form.cleaned_data["to"]
    messages.success(request, f"{moved} item(s) {'reassigned to ' + to.get_username() if to else 'unassigned'}."
                     + (f" Changed meanwhile, left as they were: {', '.join(skipped)}." if skipped else ""))
    return redirect("people:user-detail", person.pk)


@require_http_methods(["GET", "POST"])
@login_required
def group_mapping_list(request):
    _admin_only(request)
    form = GroupMappingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                mapping = services.group_mapping_create(by=request.user, **form.cleaned_data)
            except services.PeopleError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Group {mapping.group} now gives {mapping.get_role_display().lower()} "
                                          f"in {mapping.team} at the next sign-in.")
                return redirect("people:group-mapping-list")
        status = 400
    mappings = GroupMapping.objects.select_related("team").order_by("group", "team__name")
    sso_members = Membership.objects.filter(source=Membership.Source.SSO).count()
    return render(request, "people/group_mappings.html", {
        "mappings": mappings, "form": form, "sso_members": sso_members,
        "configured": settings.READINESS_OIDC_GROUP_MAP}, status=status)


@require_POST
@login_required
def group_mapping_delete(request, pk):
    _admin_only(request)
    mapping = get_object_or_404(GroupMapping.objects.select_related("team"), pk=pk)
    services.group_mapping_delete(mapping=mapping, by=request.user)
    messages.success(request, f"Mapping {mapping.group} → {mapping.team} removed; memberships it gave end at "
                              f"each member's next sign-in.")
    return redirect("people:group-mapping-list")
