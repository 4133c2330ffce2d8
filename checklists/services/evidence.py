"""Evidence on release items: files (stored under their SHA-256, hashed while they stream in), links
and notes. Evidence never changes once stored. Adding it does not bump the item's version (nobody's
open form should conflict with new evidence), but its hash is part of what an approval vouches for,
so sign-off hears about it."""
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import get_valid_filename

import filetype

from checklists import deciders, permissions
from checklists.audit import record
from checklists.models import Evidence, ReleaseItem
from checklists.services.items import ItemError
from checklists.signoff import services as signoff

FILENAME_MAX = 120
NOTE_MAX = 20_000



def _evidence_added(evidence: Evidence, *, item: ReleaseItem, by, via: str = "") -> Evidence:
    """Evidence is part of the approved state (its hash is), so adding it tells sign-off."""
    after = {"evidence": evidence.pk, "kind": evidence.kind, "sha256": evidence.sha256,
             "filename": evidence.filename, "size": evidence.size, "content_type": evidence.content_type,
             "url": evidence.url}
    if via:
        after["via"] = via
    # The lock order: the release row before the audit lock; sign-off's reads before the audit event,
    # as in items_change, since the chain's lock is held from the event to COMMIT.
    release = signoff.lock_release_for_item_change(item.release_id)
    locked = release, signoff.live_decisions(release.pk)
    record("checklists.evidence.added", actor=by, obj=item, release=item.release, after=after)
    signoff.on_items_changed(item.release_id, [item], by=by, locked=locked)
    return evidence


def clean_filename(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    try:
        cleaned = get_valid_filename(name)
    except Exception:  # noqa: BLE001 - get_valid_filename raises SuspiciousFileOperation on "", ".", ".."
        cleaned = "evidence"
    if len(cleaned) > FILENAME_MAX:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext[:16] if dot else ""
        cleaned = (stem if dot else cleaned)[:FILENAME_MAX - len(ext) - 1] + ("." + ext if ext else "")
    return cleaned


def evidence_add_file(*, item: ReleaseItem, upload, by, via: str = "") -> Evidence:
    """Store an uploaded file under its SHA-256 (hashed while streaming) and record it. Costs file I/O."""
    permissions.require_change(by, item)
    limit = settings.READINESS_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise ItemError(f"The file is {_mb(upload.size)}; the limit is {_mb(limit)}. Nothing was stored.")
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise ItemError(too_large_message())
        if len(head) < 8192:
            head += chunk[:8192 - len(head)]
        digest.update(chunk)
    if size == 0:
        raise ItemError("The file is empty. Nothing was stored.")
    kind = filetype.guess(head)  # from the bytes, never from the browser's claim
    evidence = Evidence(item=item, kind=Evidence.Kind.FILE, sha256=digest.hexdigest(), size=size,
                        filename=clean_filename(upload.name), created_by=by,
                        content_type=kind.mime if kind else "application/octet-stream")
    with transaction.atomic():
        name = evidence_name(evidence)
        if default_storage.exists(name):  # same bytes already stored: content-addressed, keep one copy
            evidence.file.name = name
        else:
            upload.seek(0)
            evidence.file.save(name, File(upload), save=False)
        evidence.save()
        _evidence_added(evidence, item=item, by=by, via=via)
        # What the file sets off (an artifact check judging it in the background), for the person.
        evidence.notes = deciders.file_evidence_added(evidence=evidence, item=item, by=by)
        return evidence


def too_large_message() -> str:
    return f"The file is larger than the limit of {_mb(settings.READINESS_MAX_UPLOAD_BYTES)}. Nothing was stored."


def evidence_name(evidence: Evidence) -> str:
    return evidence._meta.get_field("file").upload_to(evidence, "")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


_link_validator = URLValidator(schemes=["http", "https"])


def evidence_add_link(*, item: ReleaseItem, url: str, by, via: str = "") -> Evidence:
    permissions.require_change(by, item)
    url = (url or "").strip()
    try:
        _link_validator(url)
    except ValidationError:
        raise ItemError("A link must be a full http:// or https:// address.") from None
    evidence = Evidence(item=item, kind=Evidence.Kind.LINK, url=url, sha256=_sha(url), size=len(url.encode()),
                        created_by=by)
    with transaction.atomic():
        evidence.save()
        return _evidence_added(evidence, item=item, by=by, via=via)


def evidence_add_note(*, item: ReleaseItem, text: str, by, via: str = "") -> Evidence:
    permissions.require_change(by, item)
    text = (text or "").strip()
    if not text:
        raise ItemError("A note needs some text.")
    if len(text) > NOTE_MAX:
        raise ItemError(f"A note holds at most {NOTE_MAX} characters.")
    evidence = Evidence(item=item, kind=Evidence.Kind.NOTE, note=text, sha256=_sha(text),
                        size=len(text.encode()), created_by=by)
    with transaction.atomic():
        evidence.save()
        return _evidence_added(evidence, item=item, by=by, via=via)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
