"""Who may see and change what. Every view fetches objects through these helpers.

Rules: an admin (superuser or admin role) does everything; an auditor reads everything and changes
nothing; release managers and approvers see every release; a release manager changes everything on
the releases they manage; an engineer sees releases where one of their teams owns an item or an item
is assigned to them, and changes those items only. A user may not see → 404; may see, not change → 403.
"""
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from checklists.models import Membership, Release, ReleaseItem, Role

_READ_ALL = {Role.ADMIN, Role.AUDITOR, Role.RELEASE_MANAGER, Role.APPROVER}


def roles_of(user) -> set[str]:
    """The roles a user holds in any team; cached on the user object (one query per request)."""
    if not user.is_authenticated:
        return set()
    if not hasattr(user, "_readiness_roles"):
        roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
        if user.is_superuser:
            roles.add(Role.ADMIN)
        user._readiness_roles = roles
    return user._readiness_roles


def team_ids_of(user) -> set[int]:
    if not hasattr(user, "_readiness_team_ids"):
        user._readiness_team_ids = set(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    return user._readiness_team_ids


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
    touching = ReleaseItem.objects.filter(Q(owner_team__in=team_ids_of(user)) | Q(assignee=user))
    return Release.objects.filter(pk__in=touching.values("release_id"))


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
    if for_change and not can_change_item(user, item):
        raise PermissionDenied("You may not change this item.")
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
