"""Evidence on an item addressed by release and item key: a file, a link or a note (Idempotency-Key)."""
import datetime

from django.conf import settings
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile

from api import idempotency
from api.auth import audited
from api.endpoints.items import item_for
from api.errors import ApiError, responses
from api.pagination import Id
from checklists import permissions
from checklists.models import Evidence
from checklists.services.evidence import evidence_add_file, evidence_add_link, evidence_add_note

router = Router(tags=["evidence"])


class EvidenceOut(Schema):
    id: int
    item: str
    kind: str
    sha256: str
    size: int
    filename: str
    content_type: str
    url: str
    note: str
    created_by: str | None
    created_at: datetime.datetime
    judging: list[str] = Field(default_factory=list, description="what the file set off: an artifact check "
                               "judging it in the background (the verdict lands on the item)")


class LinkIn(Schema):
    url: str = Field(..., min_length=1, max_length=2000, description="http:// or https:// address")


class NoteIn(Schema):
    text: str = Field(..., min_length=1, max_length=20_000)


def evidence_out(e: Evidence, key: str) -> dict:
    return {"id": e.pk, "item": key, "kind": e.kind, "sha256": e.sha256, "size": e.size, "filename": e.filename,
            "content_type": e.content_type, "url": e.url, "note": e.note,
            "created_by": e.created_by.get_username() if e.created_by else None, "created_at": e.created_at,
            "judging": list(getattr(e, "notes", []))}


def _add(request, release_id: Id, key: str, add):
    item = item_for(request, release_id, key)
    permissions.require_change(request.user, item)

    def create():
        with audited(request):
            evidence = add(item)
        return 201, EvidenceOut.model_validate(evidence_out(evidence, key)).model_dump(mode="json")

    return Status(*idempotency.run(request, create))


PATH = "/releases/{release_id}/items/{key}/evidence"


@router.get(PATH, response=responses({200: list[EvidenceOut]}), summary="List an item's evidence")
def evidence_list(request, release_id: Id, key: str):
    item = item_for(request, release_id, key)
    return [evidence_out(e, key) for e in item.evidence.select_related("created_by").order_by("pk")]


@router.post(PATH + "/file", response=responses({201: EvidenceOut}),
             summary="Upload a file (JUnit, coverage, SARIF, a load-test summary…) as evidence")
def evidence_file(request, release_id: Id, key: str, file: File[UploadedFile]):
    if file.size > settings.READINESS_MAX_UPLOAD_BYTES:
        raise ApiError(413, "too_large", f"{file.name}: larger than the upload limit of "
                       f"{settings.READINESS_MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Nothing was stored.")
    return _add(request, release_id, key, lambda item: evidence_add_file(item=item, upload=file, by=request.user))


@router.post(PATH + "/link", response=responses({201: EvidenceOut}), summary="Add a link as evidence")
def evidence_link(request, release_id: Id, key: str, data: LinkIn):
    return _add(request, release_id, key, lambda item: evidence_add_link(item=item, url=data.url, by=request.user))


@router.post(PATH + "/note", response=responses({201: EvidenceOut}), summary="Add a note as evidence")
def evidence_note(request, release_id: Id, key: str, data: NoteIn):
    return _add(request, release_id, key, lambda item: evidence_add_note(item=item, text=data.text, by=request.user))
