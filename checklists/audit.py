"""The one way to write an audit event, and the check that the chain is intact.

Each event stores the SHA-256 of its own canonical content together with the previous event's hash,
so altering, inserting or deleting a row breaks every link after it. Writers serialise on a
transaction-scoped advisory lock so two concurrent events never share a predecessor.
"""
import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from checklists.models import AuditEvent

GENESIS = "0" * 64
_LOCK_ID = 0x72656164  # arbitrary constant naming the audit-chain lock


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(event: AuditEvent) -> str:
    content = {
        "prev": event.prev_hash,
        "at": event.created_at.isoformat(),
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "release": event.release_id,
        "object": [event.object_type, str(event.object_id)],
        "before": event.before,
        "after": event.after,
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def record(action: str, *, actor, obj, before=None, after=None, release=None) -> AuditEvent:
    """Append an event for `obj`. Call inside the transaction that makes the change. Costs 3 queries.

    No savepoint of its own: an event that cannot be written must undo the change it records, so a
    failure here fails the caller's whole transaction (and saves two statements per event)."""
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            created_at=timezone.now(),
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "system",
            action=action,
            release=release,
            object_type=obj._meta.model_name,
            object_id=str(obj.pk),
            before=_jsonable(before or {}),
            after=_jsonable(after or {}),
            prev_hash=last or GENESIS,
        )
        event.hash = event_hash(event)
        event.save()
    return event


def _jsonable(value):
    # Round-trip through JSON so the hash is computed over exactly what the database will store.
    return json.loads(canonical_json(value))


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole chain in id order; stops at the first broken link."""
    previous = GENESIS
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != previous:
            return ChainReport(checked, event.pk, "its previous-hash does not match the event before it "
                               "(an event was deleted, inserted or re-hashed)")
        if event_hash(event) != event.hash:
            return ChainReport(checked, event.pk, "its content does not match its hash (the row was altered)")
        previous = event.hash
        checked += 1
    return ChainReport(checked)
