"""Background jobs kept as database rows (probe runs, reports): queueing, claiming, failing, sweeping.

The row is the truth; a Celery message only says "look at row N". So:

- `job_enqueue` sends the message once the transaction commits. When the broker is down it does not
  raise (the row is committed, the person's request succeeded): the row is noted QUEUE_DOWN, the
  warning is logged, and the caller is told, to say "queued, will start when the queue is back".
- `job_claim` is the idempotence guard of the task: a conditional UPDATE that takes the row for this
  attempt and counts it. A finished row is never claimed; a row that used up its attempts (its worker
  killed each time) ends failed instead of looping.
- `job_fail` ends an unfinished row with a message, audited by the kind's own hook.
- `jobs_sweep`, run by Celery beat every READINESS_SWEEP_SECONDS, queues again what the broker never
  got (noted QUEUE_DOWN, or waiting longer than the kind's `lost_after`) and what a dead worker held
  (claimed longer than `claim_expires`), and fails those out of attempts. A message sent twice is
  harmless: the claim lets one through.
"""
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import kombu.exceptions
from kombu.utils.imports import symbol_by_name
import redis
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

# The configured Celery app, loaded by what sends tasks rather than at Django's start: the tasks sent
# from here (probe runs, reports) go through its broker, in any process.
import readiness.celery  # noqa: F401

logger = logging.getLogger(__name__)

QUEUE_DOWN = "queued, will start when the queue is back"
# What a failed publish raises: kombu wraps most broker errors, redis-py and sockets raise the rest.
BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.RedisError, OSError)
# One quick reconnect (a pooled connection broken by a broker restart), then give up: the sweeper
# sends it later, and a web request must not hang on a broker that is down.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


@dataclass
class Enqueued:
    """What became of a message asked for on commit: `sent` is None until the transaction commits."""

    sent: bool | None = None
    error: str = ""

    @property
    def waiting_for_queue(self) -> bool:
        return self.sent is False


def enqueue_on_commit(task, *args, on_unavailable: Callable[[], None] | None = None) -> Enqueued:
    """Send `task(*args)` once the current transaction commits (at once outside one). Never raises
    for a broker that is down: logs, calls `on_unavailable`, and says so in the returned Enqueued."""
    ticket = Enqueued()
    transaction.on_commit(lambda: _send(ticket, task, args, on_unavailable))
    return ticket


def enqueue_now(task, *args, on_unavailable: Callable[[], None] | None = None) -> Enqueued:
    """Send `task(*args)` now, for callers whose rows are already committed (the sweeper)."""
    return _send(Enqueued(), task, args, on_unavailable)


def _send(ticket: Enqueued, task, args: tuple, on_unavailable) -> Enqueued:
    try:
        task.apply_async(args=args, retry=True, retry_policy=PUBLISH_RETRY)
    except BROKER_ERRORS as exc:
        ticket.sent, ticket.error = False, str(exc) or type(exc).__name__
        logger.warning("queue unavailable, %s%r left for the sweeper: %s", task.name, args, ticket.error)
        if on_unavailable is not None:
            on_unavailable()
    else:
        ticket.sent = True
    return ticket


@dataclass(frozen=True)
class JobKind:
    """How one model's rows behave as jobs. Times and limits are callables so settings stay live."""

    model: type[models.Model]
    task: str  # the Celery task's name, which is also its dotted path; it takes the row's pk
    open_states: tuple[str, ...]  # not finished
    waiting_state: str  # asked for, no live claim (probe run: queued; report: pending)
    claimed_state: str  # what a claim leaves it in (probe run: running; report: still pending)
    failed_state: str
    note_field: str  # the text field a person reads: why it waits, or why it failed
    max_attempts: Callable[[], int]
    claim_expires: Callable[[], float]  # seconds: a claim older than this belongs to a dead worker
    lost_after: Callable[[], float]  # seconds: waiting, never claimed, this long: its message was lost
    on_failed: Callable[[models.Model], None]  # audit the failure (inside its transaction)
    # A live claim may be taken over at once (probe runs: acks_late redelivers only when the worker
    # died); otherwise only once expired (reports: a duplicate message must not render twice).
    reclaim_live: bool = False
    claim_update: dict = field(default_factory=dict)  # fields a claim sets besides attempts/started_at
    select_related: tuple[str, ...] = ()
    note_length: int = 2000
    app: object = None  # the Celery app that sends the task: readiness.celery.app unless given

    def task_object(self):
        if self.app is None:
            # By path: a web process has not imported the tasks modules (Celery discovers them lazily,
            # in workers), and the services that queue a task are the ones its module imports.
            return symbol_by_name(self.task)
        return self.app.tasks[self.task]

    def _claimable(self, now) -> Q:
        if self.reclaim_live:
            return Q()
        expired = now - datetime.timedelta(seconds=self.claim_expires())
        return Q(started_at__isnull=True) | Q(started_at__lt=expired)


