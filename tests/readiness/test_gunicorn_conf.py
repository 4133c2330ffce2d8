"""The web server is sized for the machine: threaded workers from the CPU count, overridable by env."""
import os
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from django.conf import settings

from readiness.gunicorn_conf import cpu_count
from readiness.stack import free_port

CONF = str(settings.BASE_DIR / "readiness" / "gunicorn_conf.py")


def _resolved(**env) -> dict[str, str]:
    """gunicorn's own view of the configuration (`--print-config`), as name -> value."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WEB_")}
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "--config", CONF, "readiness.wsgi"],
                          env={**base, **env}, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pairs = (line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def test_defaults_follow_the_cpu_count():
    config = _resolved()
    assert config["worker_class"] == "gthread"
    assert int(config["workers"]) == max(2, 2 * cpu_count())
    assert config["threads"] == "4"
    assert config["timeout"] == "60"
    assert config["keepalive"] == "5"


def test_environment_variables_size_it():
    config = _resolved(WEB_CONCURRENCY="3", WEB_THREADS="8", WEB_WORKER_CLASS="sync", WEB_TIMEOUT="30",
                       WEB_KEEPALIVE="75")
    assert (config["workers"], config["threads"], config["worker_class"], config["timeout"], config["keepalive"]) \
        == ("3", "8", "sync", "30", "75")


@pytest.mark.parametrize("value", ["many", "0", "-2"])
def test_a_bad_value_stops_it_with_a_message_naming_the_variable(value):
    base = {k: v for k, v in os.environ.items() if not k.startswith("WEB_")}
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "--config", CONF, "readiness.wsgi"],
                          env={**base, "WEB_THREADS": value}, cwd=settings.BASE_DIR, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert f"WEB_THREADS={value!r}" in done.stdout + done.stderr


def test_cpu_count_honours_a_container_cpu_limit(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("100000 100000\n")  # one CPU
    assert cpu_count(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: round up
    assert cpu_count(tmp_path) == min(affinity, 2)
    (tmp_path / "cpu.max").write_text("max 100000\n")  # no limit
    assert cpu_count(tmp_path) == affinity
    assert cpu_count(tmp_path / "missing") == affinity


def test_it_starts_that_many_threaded_workers_and_serves(tmp_path):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WEB_")}, "WEB_CONCURRENCY": "2",
           "WEB_THREADS": "3", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "readiness.wsgi", "--bind", f"127.0.0.1:{port}",
                                "--config", CONF], env=env, cwd=settings.BASE_DIR,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not answer"
                time.sleep(0.3)
        children = psutil.Process(process.pid).children()
        assert len(children) == 2
        # gthread: a worker runs its main thread plus request threads once it has served a request (the
        # pool starts them on demand, so only the worker that answered is sure to have one).
        assert any(child.num_threads() >= 2 for child in children if child.pid)
    finally:
        process.terminate()
        process.wait(20)


def test_a_worker_freezes_what_it_loaded_and_collects_less_often():
    """post_worker_init leaves the worker's long-lived objects (Django, the URLconf, compiled templates)
    out of every later collection, and raises the youngest generation's threshold above the default."""
    code = ("import gc, django; django.setup(); from readiness import gunicorn_conf; "
            "before = gc.get_freeze_count(); gunicorn_conf.post_worker_init(None); "
            "print(gc.get_freeze_count() - before, *gc.get_threshold())")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DJANGO_SETTINGS_MODULE": "readiness.settings"},
                          cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen, youngest, *_ = map(int, done.stdout.split())
    assert frozen > 50_000  # Django and the templates, not a handful of objects
    assert youngest > 700  # CPython's default: several collections a request
