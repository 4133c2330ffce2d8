"""The one way to write an audit event, and the check that the chain is intact.

Each event stores the SHA-256 of its own canonical content together with the previous event's hash,
so altering, inserting or deleting a row breaks every link after it. Writers serialise on a
transaction-scoped advisory lock so two concurrent events never share a predecessor.

Lock order, the same in every transaction that writes an event: the rows it changes (items, runs,
waivers), then the release row, then the advisory lock, held until COMMIT. `record` itself takes the
event's release row before the advisory lock, so a writer that did not lock the release first still
keeps the order. Row locks are FOR NO KEY UPDATE (`select_for_update(no_key=True)`): the foreign-key
checks PostgreSQL runs at COMMIT take KEY SHARE on the rows referenced (a new probe run's release, a
comment's item), which FOR UPDATE would block while this transaction holds the advisory lock that the
blocking one waits for: a deadlock. NO KEY UPDATE still serialises writers of the same row.
"""
import hashlib
import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from checklists.models import AuditEvent, Release

GENESIS = "0" * 64
_RELEASE_TABLE = Release._meta.db_table
_LOCK_ID = 0x72656164  # arbitrary constant naming the audit-chain lock
# How the change arrived, merged into every event's `after` while set (the API sets
# {"via": "api", "token": name}), so the services need not know who called them.
_channel: ContextVar[dict] = ContextVar("audit_channel", default={})


@contextmanager
def channel(**values):
    """Within the block, every recorded event's `after` also carries `values`."""
    reset = _channel.set({**_channel.get(), **values})
    try:
        yield
    finally:
        _channel.reset(reset)


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


def _lock_chain(release_id: int | None) -> None:
    """The event's release row (FOR NO KEY UPDATE), then the chain's advisory lock, in one statement:
    the lock order of every writer (see the module docstring)."""
    with connection.cursor() as cursor:
        if release_id is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])
        else:
            # The aggregate completes (the row is locked) before the outer row asks for the lock.
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(%s) FROM (SELECT count(*) FROM (SELECT 1 FROM "
                f"{_RELEASE_TABLE} WHERE id = %s FOR NO KEY UPDATE) AS release_row) AS locked",
                [_LOCK_ID, release_id])


def record(action: str, *, actor, obj, before=None, after=None, release=None) -> AuditEvent:
    """Append an event for `obj`. Call inside the transaction that makes the change. Costs 3 queries.

    Takes the event's release row (FOR NO KEY UPDATE) and then the chain's advisory lock, in that
    order and in one statement, both held until the transaction ends (see the module docstring). No
    savepoint of its own: an event that cannot be written must undo the change it records, so a
    failure here fails the caller's whole transaction (and saves two statements per event).
    """
    with transaction.atomic(savepoint=False):
        _lock_chain(release.pk if release is not None else None)
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
            after=_jsonable({**(after or {}), **_channel.get()}),
            prev_hash=last or GENESIS,
        )
        event.hash = event_hash(event)
        event.save()
    return event


def record_many(events: list[dict], *, actor) -> list[AuditEvent]:
    """Append several events at once, chained in the given order: for bulk changes, whose query count
    must not grow with the number of items. Each dict holds `action`, `obj` and optionally `before`,
    `after`, `release`. Call inside the transaction that makes the changes. Costs 3 queries; no
    savepoint, as `record`."""
    if not events:
        return []
    with transaction.atomic(savepoint=False):
        releases = {spec["release"].pk for spec in events if spec.get("release") is not None}
        _lock_chain(releases.pop() if len(releases) == 1 else None)
        previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        known = actor is not None and actor.is_authenticated
        rows = []
        for spec in events:
            obj = spec["obj"]
            event = AuditEvent(
                created_at=timezone.now(), actor=actor if known else None,
                actor_name=actor.get_username() if known else "system", action=spec["action"],
                release=spec.get("release"), object_type=obj._meta.model_name, object_id=str(obj.pk),
                before=_jsonable(spec.get("before") or {}),
                after=_jsonable({**(spec.get("after") or {}), **_channel.get()}),
                prev_hash=previous,
            )
            event.hash = previous = event_hash(event)
            rows.append(event)
        return AuditEvent.objects.bulk_create(rows)


def _jsonable(value):
    # Round-trip through JSON so the hash is computed over exactly what the database will store.
    return json.loads(canonical_json(value))


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""
    head_id: int | None = None  # the last event walked: the chain's head when it is intact
    head_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole chain in id order; stops at the first broken link."""
    previous, head_id = GENESIS, None
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != previous:
            return ChainReport(checked, event.pk, "its previous-hash does not match the event before it "
                               "(an event was deleted, inserted or re-hashed)", head_id, previous)
        if event_hash(event) != event.hash:
            return ChainReport(checked, event.pk, "its content does not match its hash (the row was altered)",
                               head_id, previous)
        previous, head_id = event.hash, event.pk
        checked += 1
    return ChainReport(checked, head_id=head_id, head_hash=previous)
