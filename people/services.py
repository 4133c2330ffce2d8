"""Teams, memberships, accounts and the group mappings of single sign-on. Every change is audited.

Admins make these changes in the browser; `memberships_sync` makes them at every single sign-on,
as the system, from the groups the identity provider says the person is in.
"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from checklists import permissions
from checklists.audit import record
from checklists.models import Membership, ReleaseItem, Role, Team
from people.models import GroupMapping, Identity

# When several groups map a person to one team, the strongest role wins (a membership holds one role).
ROLE_STRENGTH = [Role.AUDITOR, Role.ENGINEER, Role.APPROVER, Role.RELEASE_MANAGER, Role.ADMIN]


class PeopleError(ValueError):
    """The change cannot be made as asked; the message says why."""


def _require_admin(by) -> None:
    if not permissions.is_admin(by):
        raise PermissionDenied("Only admins manage teams and people.")


def _membership_after(membership: Membership) -> dict:
    return {"user": membership.user.get_username(), "team": membership.team.slug, "role": membership.role,
            "source": membership.source}


@transaction.atomic
def team_create(*, name: str, slug: str = "", by) -> Team:
    _require_admin(by)
    name = name.strip()
    slug = slugify(slug or name)[:60]
    if not name or not slug:
        raise PeopleError("A team needs a name.")
    if Team.objects.filter(name__iexact=name).exists() or Team.objects.filter(slug=slug).exists():
        raise PeopleError(f"A team named {name} (or with the slug {slug}) already exists.")
    team = Team.objects.create(name=name, slug=slug)
    record("people.team.created", actor=by, obj=team, after={"name": team.name, "slug": team.slug})
    return team


@transaction.atomic
def membership_set_role(*, team: Team, user, role: str, by, source: str = Membership.Source.MANUAL) -> Membership:
    """Put `user` in `team` with `role` (adding them if needed). An admin's change makes the
    membership manual: single sign-on leaves it alone from then on."""
    if by is not None:
        _require_admin(by)
    if role not in Role.values:
        raise PeopleError(f"Unknown role {role!r}.")
    if not user.is_active:
        raise PeopleError(f"{user.get_username()} is deactivated; reactivate them first.")
    membership = (Membership.objects.select_for_update().select_related("user", "team")
                  .filter(team=team, user=user).first())
    if membership is None:
        membership = Membership.objects.create(team=team, user=user, role=role, source=source)
        record("people.membership.added", actor=by, obj=membership, after=_membership_after(membership))
        return membership
    if membership.role == role and membership.source == source:
        return membership
    before = _membership_after(membership)
    membership.role, membership.source = role, source
    membership.save(update_fields=["role", "source"])
    record("people.membership.role_set", actor=by, obj=membership, before=before,
           after=_membership_after(membership))
    return membership


@transaction.atomic
def membership_remove(*, team: Team, user, by) -> None:
    if by is not None:
        _require_admin(by)
    membership = Membership.objects.select_for_update().select_related("user", "team").filter(
        team=team, user=user).first()
    if membership is None:
        raise PeopleError(f"{user.get_username()} is not a member of {team}.")
    if by is not None and by.pk == user.pk and membership.role == Role.ADMIN and not by.is_superuser:
        raise PeopleError("You cannot remove your own admin membership; ask another admin.")
    record("people.membership.removed", actor=by, obj=membership, before=_membership_after(membership))
    membership.delete()


def open_assignments(user):
    """The open items assigned to `user`, across releases, for reassignment."""
    return (ReleaseItem.objects.filter(assignee=user).exclude(status__in=ReleaseItem.COMPLETE)
            .select_related("release", "owner_team").order_by("due_date", "release_id", "key"))


@transaction.atomic
def user_deactivate(*, user, by) -> int:
    """Stop `user` from logging in (password or single sign-on). Their memberships, assignments and
    past decisions stay as they are, under their name; returns how many open items are assigned to
    them, which the page lists for reassignment."""
    _require_admin(by)
    if user.pk == by.pk:
        raise PeopleError("You cannot deactivate yourself.")
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise PeopleError(f"{user.get_username()} is already deactivated.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    open_count = open_assignments(user).count()
    record("people.user.deactivated", actor=by, obj=user, before={"is_active": True},
           after={"is_active": False, "username": user.get_username(), "open_assignments": open_count})
    return open_count


@transaction.atomic
def user_reactivate(*, user, by):
    _require_admin(by)
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise PeopleError(f"{user.get_username()} is active.")
    user.is_active = True
    user.save(update_fields=["is_active"])
    record("people.user.reactivated", actor=by, obj=user, before={"is_active": False},
           after={"is_active": True, "username": user.get_username()})
    return user


def assignments_reassign(*, user, to, by) -> tuple[int, list[str]]:
    """Give every open item assigned to `user` to `to` (None: unassign), each through item_assign so
    the usual rules, audit and notifications apply. Returns (moved, keys that changed meanwhile)."""
    from checklists.services.items import ItemError, item_assign

    _require_admin(by)
    moved, skipped = 0, []
    for item in list(open_assignments(user)):
        try:
            item_assign(item=item, assignee=to, by=by, expected_version=item.version)
        except (ItemError, PermissionDenied):
            skipped.append(item.key)
        else:
            moved += 1
    return moved, skipped


# --- single sign-on: group mappings ---------------------------------------------------------------
@transaction.atomic
def group_mapping_create(*, group: str, team: Team, role: str, by) -> GroupMapping:
    _require_admin(by)
    group = group.strip()
    if not group:
        raise PeopleError("A mapping needs the group's name as the identity provider sends it.")
    if role not in Role.values:
        raise PeopleError(f"Unknown role {role!r}.")
    if GroupMapping.objects.filter(group=group, team=team).exists():
        raise PeopleError(f"Group {group} is already mapped to {team}.")
    mapping = GroupMapping.objects.create(group=group, team=team, role=role)
    record("people.group_mapping.created", actor=by, obj=mapping,
           after={"group": group, "team": team.slug, "role": role})
    return mapping


@transaction.atomic
def group_mapping_delete(*, mapping: GroupMapping, by) -> None:
    _require_admin(by)
    record("people.group_mapping.deleted", actor=by, obj=mapping,
           before={"group": mapping.group, "team": mapping.team.slug, "role": mapping.role})
    mapping.delete()


def configured_mappings() -> list[tuple[str, int, str]]:
    """READINESS_OIDC_GROUP_MAP as (group, team id, role); entries naming a missing team are skipped
    (the system check reports bad roles at start)."""
    entries = settings.READINESS_OIDC_GROUP_MAP
    teams = dict(Team.objects.filter(slug__in={slug for _, slug, _ in entries}).values_list("slug", "pk"))
    return [(group, teams[slug], role) for group, slug, role in entries if slug in teams and role in Role.values]


def roles_for_groups(groups) -> dict[int, str]:
    """{team id: role} that these groups give, the strongest role per team."""
    groups = set(groups)
    pairs = [(m.team_id, m.role) for m in GroupMapping.objects.filter(group__in=groups)]
    pairs += [(team_id, role) for group, team_id, role in configured_mappings() if group in groups]
    wanted: dict[int, str] = {}
    for team_id, role in pairs:
        current = wanted.get(team_id)
        if current is None or ROLE_STRENGTH.index(role) > ROLE_STRENGTH.index(current):
            wanted[team_id] = role
    return wanted


@transaction.atomic
def memberships_sync(*, user, groups) -> dict[str, int]:
    """Make the user's memberships match their groups: add and re-role what the mappings give, remove
    the memberships single sign-on gave before that no group backs any more. Memberships an admin set
    by hand and no group covers are kept. Recorded as the system's changes."""
    wanted = roles_for_groups(groups)
    teams = {team.pk: team for team in Team.objects.filter(pk__in=wanted)}
    counts = {"added": 0, "changed": 0, "removed": 0}
    current = {m.team_id: m for m in Membership.objects.select_for_update().select_related("team", "user")
               .filter(user=user)}
    for team_id, role in wanted.items():
        existing = current.get(team_id)
        if existing is not None and existing.role == role and existing.source == Membership.Source.SSO:
            continue
        membership_set_role(team=teams[team_id], user=user, role=role, by=None, source=Membership.Source.SSO)
        counts["added" if existing is None else "changed"] += 1
    for team_id, membership in current.items():
        if team_id not in wanted and membership.source == Membership.Source.SSO:
            membership_remove(team=membership.team, user=user, by=None)
            counts["removed"] += 1
    return counts


