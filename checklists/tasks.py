"""Celery tasks of the checklists app: thin wrappers over services, safe to run twice."""
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from checklists.services import reports, waivers

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def expire_waivers() -> int:
    """The hourly sweep. Each waiver expires in its own transaction under a row lock (skip_locked), and
    only while it is still granted and due, so overlapping or repeated runs expire each one once."""
    return waivers.waivers_expire_due()


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


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def anchor_audit_chain() -> int:
    """Beat's checkpoint of the audit chain's head: a signed JSON log line, and a line appended to
    READINESS_AUDIT_ANCHOR_FILE. Running twice writes two anchors, both true: harmless."""
    from checklists import anchors

    return anchors.anchor_write()["payload"]["event_id"]
