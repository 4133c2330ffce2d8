"""Celery tasks of the checklists app: thin wrappers over services, safe to run twice."""
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

import readiness.celery  # noqa: F401 (the configured app: what this process sends uses its broker)
from checklists.signoff import waivers

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def expire_waivers() -> int:
    """The hourly sweep. Each waiver expires in its own transaction under a row lock (skip_locked), and
    only while it is still granted and due, so overlapping or repeated runs expire each one once."""
    return waivers.waivers_expire_due()


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def anchor_audit_chain() -> int:
    """Beat's checkpoint of the audit chain's head: a signed JSON log line, and a line appended to
    READINESS_AUDIT_ANCHOR_FILE. Running twice writes two anchors, both true: harmless."""
    from checklists import anchors

    return anchors.anchor_write()["payload"]["event_id"]
