"""Gunicorn settings for `make run` and the container image, sized for the machine it runs on.

Threaded workers (`gthread`): a request spends much of its time waiting on PostgreSQL, and a thread
waiting frees the GIL for another, while whole processes cost ~100 MB each. By default two worker
processes per CPU that the process may use (its affinity mask, or the container's cgroup CPU limit,
whichever is smaller), at least two, each with four threads. Every thread may hold one database
connection: workers x threads is the connection count to plan PostgreSQL's max_connections for.

    WEB_CONCURRENCY      worker processes           default 2 x CPUs (at least 2)
    WEB_THREADS          threads per worker         default 4
    WEB_WORKER_CLASS     gunicorn worker class      default gthread (sync: one request per process)
    WEB_TIMEOUT          seconds before a silent worker is killed   default 60
    WEB_KEEPALIVE        seconds an idle client connection is kept   default 5

Workers compile the project's templates as they start (post_worker_init), not on the first requests
they serve, then put what they have loaded out of the garbage collector's reach. An idle connection
is kept 5 s rather than gunicorn's 2: a client busy between two requests (a browser parsing a page,
a proxy's pooled connection) otherwise meets a connection the server is closing, and a request sent
on it is lost.
"""
import gc
import math
import os
from pathlib import Path


def cpu_count(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may use: the affinity mask, capped by a cgroup v2 CPU limit when there is one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: expected a whole number") from None
    if value < 1:
        raise SystemExit(f"{name}={raw!r}: expected 1 or more")
    return value


def post_worker_init(worker):
    """Compile the project's templates (and the form widgets' ones) as the worker starts: each process
    compiles a template once and keeps it, and a fresh worker would otherwise pay for all of them on
    its first requests."""
    import logging
    from pathlib import Path

    from django.conf import settings
    from django.forms.renderers import get_default_renderer
    from django.template import TemplateSyntaxError, engines

    engine = engines["django"]
    names = [str(path.relative_to(folder)) for folder in map(Path, settings.TEMPLATES[0]["DIRS"])
             for path in sorted(folder.rglob("*.html"))]
    for name in names:
        try:
            engine.get_template(name)
        except TemplateSyntaxError as error:  # the request that needs it will show the error
            logging.getLogger(__name__).warning("Template %s does not compile: %s", name, error)
    renderer = get_default_renderer()
    for widget in ("attrs", "select", "select_option", "input", "text", "textarea", "hidden", "date", "checkbox"):
        renderer.get_template(f"django/forms/widgets/{widget}.html")
    _settle_garbage_collector()


def _settle_garbage_collector():
    """What the worker holds by now (Django, the URLconf, the compiled templates) lives as long as
    the process: freeze it, so that no later collection walks it again, and collect the youngest
    objects less often. A request allocates tens of thousands of objects that die with it; with
    CPython's default threshold (700) the collector ran a few times a request and, with the full
    collections over everything loaded, took 7% of the workers' CPU in bench/load.py (5% after)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 10)


def child_exit(server, worker):
    # Per-process metric files of a dead worker must be marked, or gauges keep its last values.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


workers = _positive_int("WEB_CONCURRENCY", max(2, 2 * cpu_count()))
worker_class = os.environ.get("WEB_WORKER_CLASS", "").strip() or "gthread"
threads = _positive_int("WEB_THREADS", 4)
graceful_timeout = 10
timeout = _positive_int("WEB_TIMEOUT", 60)
keepalive = _positive_int("WEB_KEEPALIVE", 5)
