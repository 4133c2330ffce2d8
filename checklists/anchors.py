"""Anchors of the audit chain: its head (event id, hash, number of events), signed with the server's
key and kept where an edit of the database does not reach at the same time.

The hash chain alone proves that no event was altered or removed *between* two events; someone able
to switch the table's triggers off could still delete the newest events, or rewrite the whole tail
and re-hash it (the chain's hash needs no secret). An anchor names the head at a moment: a later
chain that no longer holds that event with that hash lost or rewrote events, and the anchor names
the gap. Anchors are written by Celery beat every READINESS_AUDIT_ANCHOR_MINUTES to the log (one JSON
line) and appended to READINESS_AUDIT_ANCHOR_FILE, and every signed report and evidence bundle
carries one.
"""
import datetime
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from checklists.audit import GENESIS, ChainReport
from checklists.models import AuditEvent
from readiness import signing

SCHEMA = "readiness.audit-anchor/1"
logger = logging.getLogger("checklists.audit.anchor")


class AnchorFileError(ValueError):
    """A file given as an anchor that holds none, or cannot be read."""


def anchor_make() -> dict:
    """The chain's head now, signed. Costs 2 queries (the count scans the table's index)."""
    head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
    payload = {
        "schema": SCHEMA, "event_id": head[0] if head else 0, "hash": head[1] if head else GENESIS,
        "events": AuditEvent.objects.count(),
        "at": timezone.now().astimezone(datetime.UTC).replace(microsecond=0).isoformat(),
    }
    return signing.seal(payload)


def anchor_write() -> dict:
    """Write a checkpoint: one JSON log line, and a line appended to READINESS_AUDIT_ANCHOR_FILE."""
    envelope = anchor_make()
    payload = envelope["payload"]
    path = settings.READINESS_AUDIT_ANCHOR_FILE
    if path and Path(path).is_file():
        _check_previous(Path(path), payload)
    logger.info("audit chain anchor: event %s, %s events", payload["event_id"], payload["events"],
                extra={"audit_anchor": envelope})
    if path:
        line = (json.dumps(envelope, sort_keys=True, separators=(",", ":")) + "\n").encode()
        # One write() of one line with O_APPEND: concurrent writers never interleave within a line.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    return envelope


def _check_previous(path: Path, payload: dict) -> None:
    """Raise the alarm at once when the chain lost events since the file's last anchor (verify_audit
    would say the same; this says it within one checkpoint interval). Reads only the file's tail."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 65536))
        lines = [line for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
    try:
        previous = _from_lines(lines[-1], f"{path} (last line)") if lines else []
    except AnchorFileError:
        previous = []
    chain = ChainReport(checked=payload["events"], head_id=payload["event_id"], head_hash=payload["hash"])
    for problem in anchors_compare(chain, previous, [signing.server_public_key()]).problems:
        logger.error("audit chain anchor mismatch: %s", problem)


@dataclass
class FoundAnchor:
    envelope: dict
    source: str  # "FILE line 3", "report.pdf", ...

    @property
    def payload(self) -> dict:
        return self.envelope["payload"]

    def describe(self) -> str:
        return f"anchor of {self.payload.get('at')} ({self.source})"


@dataclass
class AnchorComparison:
    checked: list[FoundAnchor]
    problems: list[str]

    @property
    def latest(self) -> FoundAnchor | None:
        return max(self.checked, key=lambda a: (a.payload.get("event_id", 0), a.payload.get("at", "")),
                   default=None)


def _from_lines(text: str, source: str) -> list[FoundAnchor]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise AnchorFileError(f"{source} line {number} is not JSON") from None
        found.extend(_from_json(value, f"{source} line {number}"))
    return found


def _from_json(value, source: str) -> list[FoundAnchor]:
    if isinstance(value, dict) and isinstance(value.get("payload"), dict):
        if value["payload"].get("schema") == SCHEMA:
            return [FoundAnchor(value, source)]
        anchor = value["payload"].get("audit_anchor")  # a report's signature block
        if anchor:
            return [FoundAnchor(anchor, source)]
    return []



def anchors_compare(chain: ChainReport, anchors: list[FoundAnchor], trusted) -> AnchorComparison:
    """Each anchor must be signed by a trusted key and name an event the chain still holds, with the
    same hash and the same number of events up to it. Costs 2 queries per anchor."""
    problems, checked = [], []
    for anchor in anchors:
        bad = signing.check(anchor.envelope, trusted)
        if bad:
            problems.append(f"the {anchor.describe()} is not trusted: {bad}")
            continue
        checked.append(anchor)
    for anchor in checked:
        p = anchor.payload
        event_id, expected_hash, events = int(p.get("event_id", 0)), p.get("hash"), int(p.get("events", 0))
        if event_id == 0:
            continue
        stored = AuditEvent.objects.filter(pk=event_id).values_list("hash", flat=True).first()
        head = chain.head_id or 0
        if stored is None:
            if event_id > head:
                missing = events - chain.checked
                problems.append(f"the chain ends at event {head} but the {anchor.describe()} names event "
                                f"{event_id}: {missing} event(s) missing")
            else:
                problems.append(f"the {anchor.describe()} names event {event_id}, which the chain no longer "
                                f"holds: events were deleted and the chain re-hashed")
            continue
        if stored != expected_hash:
            problems.append(f"the {anchor.describe()} names event {event_id} with hash {expected_hash[:16]}…, "
                            f"the chain's event {event_id} has {stored[:16]}…: the chain was rewritten")
            continue
        held = AuditEvent.objects.filter(pk__lte=event_id).count()
        if held != events:
            problems.append(f"the {anchor.describe()} counts {events} event(s) up to event {event_id}, the "
                            f"chain holds {held}: {events - held} event(s) missing")
    return AnchorComparison(checked, problems)
