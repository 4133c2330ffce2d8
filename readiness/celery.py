"""The Celery app: its settings are Django's CELERY_* ones, and beat's schedule is built here from the
READINESS_* periods in settings (its daily entries are crontabs, Celery objects settings do not load)."""
import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")


def beat_schedule() -> dict:
    """Celery beat's entries: task name and period (seconds, or a crontab) for each."""
    sweep = float(settings.READINESS_SWEEP_SECONDS)
    return {
        # Drift watch: probe open and recently approved releases again on their last cluster.
        "probes-reprobe-releases": {"task": "probes.tasks.reprobe_releases",
                                    "schedule": settings.READINESS_REPROBE_MINUTES * 60.0},
        # Observability: read the endpoints serving each open release's environment and judge its
        # collector-bound items again (the same releases as the drift watch).
        "probes-collect-releases": {"task": "probes.tasks.collect_releases",
                                    "schedule": settings.READINESS_COLLECT_MINUTES * 60.0},
        # Background jobs (readiness.jobs): runs and reports asked for while the broker was down, whose
        # message was lost, or whose worker died: queue them again or fail them. Every
        # READINESS_SWEEP_SECONDS, so a job asked for during an outage starts within a minute of the
        # broker's return (this period plus the worker's reconnect delay, at most 30 s).
        "probes-sweep-stuck-runs": {"task": "probes.tasks.sweep_stuck_runs", "schedule": sweep},
        # Granted waivers past their date reopen their items (and flag approved releases as drifted).
        "expire-waivers": {"task": "checklists.tasks.expire_waivers", "schedule": 3600.0},
        "requeue-unclaimed-reports": {"task": "reports.tasks.requeue_unclaimed_reports", "schedule": sweep},
        # A signed checkpoint of the audit chain's head, outside the database (log line, anchor file).
        "anchor-audit-chain": {"task": "checklists.tasks.anchor_audit_chain",
                               "schedule": settings.READINESS_AUDIT_ANCHOR_MINUTES * 60.0},
        # Webhook deliveries whose task message was lost: queue them again (delivering is idempotent).
        "notices-requeue-deliveries": {"task": "notices.tasks.requeue_deliveries", "schedule": 120.0},
        # Each person's daily digest (and the team digests) at READINESS_DIGEST_HOUR, in TIME_ZONE.
        "notices-send-digests": {"task": "notices.tasks.send_digests",
                                 "schedule": crontab(hour=settings.READINESS_DIGEST_HOUR, minute=0)},
        "notices-remind-expiring-waivers": {"task": "notices.tasks.remind_expiring_waivers",
                                            "schedule": crontab(hour=settings.READINESS_DIGEST_HOUR, minute=5)},
    }


app = Celery("readiness")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = beat_schedule()
app.autodiscover_tasks()
