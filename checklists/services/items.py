"""Changing release items: status, owner, assignee, due date, evidence and comments.

Every function checks the permission, runs in one transaction, writes one audit event with before and
after, and tells sign-off that the item changed. Field changes go through `ReleaseItem.bump()`, the
optimistic lock: a change made against an older version raises `ItemConflict` and saves nothing.
"""
import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import get_valid_filename

import filetype

from checklists import permissions
from checklists.audit import record
from checklists.models import Comment, Evidence, ReleaseItem, Team
from checklists.services import notifications, signoff

# What a person may set by hand. "waived" is only reached through a granted waiver (sign-off flow).
SETTABLE_STATUSES = [s for s in ReleaseItem.Status if s != ReleaseItem.Status.WAIVED]
FILENAME_MAX = 120
COMMENT_MAX = 20_000
NOTE_MAX = 20_000


class ItemError(ValueError):
    """The change is not valid (unknown status, bad link, file too large); the message says why."""


@dataclass(eq=False)
class ItemConflict(Exception):
    """Someone changed the item since the form was loaded: nothing was saved."""

    item: ReleaseItem  # the item as it is now
    field: str
    current: str  # the current value of the field, for people
    changed_by: str
    changed_at: datetime.datetime | None

    def __str__(self):
        when = self.changed_at.strftime("%Y-%m-%d %H:%M:%S %Z") if self.changed_at else "just now"
        return (f"Not saved: {self.changed_by} changed this item at {when}. "
                f"{_LABELS[self.field]} is now “{self.current}”. Review it and try again.")


_LABELS = {"status": "Status", "assignee": "Assignee", "owner_team": "Owner team", "due_date": "Due date"}


def _display(item: ReleaseItem, field: str) -> str:
    if field == "status":
        return item.get_status_display()
    value = getattr(item, field)
    return str(value) if value else "—"


def _audit_value(item: ReleaseItem, field: str):
    if field == "assignee":
        return item.assignee.get_username() if item.assignee else None
    if field == "owner_team":
        return item.owner_team.slug if item.owner_team else None
    value = getattr(item, field)
    return value.isoformat() if isinstance(value, datetime.date) else value


def _change(*, item: ReleaseItem, by, expected_version: int, field: str, value, action: str,
            extra_fields: dict | None = None) -> ReleaseItem:
    """Set one field under the optimistic lock. Costs: a locking read, the UPDATE, the audit event."""
    permissions.require_change(by, item)
    with transaction.atomic():
        # Read the row as it is now (not as the caller read it) so `before` and a conflict are exact.
        current = (ReleaseItem.objects.select_for_update(no_key=True, of=("self",))
                   .select_related("changed_by", "assignee", "owner_team").get(pk=item.pk))
        if current.version != expected_version:
            current.release = item.release
            raise ItemConflict(item=current, field=field, current=_display(current, field),
                               changed_by=_who(current.changed_by), changed_at=current.changed_at)
        signoff.lock_release_for_item_change(item.release_id)
        before = _audit_value(current, field)
        for name in ("status", "assignee", "owner_team", "due_date", "completed_by", "decided_by_probe"):
            setattr(item, name, getattr(current, name))
        item.version = current.version
        setattr(item, field, value)
        for name, extra in (extra_fields or {}).items():
            setattr(item, name, extra)
        if not item.bump(by=by, fields=[field, *(extra_fields or {})]):  # lost a race after the read
            current = ReleaseItem.objects.select_related("changed_by").get(pk=item.pk)
            raise ItemConflict(item=current, field=field, current=_display(current, field),
                               changed_by=_who(current.changed_by), changed_at=current.changed_at)
        record(action, actor=by, obj=item, release=item.release,
               before={field: before}, after={field: _audit_value(item, field), "version": item.version})
        signoff.on_item_changed(item, by=by)
    return item


def _who(user) -> str:
    if user is None:
        return "a probe or the system"
    return user.get_full_name() or user.get_username()


def item_set_status(*, item: ReleaseItem, status: str, by, expected_version: int) -> ReleaseItem:
    if status == ReleaseItem.Status.WAIVED:
        raise ItemError("An item becomes waived only through a granted waiver: request one instead.")
    if status not in SETTABLE_STATUSES:
        raise ItemError(f"“{status}” is not a status.")
    # A person deciding the status takes it over from the probe; done records who completed it.
    extra = {"completed_by": by if status == ReleaseItem.Status.DONE else None, "decided_by_probe": False}
    return _change(item=item, by=by, expected_version=expected_version, field="status", value=status,
                   action="checklists.item.status_changed", extra_fields=extra)


def item_assign(*, item: ReleaseItem, assignee, by, expected_version: int) -> ReleaseItem:
    if assignee is not None and not permissions.can_assign_to(by, item, assignee):
        permissions.require_change(by, item)
        raise ItemError(f"{assignee.get_username()} cannot be assigned: engineers assign within the owning team.")
    item = _change(item=item, by=by, expected_version=expected_version, field="assignee", value=assignee,
                   action="checklists.item.assigned")
    notifications.item_assigned(item, by=by)
    return item


def item_set_owner_team(*, item: ReleaseItem, team: Team | None, by, expected_version: int) -> ReleaseItem:
    return _change(item=item, by=by, expected_version=expected_version, field="owner_team", value=team,
                   action="checklists.item.owner_team_changed")


