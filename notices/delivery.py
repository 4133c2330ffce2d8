"""Delivering one webhook delivery: claim it, POST it, record the outcome. Runs only in Celery tasks.

A delivery is claimed by a conditional UPDATE (pending or retrying → sending, attempts + 1), so two
task messages for the same delivery (a retry racing a redelivery, the sweep queueing a lost one)
send it once; a delivery already delivered is never sent again. A claim older than the request
timeout plus a margin belongs to a worker that died mid-request and may be taken over.
"""
import datetime
import logging

import requests
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from notices import bodies, signing
from notices.models import Delivery
from probes import crypto

log = logging.getLogger(__name__)

# Answers worth trying again: the receiver is overloaded or down, not refusing what we send.
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def backoff_seconds(attempt: int) -> int:
    """Seconds before attempt `attempt + 1`: base × 4^(attempt−1), at most an hour (30 s, 2 min, 8 min, ...)."""
    base = settings.READINESS_WEBHOOK_BACKOFF_SECONDS
    return min(base * 4 ** max(attempt - 1, 0), 3600)


def _claim(delivery_id: int, now) -> bool:
    stale = now - datetime.timedelta(seconds=settings.READINESS_WEBHOOK_TIMEOUT_SECONDS + 60)
    claimable = Q(state__in=[Delivery.State.PENDING, Delivery.State.RETRYING]) | Q(
        state=Delivery.State.SENDING, claimed_at__lt=stale)
    return bool(Delivery.objects.filter(claimable, pk=delivery_id).update(
        state=Delivery.State.SENDING, claimed_at=now, attempts=F("attempts") + 1))


def delivery_attempt(*, delivery_id: int) -> str:
    """Send one delivery once. Returns "delivered", "retry" (try again after backoff_seconds),
    "failed" (given up) or "skipped" (already delivered, or being sent by another worker).
    Costs 3 queries and one HTTP request with the configured timeout."""
    now = timezone.now()
    if not _claim(delivery_id, now):
        return "skipped"
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    webhook = delivery.webhook
    status_code, error = None, ""
    try:
        secret = crypto.decrypt(webhook.secret_encrypted, settings.READINESS_SECRETS_KEYS)
        body = bodies.encode(webhook.format, delivery.payload)
        headers = {"Content-Type": "application/json", "User-Agent": "Readiness-Webhook/1",
                   signing.EVENT_HEADER: delivery.event, signing.DELIVERY_HEADER: delivery.key,
                   **signing.signed_headers(secret, body)}
        response = requests.post(webhook.url, data=body, headers=headers, allow_redirects=False,
                                 timeout=settings.READINESS_WEBHOOK_TIMEOUT_SECONDS)
        status_code = response.status_code
        retry = status_code in _RETRY_STATUSES
        ok = 200 <= status_code < 300
        if not ok:
            error = f"HTTP {status_code}: {response.text[:200]}"
    except crypto.SecretKeyError as exc:
        ok, retry, error = False, False, str(exc)
    except requests.Timeout:
        ok, retry, error = False, True, f"no answer within {settings.READINESS_WEBHOOK_TIMEOUT_SECONDS} s"
    except requests.RequestException as exc:
        ok, retry, error = False, True, f"{type(exc).__name__}: {exc}"[:500]
    finished = timezone.now()
    if ok:
        state, outcome, next_at = Delivery.State.DELIVERED, "delivered", None
    elif retry and delivery.attempts < settings.READINESS_WEBHOOK_MAX_ATTEMPTS:
        state, outcome = Delivery.State.RETRYING, "retry"
        next_at = finished + datetime.timedelta(seconds=backoff_seconds(delivery.attempts))
    else:
        state, outcome, next_at = Delivery.State.FAILED, "failed", None
    Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.SENDING).update(
        state=state, status_code=status_code, error=error[:500], next_attempt_at=next_at,
        finished_at=finished if state in (Delivery.State.DELIVERED, Delivery.State.FAILED) else None)
    if not ok:
        log.warning("webhook delivery %s to %s: %s (%s)", delivery.pk, webhook, error, outcome)
    return outcome


def deliveries_due(*, now=None) -> list[int]:
    """Deliveries whose task message was lost: pending for over a minute, or retrying past their time."""
    now = now or timezone.now()
    due = Delivery.objects.filter(
        Q(state=Delivery.State.PENDING, created_at__lt=now - datetime.timedelta(minutes=1))
        | Q(state=Delivery.State.RETRYING, next_attempt_at__lt=now - datetime.timedelta(minutes=1)))
    return list(due.values_list("pk", flat=True)[:500])
