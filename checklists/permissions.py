"""Who may see and change what. Every view fetches objects through these helpers.

Rules: an admin (superuser or admin role) does everything; an auditor reads everything and changes
nothing; release managers and approvers see every release; a release manager changes everything on
the releases they manage; an engineer sees releases where one of their teams owns an item or an item
is assigned to them, and changes those items only. A user may not see → 404; may see, not change → 403.
"""
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from checklists.models import Membership, Release, ReleaseItem, Role

_READ_ALL = {Role.ADMIN, Role.AUDITOR, Role.RELEASE_MANAGER, Role.APPROVER}


def roles_of(user) -> set[str]:
    """The roles a user holds in any team; cached on the user object (one query per request, shared
    with team_ids_of)."""
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_readiness_roles"):
        roles = {role for _team, role in memberships_of(user)}
        if user.is_superuser:
            roles.add(Role.ADMIN)
        user._readiness_roles = roles
    return user._readiness_roles


def team_ids_of(user) -> set[int]:
    if not hasattr(user, "_readiness_team_ids"):
        user._readiness_team_ids = {team for team, _role in memberships_of(user)}
    return user._readiness_team_ids


def memberships_of(user) -> set[tuple[int, str]]:
    """(team id, role) pairs: a role counts only in the team it was granted in. Cached per request."""
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_readiness_memberships"):
        user._readiness_memberships = set(Membership.objects.filter(user=user).values_list("team_id", "role"))
    return user._readiness_memberships


def teams_with_role(user, role: str) -> set[int]:
    return {team for team, held in memberships_of(user) if held == role}


def is_admin(user) -> bool:
    return Role.ADMIN in roles_of(user)


def reads_everything(user) -> bool:
    return bool(roles_of(user) & _READ_ALL)


def visible_releases(user):
    """Releases the user may see, as a queryset."""
    if reads_everything(user):
        return Release.objects.all()
    if not user.is_authenticated:
        return Release.objects.none()
    # EXISTS per release rather than IN over every item touching the user: a page that asks for a
    # few releases (one release, the open ones) probes those, not all of the user's items.
    touching = ReleaseItem.objects.filter(Q(owner_team__in=team_ids_of(user)) | Q(assignee=user),
                                          release=OuterRef("pk"))
    return Release.objects.filter(Exists(touching))


def get_release_for_user(user, pk, **annotations) -> Release:
    """The release, if the user may see it (404 otherwise). `annotations` are read in the same query."""
    try:
        return (visible_releases(user).select_related("template_version__template", "release_manager")
                .annotate(**annotations).get(pk=pk))
    except Release.DoesNotExist:
        raise Http404("No such release.") from None


def can_manage_release(user, release: Release) -> bool:
    roles = roles_of(user)
    if Role.ADMIN in roles:
        return True
    return Role.RELEASE_MANAGER in roles and release.release_manager_id == user.pk


def can_create_release(user) -> bool:
    return bool(roles_of(user) & {Role.ADMIN, Role.RELEASE_MANAGER})


def can_change_item(user, item: ReleaseItem) -> bool:
    """The release's manager; an engineer of the item's owning team (the role paired with that team,
    not held in some other one); an engineer the item is assigned to."""
    if can_manage_release(user, item.release):
        return True
    engineer_in = teams_with_role(user, Role.ENGINEER)
    if not engineer_in:
        return False
    return item.assignee_id == user.pk or item.owner_team_id in engineer_in


def get_item_for_user(user, release_pk, item_pk, *, for_change=False, rows=None) -> ReleaseItem:
    """The item, if the user may see it (and change it, `for_change`); 404 or 403 otherwise. `rows`
    (release -> a queryset of its items) reads the item with what the caller needs, in the same query."""
    release = get_release_for_user(user, release_pk)
    items = rows(release) if rows else release.items
    try:
        item = items.select_related("owner_team", "assignee", "section").get(pk=item_pk)
    except ReleaseItem.DoesNotExist:
        raise Http404("No such item.") from None
    item.release = release
    if for_change:
        require_change(user, item)
    return item


# --- Sign-off, waivers and reports ---------------------------------------------------------------
# Deciding a requirement is never an admin override: an approval is a statement by a named person
# who holds the required team or role, so admins approve only when they hold it too.
_REPORT_READERS = {Role.ADMIN, Role.AUDITOR, Role.RELEASE_MANAGER, Role.APPROVER}


def can_manage_signoff(user, release: Release) -> bool:
    """Open and reopen sign-off, edit requirements: the release's own manager (or an admin)."""
    return can_manage_release(user, release)


def require_manage_signoff(user, release: Release, what: str) -> None:
    if not can_manage_signoff(user, release):
        raise PermissionDenied(f"Only the release's manager {what}.")


