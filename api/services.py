"""API tokens: creating, revoking and recognising them. Every write is audited as `api.token.*`."""
import datetime
import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from api.models import ApiToken
from checklists import permissions
from checklists.audit import record
from checklists.models import Membership, Role

PREFIX = "rdy_"  # recognisable by secret scanners and by people: "rdy_" is a Readiness token
NAME_MAX = 100
# last_used_at is refreshed at most this often per token: not a write on every call of a busy pipeline.
LAST_USED_EVERY = datetime.timedelta(seconds=60)


class TokenError(ValueError):
    """The token cannot be created as asked; the message says why."""


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)  # 256 bits: a hash without salt or stretching is enough


def _clean(name: str, expires_at) -> str:
    name = (name or "").strip()
    if not name:
        raise TokenError("A token needs a name saying where it is used, e.g. “github-actions deploy”.")
    if len(name) > NAME_MAX:
        raise TokenError(f"A token name holds at most {NAME_MAX} characters.")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("The expiry must be in the future.")
    return name


def _create(*, user, kind: str, name: str, expires_at, by) -> tuple[ApiToken, str]:
    secret = _new_secret()
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(user=user, kind=kind, name=name, prefix=secret[:12],
                                            secret_sha256=secret_hash(secret), expires_at=expires_at,
                                            created_by=by)
    except IntegrityError:
        raise TokenError(f"A live token named “{name}” exists already: revoke it or choose another name.") from None
    record("api.token.created", actor=by, obj=token,
           after={"name": name, "kind": kind, "user": user.get_username(), "prefix": token.prefix,
                  "expires_at": expires_at})
    return token, secret


@transaction.atomic
def token_create(*, name: str, by, expires_at: datetime.datetime | None = None) -> tuple[ApiToken, str]:
    """A personal token acting as `by`. Returns the token and its secret, which is never stored."""
    if not by.is_authenticated or not permissions.roles_of(by):
        raise PermissionDenied("Only members of a team create API tokens.")
    return _create(user=by, kind=ApiToken.Kind.PERSONAL, name=_clean(name, expires_at), expires_at=expires_at, by=by)


@transaction.atomic
def service_token_create(*, name: str, team, role: str, by,
                         expires_at: datetime.datetime | None = None) -> tuple[ApiToken, str]:
    """A service token: a dedicated user holding exactly one membership (`team`, `role`). Admins only."""
    if not permissions.is_admin(by):
        raise PermissionDenied("Only admins create service tokens.")
    name = _clean(name, expires_at)
    if role not in Role.values:
        raise TokenError(f"“{role}” is not a role.")
    if role == Role.ADMIN:
        raise TokenError("A service token cannot hold the admin role: give it the role its pipeline needs.")
    username = f"svc-{team.slug}-{slugify(name)}"[:150]
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise TokenError(f"A service user {username} exists already: choose another name.")
    user = User.objects.create(username=username, first_name=f"Service {name}"[:150])
    user.set_unusable_password()
    user.save(update_fields=["password"])
    Membership.objects.create(user=user, team=team, role=role)
    return _create(user=user, kind=ApiToken.Kind.SERVICE, name=name, expires_at=expires_at, by=by)


def can_revoke(user, token: ApiToken) -> bool:
    return token.user_id == user.pk or token.created_by_id == user.pk or permissions.is_admin(user)


@transaction.atomic
def token_revoke(*, token: ApiToken, by) -> ApiToken:
    if not can_revoke(by, token):
        raise PermissionDenied("Only the token's owner or an admin revokes it.")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record("api.token.revoked", actor=by, obj=token, after={"name": token.name, "prefix": token.prefix})
    return token


def token_authenticate(secret: str, *, address: str | None) -> ApiToken | None:
    """The live token with this secret, or None (unknown, revoked, expired, or its user inactive).

    One query, plus a conditional UPDATE of last-used time and address at most once a minute.
    """
    if not secret.startswith(PREFIX):
        return None
    token = (ApiToken.objects.select_related("user").filter(secret_sha256=secret_hash(secret)).first())
    now = timezone.now()
    if token is None or not token.is_live(now) or not token.user.is_active:
        return None
    if (token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY
            or token.last_used_from != address):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_from=address)
        token.last_used_at, token.last_used_from = now, address
    return token


def tokens_for(user):
    """The tokens a user sees on the tokens page: their own, and for admins the service tokens."""
    mine = ApiToken.objects.filter(user=user)
    if permissions.is_admin(user):
        return (mine | ApiToken.objects.filter(kind=ApiToken.Kind.SERVICE)).select_related("user").distinct()
    return mine.select_related("user")
