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
    if for_change:
        require_change(user, item)
    return item



def can_comment_on_item(user, item: ReleaseItem) -> bool:
    """Whoever may change the item, and approvers, who ask questions before they sign."""
    return can_change_item(user, item) or Role.APPROVER in roles_of(user)


def require_change(user, item: ReleaseItem) -> None:
    if not can_change_item(user, item):
        raise PermissionDenied("You may not change this item: it belongs to another team and is not assigned to you.")


def require_comment(user, item: ReleaseItem) -> None:
    if not can_comment_on_item(user, item):
        raise PermissionDenied("You may not comment on this item.")


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