def holds_requirement(user, requirement) -> bool:
    """Whether the user is someone the requirement asks for: a member of its team (with its role, if
    it names one), or a holder of its role in any team. Auditors never hold a requirement. Uses the
    request's cached memberships: no query."""
    if not user.is_authenticated:
        return False
    return any(role != Role.AUDITOR
               and (not requirement.team_id or team == requirement.team_id)
               and (not requirement.role or role == requirement.role)
               for team, role in memberships_of(user))


def requirement_holders(requirement):
    """Everyone active the requirement asks for (the same rule as holds_requirement), as a queryset."""
    from django.contrib.auth import get_user_model

    memberships = Membership.objects.exclude(role=Role.AUDITOR)
    if requirement.team_id:
        memberships = memberships.filter(team_id=requirement.team_id)
    if requirement.role:
        memberships = memberships.filter(role=requirement.role)
    return (get_user_model().objects.filter(is_active=True, pk__in=memberships.values("user_id"))
            .order_by("username"))


def can_decide_waiver(user, waiver) -> bool:
    """The release's manager or an approver decides a waiver, never the person who asked for it."""
    if not user.is_authenticated or waiver.requested_by_id == user.pk:
        return False
    return can_manage_release(user, waiver.item.release) or Role.APPROVER in roles_of(user)


def can_revoke_waiver(user, waiver) -> bool:
    return can_manage_release(user, waiver.item.release)


def can_read_reports(user) -> bool:
    """Download reports and evidence bundles: auditors, release managers, approvers and admins."""
    return bool(roles_of(user) & _REPORT_READERS)


def get_requirement_for_user(user, release_pk, requirement_pk):
    release = get_release_for_user(user, release_pk)
    try:
        requirement = release.requirements.select_related("team").get(pk=requirement_pk)
    except ObjectDoesNotExist:
        raise Http404("No such sign-off requirement.") from None
    requirement.release = release
    return requirement


def get_waiver_for_user(user, waiver_pk):
    from checklists.models import Waiver

    try:
        waiver = Waiver.objects.select_related("item__release", "requested_by", "decided_by").get(pk=waiver_pk)
    except Waiver.DoesNotExist:
        raise Http404("No such waiver.") from None
    if not visible_releases(user).filter(pk=waiver.item.release_id).exists():
        raise Http404("No such waiver.")
    return waiver


def get_report_for_user(user, report_pk):
    from checklists.models import Report

    try:
        report = Report.objects.select_related("release").get(pk=report_pk)
    except Report.DoesNotExist:
        raise Http404("No such report.") from None
    if not visible_releases(user).filter(pk=report.release_id).exists():
        raise Http404("No such report.")
    if not can_read_reports(user):
        raise PermissionDenied("Reports are for auditors, release managers and approvers.")
    return report


def can_comment_on_item(user, item: ReleaseItem) -> bool:
    """Whoever may change the item, and approvers, who ask questions before they sign."""
    return can_change_item(user, item) or Role.APPROVER in roles_of(user)


def require_change(user, item: ReleaseItem) -> None:
    if not can_change_item(user, item):
        raise PermissionDenied("You may not change this item: it belongs to another team and is not assigned to you.")


def require_comment(user, item: ReleaseItem) -> None:
    if not can_comment_on_item(user, item):
        raise PermissionDenied("You may not comment on this item.")


def require_manage_release(user, release: Release) -> None:
    if not can_manage_release(user, release):
        raise PermissionDenied("Only the release manager of this release (or an admin) changes many items at once.")


def require_create_release(user) -> None:
    if not can_create_release(user):
        raise PermissionDenied("Only release managers and admins create releases.")


def assignable_users(by, item: ReleaseItem):
    """People `by` may assign the item to, and only people who could then act on it: engineers, admins
    and the release's own manager (approvers and auditors change no item). For release managers and
    admins, any of those; for an engineer, the engineers of the item's owning team (and themselves)."""
    from django.contrib.auth import get_user_model

    # Only people who can then act on the item: engineers (and release managers, who change everything).
    users = get_user_model().objects.filter(is_active=True)
    if can_manage_release(by, item.release):
        can_act = (Q(memberships__role__in=[Role.ENGINEER, Role.RELEASE_MANAGER, Role.ADMIN])
                   | Q(is_superuser=True) | Q(pk=item.release.release_manager_id))
        return users.filter(can_act).distinct().order_by("username")
    return users.filter(Q(memberships__team=item.owner_team_id, memberships__role=Role.ENGINEER)
                        | Q(pk=by.pk)).distinct().order_by("username")


def can_assign_to(by, item: ReleaseItem, assignee) -> bool:
    if assignee is None:
        return can_change_item(by, item)
    return can_change_item(by, item) and assignable_users(by, item).filter(pk=assignee.pk).exists()


def item_filter_for(user) -> Q:
    """Items a user works on: assigned to them, or owned by a team they are an engineer in."""
    return Q(assignee=user) | Q(owner_team__in=teams_with_role(user, Role.ENGINEER))
