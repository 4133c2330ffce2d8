"""Celery tasks for probe runs: thin wrappers that take ids and call services.

`run_probes` is safe to deliver twice and to redeliver after its worker died: `run_claim` is a
conditional UPDATE on the run row, a finished run is a no-op, and the attempt counter in the
database ends a run that keeps losing its worker as `failed` instead of looping.
"""
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from probes import services

MAX_RETRIES = 3  # transient collector failures (unreachable, 429, 5xx) retried this often, with backoff


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    autoretry_for=(services.RetryLater,),
    max_retries=MAX_RETRIES,
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
)
def run_probes(self, run_id: int) -> str:
    """Execute probe run `run_id`; returns the state it ended in ("skipped" when there was nothing to do)."""
    try:
        execution = services.run_execute(run_id=run_id, final_attempt=self.request.retries >= self.max_retries)
    except SoftTimeLimitExceeded:
        services.run_fail(run_id=run_id, message=f"Stopped after {settings.CELERY_TASK_SOFT_TIME_LIMIT} "
                                                 f"seconds (the time limit for a probe run).")
        return "failed"
    return execution.run.state if execution.run else "skipped"


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def sweep_stuck_runs() -> dict:
    """Send again runs the broker never got; requeue or fail runs a lost worker or message left behind."""
    return services.runs_sweep_stuck()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def reprobe_releases() -> list[int]:
    """Drift watch: queue a scheduled run for every open or recently approved release."""
    return [run.pk for run in services.releases_reprobe()]


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def collect_releases() -> list[int]:
    """Queue a scheduled collection from the observability endpoints for every open release."""
    return [run.pk for run in services.releases_collect()]
