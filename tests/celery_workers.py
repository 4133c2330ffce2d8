"""Real `celery worker` subprocesses for integration tests, on the test database and a real Redis broker.

The workers reach pytest-django's test database through DATABASE_URL, so tests using them commit
(transaction=True). A short visibility timeout lets a fresh worker pick up the message of a worker
killed mid-task within seconds.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
VISIBILITY_TIMEOUT = 3  # seconds: a killed worker's message is handed out again after this


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()  # our own Redis database (REDIS_URL): no messages left from an earlier test
    yield client
    client.flushdb()


def _test_database_url() -> str:
    """DATABASE_URL with pytest-django's test database in it; host, port or socket kept as configured."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}"))


class Workers:
    """Starts `celery worker` subprocesses on the test database; kills what it started."""

    def __init__(self):
        self.env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "CELERY_UNACKED_RESTORE_INTERVAL": "1",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "LOG_LEVEL": "WARNING",
        }
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "readiness", "worker", "-P", "prefork", "-c", "1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
            cwd=ROOT, env=self.env, start_new_session=True,  # its own process group: kill parent and child
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool child at once, as when a node dies."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


@pytest.fixture
def workers(transactional_db, broker):
    # Depends on transactional_db so the workers stop before the database is flushed.
    pool = Workers()
    yield pool
    pool.stop_all()


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


