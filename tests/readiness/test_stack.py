"""`make run`'s stack on embedded PostgreSQL and Redis: it comes up, answers /healthz, and stops cleanly."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from django.conf import settings

from readiness.stack import free_port

pytestmark = pytest.mark.stack


def _wait_for(url: str, process: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the stack exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_make_run_stack_comes_up_on_embedded_servers_and_stops_cleanly(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "READINESS_SECRETS_KEYS", "READINESS_PLAIN_STATIC"}}
    env.update(READINESS_DATA_DIR=str(tmp_path / "var"), STATIC_ROOT=str(tmp_path / "static"),
               WEB_CONCURRENCY="1", CELERY_CONCURRENCY="1")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "readiness.stack", "run", "--port", str(port)], env=env,
                               cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", process, timeout=180) == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200
        # The command-line tools work beside the running stack, on its data and secrets.
        tool = subprocess.run([sys.executable, "-m", "readiness.stack", "manage", "--", "verify_audit"], env=env,
                              cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
        assert tool.returncode == 0, tool.stdout + tool.stderr
        assert "SECRET_KEY" not in tool.stderr
        descendants = psutil.Process(process.pid).children(recursive=True)
        assert len(descendants) >= 3  # web, worker, beat (and their own children)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "demo logins" in output and "stopped" in output
    from readiness.demo import DEMO_USERS

    for username, *_ in DEMO_USERS:  # the banner names every demo user
        assert username in output, username
    assert not (tmp_path / "var" / "running.json").exists()
    assert not [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    # The data stays for the next run.
    assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
    assert (tmp_path / "var" / "redis" / "redis.db").exists() or list((tmp_path / "var" / "redis").iterdir())
