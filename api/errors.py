"""One error body for every failure: {"error": {"code", "message", "details"}}.

Status codes mean what HTTP says: 400 a request we cannot use (bad file, bad link), 401 no live token,
403 seen but not changeable, 404 not there or not visible, 409 a conflict with the current state,
413 too large, 422 a request that does not match the schema, 429 over the rate limit.
"""
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from checklists.checklist_markdown import ChecklistError
from checklists.services.items import ItemConflict, ItemError
from checklists.services.releases import ReleaseError
from reports.services import ReportError
from checklists.signoff.services import SignoffError
from probes.bundles import BundleError
from probes.engine.manifests import ManifestError
from probes.services import ProbeRunError
from api.services import TokenError


class ErrorBody(Schema):
    code: str
    message: str
    details: Any = None


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details=None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


# Every operation declares these, so the schema (and schemathesis) knows each answer it may give.
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429)


def responses(ok: dict) -> dict:
    return {**{status: ErrorOut for status in ERROR_STATUSES}, **ok}


def body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def conflict_details(exc: ItemConflict) -> dict:
    item = exc.item
    return {"key": item.key, "field": exc.field, "current": exc.current, "version": item.version,
            "changed_by": exc.changed_by, "changed_at": exc.changed_at}


def install(api) -> None:
    def respond(request, status, code, message, details=None, headers=None):
        response = api.create_response(request, body(code, message, details), status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    def on_api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.code, exc.message, exc.details, exc.headers)

    def on_404(request, exc):
        return respond(request, 404, "not_found", str(exc) or "Not found.")

    def on_403(request, exc):
        return respond(request, 403, "forbidden", str(exc) or "You may not change this.")

    def on_401(request, exc):
        return respond(request, 401, "unauthenticated",
                       "Send a live API token: Authorization: Bearer rdy_… (revoked and expired tokens are refused).",
                       headers={"WWW-Authenticate": 'Bearer realm="readiness"'})

    def on_validation(request, exc: ValidationError):
        oversized = getattr(request, "oversized_uploads", None)
        if oversized:  # readiness.uploads dropped the file while it streamed in
            return respond(request, 413, "too_large", f"{', '.join(oversized)}: larger than the upload limit of "
                           f"{settings.READINESS_MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Nothing was stored.")
        return respond(request, 422, "validation_error", "The request does not match the schema.", exc.errors)

    def on_http(request, exc: HttpError):
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return respond(request, exc.status_code, code, str(exc))

    def on_conflict(request, exc: ItemConflict):
        return respond(request, 409, "conflict", str(exc), conflict_details(exc))

    def on_invalid(request, exc):
        return respond(request, 400, getattr(exc, "code", "invalid"), str(exc))

    def on_too_big(request, exc):
        return respond(request, 413, "too_large", str(exc) or "The request body is too large.")

    def on_signoff(request, exc: SignoffError):
        return respond(request, 409, "signoff", str(exc))

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(PermissionDenied, on_403)
    api.add_exception_handler(AuthenticationError, on_401)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(ItemConflict, on_conflict)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(SignoffError, on_signoff)
    for error in (ItemError, ReleaseError, ReportError, ChecklistError, BundleError, ManifestError, ProbeRunError,
                  TokenError):
        api.add_exception_handler(error, on_invalid)
