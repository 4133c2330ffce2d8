"""Celery tasks of the checklists app: thin wrappers over services, safe to run twice."""
from celery import shared_task

from checklists.services import waivers


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def expire_waivers() -> int:
    """The hourly sweep. Each waiver expires in its own transaction under a row lock (skip_locked), and
    only while it is still granted and due, so overlapping or repeated runs expire each one once."""
    return waivers.waivers_expire_due()
