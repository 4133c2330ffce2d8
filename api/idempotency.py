"""Idempotency-Key on create calls: a retried CI step gets the first response and adds nothing.

The key is stored per token with the response, in the transaction that creates the object. A second
call with the same key waits on the first one's row (the unique index) and then replays its
response; an error rolls everything back, key included, so a failed call may be retried. The same
key with a different request is refused (422): it is a client bug, not a retry.
"""
import hashlib

from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException

from api.errors import ApiError
from api.models import IdempotentResponse

HEADER = "Idempotency-Key"
KEY_MAX = 200


def request_fingerprint(request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    try:
        digest.update(request.body)
    except RawPostDataException:  # multipart: the body was streamed into POST and FILES
        for name in sorted(request.POST):
            for value in request.POST.getlist(name):
                digest.update(f"{name}={value}\n".encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                digest.update(f"{name}:{upload.name}:".encode())
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
    return digest.hexdigest()


def run(request, create) -> tuple[int, dict]:
    """Call `create()` -> (status, JSON body) once per token and key; replay the stored answer after."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return create()
    if len(key) > KEY_MAX:
        raise ApiError(400, "bad_idempotency_key", f"An {HEADER} holds at most {KEY_MAX} characters.")
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotentResponse.objects.create(token=request.auth, key=key, request_sha256=fingerprint)
        except IntegrityError:
            record = IdempotentResponse.objects.get(token=request.auth, key=key)
            if record.request_sha256 != fingerprint:
                raise ApiError(422, "idempotency_key_reused",
                               f"This {HEADER} was used for a different request; use a new key.") from None
            return record.status, record.body
        status, body = create()
        record.status, record.body = status, body
        record.save(update_fields=["status", "body"])
    return status, body
