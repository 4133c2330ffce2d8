"""`make run`'s stack on embedded PostgreSQL and Redis: it comes up, restarts what crashes, and stops cleanly."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from django.conf import settings

from readiness.stack import Backoff, free_port

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


def _stack_env(tmp_path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "READINESS_SECRETS_KEYS", "READINESS_PLAIN_STATIC",
                        "READINESS_SIGNING_KEY", "READINESS_AUDIT_ANCHOR_FILE"}}
    env.update(READINESS_DATA_DIR=str(tmp_path / "var"), STATIC_ROOT=str(tmp_path / "static"),
               WEB_CONCURRENCY="1", WEB_THREADS="2", CELERY_CONCURRENCY="1")
    return env


def _start_stack(tmp_path) -> tuple[subprocess.Popen, int]:
    env = _stack_env(tmp_path)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "readiness.stack", "run", "--port", str(port)], env=env,
                               cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, port


def _celery(process: subprocess.Popen, role: str) -> psutil.Process | None:
    """The supervisor's direct child running `celery ... <role>` (worker or beat), if one runs."""
    for child in psutil.Process(process.pid).children():
        try:
            command = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "celery" in command and role in command and child.status() != psutil.STATUS_ZOMBIE:
            return child
    return None


def _replaced(process: subprocess.Popen, role: str, old_pid: int, timeout: float) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the supervisor stopped instead of restarting " + role
        child = _celery(process, role)
        if child is not None and child.pid != old_pid:
            return child
        time.sleep(0.2)
    raise AssertionError(f"{role} was not restarted within {timeout}s")


def test_backoff_doubles_to_thirty_seconds_and_resets_after_a_stable_run():
    backoff = Backoff()
    assert [backoff.next_delay(uptime=0.5) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next_delay(uptime=Backoff.STABLE_AFTER) == 1
    assert backoff.next_delay(uptime=3) == 2


def test_make_run_stack_comes_up_restarts_what_crashes_and_stops_cleanly(tmp_path):
    """One stack for all of it (starting one costs a minute): up on embedded servers, a SIGKILLed Celery
    main process restarted with a growing delay, and Ctrl-C stopping everyone in order."""
    process, port = _start_stack(tmp_path)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", process, timeout=180) == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200
        assert len(psutil.Process(process.pid).children(recursive=True)) >= 3  # web, worker, beat and theirs
        worker = _celery(process, "worker")
        pool = worker.children()
        worker.kill()  # SIGKILL the Celery main process, as the OOM killer would
        started = time.monotonic()
        second = _replaced(process, "worker", worker.pid, timeout=10)
        first_delay = time.monotonic() - started
        assert not [p for p in pool if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], "orphaned pool"
        second.kill()  # dies again at once: the next restart waits longer
        started = time.monotonic()
        _replaced(process, "worker", second.pid, timeout=10)
        second_delay = time.monotonic() - started
        assert first_delay < second_delay, (first_delay, second_delay)
        beat = _celery(process, "beat")
        beat.kill()
        _replaced(process, "beat", beat.pid, timeout=10)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200  # the web server was never stopped
        # The command-line tools work beside the running stack, on its data and secrets.
        tool = subprocess.run([sys.executable, "-m", "readiness.stack", "manage", "--", "verify_audit"],
                              env=_stack_env(tmp_path),
                              cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
        assert tool.returncode == 0, tool.stdout + tool.stderr
        assert "SECRET_KEY" not in tool.stderr
        descendants = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "worker exited with code -9; restarting in 1 s" in output
    assert "worker exited with code -9; restarting in 2 s" in output
    assert "beat exited with code -9; restarting in 1 s" in output
    # Web and workers first, then Redis, then PostgreSQL.
    order = [output.index(line) for line in ("stopping web, worker, beat", "stopping embedded Redis",
                                              "stopping embedded PostgreSQL", "[readiness] stopped")]
    assert order == sorted(order), output
    assert "demo logins" in output and "stopped" in output
    from readiness.demo import DEMO_USERS

    for username, *_ in DEMO_USERS:  # the banner names every demo user
        assert username in output, username
    assert not (tmp_path / "var" / "running.json").exists()
    assert not [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    # The data stays for the next run.
    assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
    # So do the generated secrets, the report signing key among them.
    assert (tmp_path / "var" / "signing_key.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "var" / "redis" / "redis.db").exists() or list((tmp_path / "var" / "redis").iterdir())