@transaction.atomic
def identity_login(*, issuer: str, subject: str, claims: dict, groups: list[str], username_claim: str):
    """The user for a verified ID token: found by (issuer, subject), else an existing account with the
    same verified email, else a new account. Updates name, email and groups, then the memberships.
    A deactivated user is returned unchanged (the login view refuses them)."""
    User = get_user_model()
    identity = Identity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    email = (claims.get("email") or "").strip()
    if identity is not None:
        user = identity.user
    else:
        user = None
        if email and claims.get("email_verified") is True:
            user = User.objects.filter(email__iexact=email).order_by("pk").first()
        if user is None:
            user = User.objects.create_user(username=_free_username(claims.get(username_claim) or email or subject),
                                            email=email)
            user.set_unusable_password()
            user.save(update_fields=["password"])
            record("people.user.created", actor=None, obj=user,
                   after={"username": user.get_username(), "via": "sso", "issuer": issuer})
        identity = Identity(user=user, issuer=issuer, subject=subject)
    if not user.is_active:
        return user
    identity.groups, identity.last_login_at = sorted(groups), timezone.now()
    identity.save()
    fields = {"email": email or user.email, "first_name": (claims.get("given_name") or user.first_name)[:150],
              "last_name": (claims.get("family_name") or user.last_name)[:150]}
    changed = [name for name, value in fields.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)
    memberships_sync(user=user, groups=groups)
    return user


def _free_username(wanted: str) -> str:
    User = get_user_model()
    base = (wanted.split("@")[0] if "@" in wanted else wanted).strip()[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate
