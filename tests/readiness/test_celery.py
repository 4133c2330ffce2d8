"""The Celery app: beat's schedule, and which processes load Celery at all."""
import json
import subprocess
import sys

import pytest
from django.conf import settings

from tests.readiness.test_settings import PROD

# Beat's schedule as settings.py wrote it while it imported crontab itself: the schedule built beside the
# Celery app must stay entry for entry the same, whatever the environment sets.
SETTINGS_SCHEDULE = """
from celery.schedules import crontab
from readiness.env import env_int
READINESS_SWEEP_SECONDS = env_int("READINESS_SWEEP_SECONDS", 30)
CELERY_BEAT_SCHEDULE = {
    "probes-reprobe-releases": {
        "task": "probes.tasks.reprobe_releases",
        "schedule": env_int("READINESS_REPROBE_MINUTES", 60) * 60.0,
    },
    "probes-collect-releases": {
        "task": "probes.tasks.collect_releases",
        "schedule": env_int("READINESS_COLLECT_MINUTES", 60) * 60.0,
    },
    "probes-sweep-stuck-runs": {"task": "probes.tasks.sweep_stuck_runs", "schedule": float(READINESS_SWEEP_SECONDS)},
    "expire-waivers": {"task": "checklists.tasks.expire_waivers", "schedule": 3600.0},
    "requeue-unclaimed-reports": {"task": "reports.tasks.requeue_unclaimed_reports",
                                  "schedule": float(READINESS_SWEEP_SECONDS)},
    "anchor-audit-chain": {"task": "checklists.tasks.anchor_audit_chain",
                           "schedule": env_int("READINESS_AUDIT_ANCHOR_MINUTES", 15) * 60.0},
    "notices-requeue-deliveries": {"task": "notices.tasks.requeue_deliveries", "schedule": 120.0},
    "notices-send-digests": {"task": "notices.tasks.send_digests",
                             "schedule": crontab(hour=env_int("READINESS_DIGEST_HOUR", 7), minute=0)},
    "notices-remind-expiring-waivers": {"task": "notices.tasks.remind_expiring_waivers",
                                        "schedule": crontab(hour=env_int("READINESS_DIGEST_HOUR", 7), minute=5)},
}
"""

COMPARE = SETTINGS_SCHEDULE + """
import json
import django
django.setup()
from readiness.celery import app
beat = app.conf.beat_schedule
print(json.dumps({"same": beat == CELERY_BEAT_SCHEDULE, "beat": repr(beat)}))
"""


def _python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env={**PROD, "DJANGO_SETTINGS_MODULE": "readiness.settings",
                                                               "PYTHONPATH": str(settings.BASE_DIR), **env},
                          capture_output=True, text=True, cwd=settings.BASE_DIR, timeout=60)


@pytest.mark.parametrize("env", [
    {},
    {"READINESS_REPROBE_MINUTES": "5", "READINESS_COLLECT_MINUTES": "7", "READINESS_SWEEP_SECONDS": "11",
     "READINESS_AUDIT_ANCHOR_MINUTES": "3", "READINESS_DIGEST_HOUR": "22"},
])
def test_beat_schedule_is_the_one_settings_defined(env):
    result = _python(COMPARE, env)
    assert result.returncode == 0, result.stderr
    compared = json.loads(result.stdout.strip().splitlines()[-1])
    assert compared["same"], compared["beat"]
    if env:  # the environment reached the schedule
        assert "<crontab: 5 22 * * *" in compared["beat"] and "'schedule': 11.0" in compared["beat"]


def test_the_crontab_entries_compare_by_time_so_a_changed_hour_is_seen():
    from celery.schedules import crontab

    assert crontab(hour=7, minute=0) == crontab(hour=7, minute=0)
    assert crontab(hour=7, minute=0) != crontab(hour=8, minute=0)


def test_settings_load_no_celery():
    result = _python("import sys, readiness.settings; print('celery' in sys.modules)", {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


SENDER = """
import json, sys, threading
import django
django.setup()
started_without_celery = "celery" not in sys.modules
from django.conf import settings
from kombu.utils.imports import symbol_by_name
found = {}

def resolve():  # in another thread, as a web server's request threads send tasks
    import importlib
    importlib.import_module(sys.argv[1])
    task = symbol_by_name(sys.argv[2])
    found.update(app=task.app.main, broker=task.app.conf.broker_url == settings.CELERY_BROKER_URL)

thread = threading.Thread(target=resolve)
thread.start()
thread.join()
print(json.dumps({"started_without_celery": started_without_celery, **found}))
"""


@pytest.mark.parametrize("sender, task", [
    ("readiness.jobs", "probes.tasks.run_probes"),  # probe runs and reports are sent through readiness.jobs
    ("readiness.jobs", "reports.tasks.generate_report"),
    ("notices.tasks", "notices.tasks.deliver"),  # notices.services sends deliveries itself
    ("reports.tasks", "reports.tasks.generate_report"),  # so does the API's report endpoint
    ("checklists.tasks", "checklists.tasks.expire_waivers"),
])
def test_a_task_is_sent_through_the_configured_app_though_django_started_without_celery(sender, task):
    result = subprocess.run([sys.executable, "-c", SENDER, sender, task], capture_output=True, text=True,
                            cwd=settings.BASE_DIR, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "started_without_celery": True, "app": "readiness", "broker": True}


def test_the_web_server_loads_the_celery_app_at_start():
    result = subprocess.run([sys.executable, "-c", "import sys, readiness.wsgi; print('readiness.celery' in sys.modules)"],
                            capture_output=True, text=True, cwd=settings.BASE_DIR, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
