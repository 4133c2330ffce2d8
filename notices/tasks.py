"""Celery tasks of notices: thin wrappers that take ids, safe to run twice."""
import logging

from celery import shared_task

import readiness.celery  # noqa: F401 (the configured app: what this process sends uses its broker)
from notices import delivery
from notices.models import Delivery

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None,
             soft_time_limit=60, time_limit=90)
def deliver(self, delivery_id: int) -> str:
    """POST one delivery; on a retryable failure try again after a growing pause (attempts are counted
    in the row, which also decides when to give up)."""
    outcome = delivery.delivery_attempt(delivery_id=delivery_id)
    if outcome == "retry":
        attempts = Delivery.objects.values_list("attempts", flat=True).get(pk=delivery_id)
        raise self.retry(countdown=delivery.backoff_seconds(attempts))
    return outcome


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def requeue_deliveries() -> list[int]:
    """Beat: queue again the deliveries whose message was lost (a broker restart); the claim in
    delivery_attempt makes a duplicate message harmless."""
    ids = delivery.deliveries_due()
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return ids


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def send_digests() -> int:
    """Beat, daily: every person's digest (at most one per person and day) and the team digests."""
    from notices import digests

    return digests.digests_send()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def remind_expiring_waivers() -> int:
    from notices import digests

    return digests.waiver_reminders_send()
