"""Login with a brake on password guessing: attempts are counted per account and client address.

The account is the username as the login form authenticates it (NFKC, the user model's
normalize_username, case-folded): `ｄａｎａ` and `DANA` count against `dana`. Each attempt takes a
number from one atomic Redis INCR before the password is checked, so parallel guesses cannot slip past
the limit between a read and a write. Without Redis the brake is off (a logged warning), never a 500:
logging in matters more than the throttle during an outage.
"""
import hashlib
import logging
import unicodedata

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views

logger = logging.getLogger(__name__)

_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    """One client (and connection pool) per Redis URL; short timeouts, so a Redis that is down does
    not hold a login for long."""
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return _clients[url]


def account_name(raw: str) -> str:
    """The username the login form authenticates (UsernameField + normalize_username), case-folded."""
    name = unicodedata.normalize("NFKC", raw.strip())
    return get_user_model().normalize_username(name).casefold()

from people import oidc


def _key(request) -> str:
    username = account_name(request.POST.get("username", ""))
    client = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{username}\0{client}".encode()).hexdigest()
    return f"readiness:login-attempts:{digest}"


def take_attempt(key: str) -> int | None:
    """Count one attempt; the number it got (1 for the first in the window), or None without Redis."""
    try:
        with _redis().pipeline(transaction=True) as pipe:
            # MULTI: start the window on the first attempt (SET NX EX), then count. Both or neither.
            pipe.set(key, 0, ex=settings.READINESS_LOGIN_LOCKOUT_SECONDS, nx=True)
            pipe.incr(key)
            return pipe.execute()[1]
    except redis.RedisError as exc:
        logger.warning("login throttle off: Redis unavailable (%s)", exc)
        return None


def clear_attempts(key: str) -> None:
    try:
        _redis().delete(key)
    except redis.RedisError as exc:
        logger.warning("login throttle: could not clear a count, Redis unavailable (%s)", exc)


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        local = settings.READINESS_LOCAL_LOGIN
        context.update(sso_enabled=oidc.enabled(), sso_label=settings.READINESS_OIDC_LABEL, local_login=local,
                       show_password_form=local or not oidc.enabled() or "local" in self.request.GET)
        return context

    def post(self, request, *args, **kwargs):
        key = _key(request)
        attempt = take_attempt(key)
        if attempt is not None and attempt > settings.READINESS_LOGIN_MAX_FAILURES:
            form = self.get_form()
            minutes = settings.READINESS_LOGIN_LOCKOUT_SECONDS // 60
            form.add_error(None, f"Too many failed attempts for this account from your address. "
                                 f"Try again in {minutes} minutes.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated and attempt is not None:
            clear_attempts(key)
        return response