def item_set_due_date(*, item: ReleaseItem, due_date: datetime.date | None, by,
                      expected_version: int) -> ReleaseItem:
    return _change(item=item, by=by, expected_version=expected_version, field="due_date", value=due_date,
                   action="checklists.item.due_date_changed")


# Bulk changes: a release manager sets the owning team, assignee or due date of many items at once.

KEEP = object()  # a bulk field left as each item has it
_BULK_FIELDS = ("owner_team", "assignee", "due_date")


@dataclass
class BulkResult:
    changed: list[ReleaseItem]
    unchanged: list[ReleaseItem]
    conflicts: list[ItemConflict]


def items_bulk_update(*, release, versions: dict[int, int], by, owner_team=KEEP, assignee=KEEP,
                      due_date=KEEP) -> BulkResult:
    """Set the given fields on the items `versions` names (item id -> the version the form was loaded
    with), in one transaction, one audit event per changed item. An item changed since then is not
    touched: it comes back in `conflicts`, with who changed it and its current value. Release manager
    of the release or admin only. Costs a locking read, then per changed item an UPDATE and an audit
    event (3 queries) plus the sign-off check."""
    permissions.require_manage_release(by, release)
    wanted = {name: value for name, value in
              (("owner_team", owner_team), ("assignee", assignee), ("due_date", due_date)) if value is not KEEP}
    if not wanted:
        raise ItemError("Choose an owner team, an assignee or a due date to set.")
    if not versions:
        raise ItemError("There are no items to change.")
    result = BulkResult(changed=[], unchanged=[], conflicts=[])
    with transaction.atomic():
        rows = list(ReleaseItem.objects.select_for_update(no_key=True, of=("self",))
                    .select_related("changed_by", "assignee", "owner_team")
                    .filter(release=release, pk__in=versions).order_by("pk"))
        if len(rows) != len(versions):
            raise ItemError("Some of those items are not part of this release. Nothing was saved.")
        signoff.lock_release_for_item_change(release.pk)
        if wanted.get("assignee") is not None and not permissions.can_assign_to(by, rows[0], wanted["assignee"]):
            raise ItemError(f"{wanted['assignee'].get_username()} cannot be assigned: they are in no team.")
        for item in rows:
            item.release = release
            if item.version != versions[item.pk]:
                field = next(iter(wanted))
                result.conflicts.append(ItemConflict(item=item, field=field, current=_display(item, field),
                                                     changed_by=_who(item.changed_by), changed_at=item.changed_at))
                continue
            fields = [name for name, value in wanted.items() if getattr(item, name) != value]
            if not fields:
                result.unchanged.append(item)
                continue
            before = {name: _audit_value(item, name) for name in fields}
            for name in fields:
                setattr(item, name, wanted[name])
            if not item.bump(by=by, fields=fields):  # cannot happen under the row lock; never overwrite
                raise ItemError("An item changed while saving. Nothing was saved; try again.")
            record("checklists.item.bulk_updated", actor=by, obj=item, release=release, before=before,
                   after={**{name: _audit_value(item, name) for name in fields}, "version": item.version})
            signoff.on_item_changed(item, by=by)
            if "assignee" in fields:
                notifications.item_assigned(item, by=by)
            result.changed.append(item)
    return result


# Evidence. It never changes once stored; adding it does not bump the item's version (nobody's open
# form should conflict with new evidence), but sign-off hears about it.


def _evidence_added(evidence: Evidence, *, item: ReleaseItem, by) -> Evidence:
    signoff.lock_release_for_item_change(item.release_id)
    record("checklists.evidence.added", actor=by, obj=item, release=item.release, after={
        "evidence": evidence.pk, "kind": evidence.kind, "sha256": evidence.sha256, "filename": evidence.filename,
        "size": evidence.size, "content_type": evidence.content_type, "url": evidence.url,
    })
    signoff.on_item_changed(item, by=by)
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


def evidence_add_file(*, item: ReleaseItem, upload, by) -> Evidence:
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
        return _evidence_added(evidence, item=item, by=by)


def too_large_message() -> str:
    return f"The file is larger than the limit of {_mb(settings.READINESS_MAX_UPLOAD_BYTES)}. Nothing was stored."


def evidence_name(evidence: Evidence) -> str:
    return evidence._meta.get_field("file").upload_to(evidence, "")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


_link_validator = URLValidator(schemes=["http", "https"])


def evidence_add_link(*, item: ReleaseItem, url: str, by) -> Evidence:
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
        return _evidence_added(evidence, item=item, by=by)


def evidence_add_note(*, item: ReleaseItem, text: str, by) -> Evidence:
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
        return _evidence_added(evidence, item=item, by=by)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def comment_add(*, item: ReleaseItem, body: str, by) -> Comment:
    permissions.require_comment(by, item)
    body = (body or "").strip()
    if not body:
        raise ItemError("A comment needs some text.")
    if len(body) > COMMENT_MAX:
        raise ItemError(f"A comment holds at most {COMMENT_MAX} characters.")
    with transaction.atomic():
        signoff.lock_release_for_item_change(item.release_id)
        comment = Comment.objects.create(item=item, author=by, body=body)
        record("checklists.comment.added", actor=by, obj=item, release=item.release,
               after={"comment": comment.pk, "sha256": _sha(body)})
        signoff.on_item_changed(item, by=by)
    return comment