def job_enqueue(kind: JobKind, pk: int, *, on_commit: bool = True) -> Enqueued:
    """Queue row `pk`'s task (on commit, or now); if the broker is down, note QUEUE_DOWN on the row
    (the sweeper's cue) and say so in the returned Enqueued."""
    def note_queue_down():
        kind.model.objects.filter(pk=pk, state=kind.waiting_state).update(**{kind.note_field: QUEUE_DOWN})

    enqueue = enqueue_on_commit if on_commit else enqueue_now
    return enqueue(kind.task_object(), pk, on_unavailable=note_queue_down)


def job_claim(kind: JobKind, pk: int):
    """Take row `pk` for this attempt (attempts+1, started_at now). Returns the row, or None when
    there is nothing to do: finished, held by a live claim, missing, or out of attempts (then it is
    failed). One conditional UPDATE, then one SELECT."""
    now = timezone.now()
    claimed = kind.model.objects.filter(
        kind._claimable(now), pk=pk, state__in=kind.open_states, attempts__lt=kind.max_attempts(),
    ).update(attempts=F("attempts") + 1, started_at=now, **kind.claim_update)
    row = kind.model.objects.select_related(*kind.select_related).filter(pk=pk).first()
    if row is None:
        logger.warning("%s %s does not exist", kind.model._meta.verbose_name, pk)
        return None
    if claimed:
        return row
    claim_would_do = kind.model.objects.filter(kind._claimable(now), pk=pk, state__in=kind.open_states).exists()
    if claim_would_do and row.attempts >= kind.max_attempts():
        job_fail(kind, pk, f"Gave up after {row.attempts} attempts: the worker running it was lost or timed "
                           f"out each time.")
    return None


def job_fail(kind: JobKind, pk: int, message: str):
    """End unfinished row `pk` as failed with `message`, audited. No-op (None) on a finished row."""
    with transaction.atomic():
        row = kind.model.objects.select_for_update(no_key=True).filter(pk=pk, state__in=kind.open_states).first()
        if row is None:
            return None
        row.state, row.finished_at = kind.failed_state, timezone.now()
        setattr(row, kind.note_field, message[:kind.note_length])
        row.save(update_fields=["state", kind.note_field, "finished_at"])
        kind.on_failed(row)
    return row


def jobs_sweep(kind: JobKind, *, now=None, limit: int = 100) -> dict[str, list[int]]:
    """Queue again what the broker never got or a dead worker held; fail what is out of attempts.

    Returns {"requeued": [...], "failed": [...]}. The rows it looks at are few (unfinished ones), and
    each kind's model has an index on its state or pending rows for this query.
    """
    now = now or timezone.now()
    never_sent = Q(state=kind.waiting_state) & (
        Q(**{kind.note_field: QUEUE_DOWN})
        | Q(started_at__isnull=True, created_at__lt=now - datetime.timedelta(seconds=kind.lost_after())))
    dead_claim = Q(state=kind.claimed_state, started_at__isnull=False,
                   started_at__lt=now - datetime.timedelta(seconds=kind.claim_expires()))
    due = list(kind.model.objects.filter(never_sent | dead_claim, state__in=kind.open_states)
               .order_by("pk").values_list("pk", "attempts", "started_at", kind.note_field)[:limit])
    requeued, failed = [], []
    for pk, attempts, started_at, note in due:
        if attempts >= kind.max_attempts():
            if job_fail(kind, pk, f"Gave up after {attempts} attempts: no worker finished it."):
                failed.append(pk)
            continue
        if note == QUEUE_DOWN:
            why = "Queued again once the queue was back."
        elif started_at is None:
            why = "Queued again: its message to the workers was lost."
        else:
            why = "Queued again: the worker running it was lost."
        # One UPDATE (committed on its own in a worker), then the message: a claim never sees the
        # row before it is queued again.
        if kind.model.objects.filter(pk=pk, state__in=kind.open_states).update(
                state=kind.waiting_state, **{kind.note_field: why}):
            job_enqueue(kind, pk, on_commit=False)
            requeued.append(pk)
    if requeued or failed:
        logger.warning("swept %s: %s", kind.model._meta.verbose_name_plural, {"requeued": requeued, "failed": failed})
    return {"requeued": requeued, "failed": failed}
