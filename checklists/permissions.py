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
        _load_memberships(user)
    return user._readiness_roles


def team_ids_of(user) -> set[int]:
    if not hasattr(user, "_readiness_team_ids"):
        _load_memberships(user)
    return user._readiness_team_ids


def _load_memberships(user) -> None:
    """Roles and team ids from one read of the user's memberships."""
    rows = list(Membership.objects.filter(user=user).values_list("role", "team_id")) if user.is_authenticated else []
    roles = {role for role, _ in rows}
    if user.is_superuser:
        roles.add(Role.ADMIN)
    user._readiness_roles = roles
    user._readiness_team_ids = {team_id for _, team_id in rows}


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


def get_release_for_user(user, pk) -> Release:
    try:
        return visible_releases(user).select_related("template_version__template", "release_manager").get(pk=pk)
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
    if can_manage_release(user, item.release):
        return True
    roles = roles_of(user)
    if Role.ENGINEER not in roles:
        return False
    return item.assignee_id == user.pk or item.owner_team_id in team_ids_of(user)


def get_item_for_user(user, release_pk, item_pk, *, for_change=False) -> ReleaseItem:
    release = get_release_for_user(user, release_pk)
    try:
        item = release.items.select_related("owner_team", "assignee", "section").get(pk=item_pk)
    except ReleaseItem.DoesNotExist:
        raise Http404("No such item.") from None
    item.release = release
    if for_change:
        require_change(user, item)
    return item


# --- probes and clusters ------------------------------------------------------------------------
def can_run_probes(user, release: Release) -> bool:
    """Its release manager and admins; engineers of a team owning one of its probe-bound items."""
    if can_manage_release(user, release):
        return True
    if Role.ENGINEER not in roles_of(user):
        return False
    return release.items.exclude(probe_id="").filter(owner_team__in=team_ids_of(user)).exists()


def can_see_clusters(user) -> bool:
    """Anyone holding a role sees the clusters (names and reachability, never credentials)."""
    return bool(roles_of(user))


def can_manage_clusters(user) -> bool:
    return is_admin(user)


def get_probe_run_for_user(user, release_pk, run_pk):
    from probes.models import ProbeRun

    release = get_release_for_user(user, release_pk)
    try:
        run = release.probe_runs.select_related("cluster", "requested_by").get(pk=run_pk)
    except ProbeRun.DoesNotExist:
        raise Http404("No such probe run.") from None
    run.release = release
    return run


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
    it names one), or a holder of its role in any team. Auditors never hold a requirement."""
    if not user.is_authenticated:
        return False
    memberships = Membership.objects.filter(user=user).exclude(role=Role.AUDITOR)
    if requirement.team_id:
        memberships = memberships.filter(team_id=requirement.team_id)
    if requirement.role:
        memberships = memberships.filter(role=requirement.role)
    return memberships.exists()


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
    """People `by` may assign the item to: anyone in a team for release managers and admins; for an
    engineer, the members of the item's owning team (and themselves)."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True)
    if can_manage_release(by, item.release):
        return users.filter(memberships__isnull=False).distinct().order_by("username")
    return users.filter(Q(memberships__team=item.owner_team_id) | Q(pk=by.pk)).distinct().order_by("username")


def can_assign_to(by, item: ReleaseItem, assignee) -> bool:
    if assignee is None:
        return can_change_item(by, item)
    return can_change_item(by, item) and assignable_users(by, item).filter(pk=assignee.pk).exists()


def item_filter_for(user) -> Q:
    """Items a user works on: assigned to them, or owned by one of their teams."""
    return Q(assignee=user) | Q(owner_team__in=team_ids_of(user))
