"""Single sign-on with OpenID Connect, through mozilla-django-oidc.

The library runs the authorization-code flow (state, nonce, PKCE), fetches the provider's keys and
checks the ID token's signature, expiry and nonce. Here we add what it leaves out or leaves to us:
endpoints read from the issuer's discovery document (cached), the audience and issuer checks on the
ID token, users matched by (issuer, subject) rather than by email, and the groups claim applied to
teams and roles at every login (people.services.identity_login). A token that fails any check ends
the login on the login page with a message, never with an error page.
"""
import logging

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect
from mozilla_django_oidc import auth as oidc_auth
from mozilla_django_oidc import views as oidc_views
from mozilla_django_oidc.utils import import_from_settings

from people import services

log = logging.getLogger(__name__)

# Library setting → key of the discovery document (RFC 8414 / OpenID Connect Discovery 1.0).
_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def enabled() -> bool:
    return bool(settings.READINESS_OIDC_ISSUER)


def discovery() -> dict:
    """The issuer's discovery document, from the cache (an hour) or fetched once."""
    issuer = settings.READINESS_OIDC_ISSUER.rstrip("/")
    key = f"oidc-discovery:{issuer}"
    document = _cached(key)
    if document is None:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
        if document.get("issuer", "").rstrip("/") != issuer:
            raise SuspiciousOperation(f"The discovery document names issuer {document.get('issuer')!r}, "
                                      f"not {issuer!r}.")
        _keep(key, document)
    return document


def _cached(key: str):
    try:
        return cache.get(key)
    except Exception as error:  # noqa: BLE001 - without Redis the document is fetched each time
        log.warning("Cache unavailable, the discovery document is fetched again: %s", error)
        return None


def _keep(key: str, document: dict) -> None:
    try:
        cache.set(key, document, 3600)
    except Exception as error:  # noqa: BLE001
        log.warning("Cache unavailable, the discovery document is not kept: %s", error)


def oidc_setting(attr, *default):
    if attr in _DISCOVERED and not getattr(settings, attr, None):
        value = discovery().get(_DISCOVERED[attr])
        if value:
            return value
        if default:
            return default[0]
        raise ImproperlyConfigured(f"The identity provider's discovery document has no {_DISCOVERED[attr]}.")
    return import_from_settings(attr, *default)


class Backend(oidc_auth.OIDCAuthenticationBackend):
    """Django authentication backend for the OIDC callback. Constructed for every session lookup, so
    its constructor reads nothing from the network; the endpoints are resolved at login."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):  # noqa: the library's constructor resolves endpoints eagerly
        self.UserModel = get_user_model()

    def get_user(self, user_id):
        """The session's user, while active: deactivating someone ends their single sign-on sessions."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def _configure(self) -> None:
        super().__init__()

    def authenticate(self, request, **kwargs):
        # Only the callback view calls with a nonce; password logins pass a username and password.
        if request is None or not enabled() or "nonce" not in kwargs or "password" in kwargs:
            return None
        try:
            self._configure()
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, jwt.InvalidTokenError, requests.RequestException, ValueError) as exc:
            log.warning("single sign-on refused: %s", exc)
            request.readiness_sso_error = str(exc)
            return None

    def _verify_jws(self, payload, key):
        """Signature (the configured algorithm only), expiry, audience and issuer."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"The ID token is signed with {header.get('alg')!r}, not "
                                      f"{self.OIDC_RP_SIGN_ALGO}.")
        try:
            return jwt.decode(payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO], audience=self.OIDC_RP_CLIENT_ID,
                              issuer=settings.READINESS_OIDC_ISSUER.rstrip("/"), leeway=settings.OIDC_LEEWAY_SECONDS,
                              options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"The ID token was refused: {exc}.") from None

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint when the provider has one."""
        claims = dict(payload)
        try:
            endpoint = self.get_settings("OIDC_OP_USER_ENDPOINT", "")
        except ImproperlyConfigured:
            endpoint = ""
        if endpoint and access_token:
            self.OIDC_OP_USER_ENDPOINT = endpoint
            info = super().get_userinfo(access_token, id_token, payload)
            if info.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("The userinfo answer is about another subject.")
            claims.update(info)
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        groups = claims.get(settings.READINESS_OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        return services.identity_login(issuer=settings.READINESS_OIDC_ISSUER.rstrip("/"), subject=str(claims["sub"]),
                                       claims=claims, groups=[str(g) for g in groups],
                                       username_claim=settings.READINESS_OIDC_USERNAME_CLAIM)


class AuthenticateView(oidc_views.OIDCAuthenticationRequestView):
    """/oidc/authenticate/: off (404) unless single sign-on is configured."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        super(oidc_views.OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, SuspiciousOperation, ValueError) as exc:
            log.warning("identity provider unreachable: %s", exc)
            return _failure_redirect(request, "The identity provider cannot be reached; try again later.")
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class CallbackView(oidc_views.OIDCAuthenticationCallbackView):
    get_settings = staticmethod(oidc_setting)

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        return super().get(request)

    def login_failure(self):
        error = getattr(self.request, "readiness_sso_error", "") or self.request.GET.get("error", "")
        user = getattr(self, "user", None)
        if user is not None and not user.is_active:
            error = "Your account is deactivated."
        return _failure_redirect(self.request, error or "Single sign-on did not complete.")


def _failure_redirect(request, message: str):
    messages.error(request, f"Single sign-on failed: {message}")
    return redirect(settings.LOGIN_REDIRECT_URL_FAILURE)
