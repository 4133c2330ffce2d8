"""Bearer-token authentication with the rate limits in front of it.

A call without a live token counts against its address's limit (so guessing tokens is slow) and is
answered 401; a call with one counts against the token's limit. Over either limit → 429 with
Retry-After. The request then acts as the token's user: `request.user` is that user.
"""
import json
from contextlib import contextmanager

from ninja.security import HttpBearer

from api import ratelimit
from api.errors import ApiError
from api.models import ApiToken
from api.services import token_authenticate
from checklists import audit


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _limited(verdict: ratelimit.Verdict, who: str) -> ApiError:
    return ApiError(429, "rate_limited",
                    f"Too many requests for this {who}: at most {verdict.limit} per "
                    f"window; retry in {verdict.retry_after} s.",
                    {"limit": verdict.limit, "retry_after": verdict.retry_after},
                    headers={"Retry-After": str(verdict.retry_after)})


def _storable(text: str) -> bool:
    """PostgreSQL text holds neither NUL nor lone UTF-16 surrogates (which JSON escapes can smuggle in)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_storable(value) -> bool:
    """Every string of a parsed JSON value, keys included, walked without recursion. (Dumping it back
    to text would not do: json.dumps writes a NUL as the escape \\u0000.)"""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if not _storable(value):
                return False
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


def refuse_unstorable_text(request) -> None:
    """A request carrying text the database cannot store is bad input (400), never a server error."""
    where = None
    if not _storable(request.path) or not all(_storable(k + v) for k, v in request.GET.items()):
        where = "the address"
    elif request.content_type == "application/json" and request.body:
        try:
            value = json.loads(request.body)
        except (ValueError, RecursionError):
            return  # not JSON at all (or nested past reason): the parser answers 400
        if not _json_storable(value):
            where = "the JSON body"
    elif request.content_type == "multipart/form-data" and not all(_storable(k + v) for k, v in request.POST.items()):
        where = "a form field"
    if where:
        raise ApiError(400, "invalid", f"The request holds characters that cannot be stored (NUL or a lone "
                                       f"surrogate) in {where}.")


class TokenAuth(HttpBearer):
    def __call__(self, request):
        refuse_unstorable_text(request)
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        address = client_address(request)
        token = token_authenticate(secret.strip(), address=address or None) if scheme.lower() == "bearer" else None
        if token is None:
            verdict = ratelimit.for_address(address)
            if not verdict.allowed:
                raise _limited(verdict, "address")
            return None  # ninja answers 401 through the AuthenticationError handler
        verdict = ratelimit.for_token(token.pk)
        if not verdict.allowed:
            raise _limited(verdict, "token")
        request.user = token.user
        return token

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        raise NotImplementedError


def token_of(request) -> ApiToken:
    return request.auth


@contextmanager
def audited(request):
    """Every event the services record inside the block says it came through the API, and by which token."""
    with audit.channel(via="api", token=token_of(request).name):
        yield
