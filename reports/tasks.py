"""Celery tasks of the reports: thin wrappers over reports.services, safe to run twice."""
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

import readiness.celery  # noqa: F401 (the configured app: what this process sends uses its broker)
from reports import services as reports

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=reports.SOFT_TIME_LIMIT,
             time_limit=reports.TIME_LIMIT)
def generate_report(report_id: int) -> str:
    """Fill pending report `report_id`; returns the state it ended in ("skipped": nothing to do).

    Idempotent: `report_claim` is a conditional UPDATE, so a report that is ready or failed, or held by
    another live delivery, is left alone. A failure is final (no retry): the report is marked failed
    with the reason, and the person who asked sees it and can ask again.
    """
    try:
        report = reports.report_fill(report_id=report_id)
    except SoftTimeLimitExceeded:
        reports.report_fail(report_id=report_id, message=f"Stopped after {reports.SOFT_TIME_LIMIT} seconds, "
                                                         f"the time limit for generating a report.")
        return "failed"
    except Exception as exc:
        logger.exception("report %s failed", report_id)
        reports.report_fail(report_id=report_id, message=f"The report could not be generated: "
                                                         f"{str(exc) or type(exc).__name__}")
        return "failed"
    return report.state if report is not None else "skipped"


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def requeue_unclaimed_reports() -> list[int]:
    """Queue again the pending reports whose message the broker never got or lost, and those a dead
    worker held; fail those out of attempts (readiness.jobs). Returns the ids queued again."""
    return reports.reports_sweep()["requeued"]
