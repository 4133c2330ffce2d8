"""Load test: 50 logged-in clients against the web server as `make run` starts it, on loopback.

    python -m readiness.stack exec -- python bench/load.py [--clients 50] [--seconds 20] [--releases 200] [--fresh]

Runs against its own database, `readiness_bench_load` on the server DATABASE_URL names (created and
migrated if missing; the releases are kept for the next run, and so are the comments and audit events
each run adds to the open ones: `--fresh` builds the database again, for figures comparable with
another day's). Starts gunicorn with the settings `make run` gives it (readiness.wsgi and
readiness/gunicorn_conf.py, which sizes workers and threads for the machine unless WEB_CONCURRENCY,
WEB_THREADS or WEB_WORKER_CLASS say otherwise) on a free loopback port. Three phases, each stopping
by itself after --seconds:

1. `/healthz` alone, the clients in a closed loop: the server's floor.
2. The mix, closed loop: 60% page reads (release page 50%, dashboard 20%, item page 20%, my items
   10%), 25% the release page's live poll (with the cursor it was last given), 15% writes (two
   thirds status changes with the version last seen, one third comments), on ten open releases.
3. The same mix with 1 s think time between a client's requests: per-endpoint latency as people
   would see it.

Prints per-endpoint counts, p50/p95/p99 and errors, the throughput of each phase and the mix's
ratio to `/healthz`, the web server's CPU time per request in each phase (its master and workers;
on a machine shared with other work it moves less between runs than throughput does), then the
lost-write check: every acknowledged status change (HTTP 200) and comment has its audit event, no
unacknowledged one has, and each item ends in the status of its last acknowledged change.
"""
import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _db import bench_name, use_database  # noqa: E402

BENCH_DB = "readiness_bench_load"
ACTIVE_RELEASES = 10
STATUSES = ["open", "in_progress", "done", "failed", "not_applicable"]
_CURSOR = re.compile(r"changes/\?since=(\d+)")
_VERSION = re.compile(r'name="version" value="(\d+)"')


# --- the stack -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(port: int, metrics_dir: str) -> subprocess.Popen:
    """gunicorn as readiness/stack.py's `run` starts it (keep the two in step)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    command = [sys.executable, "-m", "gunicorn", "readiness.wsgi", "--bind", f"127.0.0.1:{port}",
               "--config", str(ROOT / "readiness" / "gunicorn_conf.py"), "--log-level", "warning"]
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def wait_until_up(port: int, child: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit("gunicorn stopped before it answered")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def web_sizing() -> str:
    """The worker class, processes and threads gunicorn_conf.py picks in this environment."""
    import runpy

    conf = runpy.run_path(str(ROOT / "readiness" / "gunicorn_conf.py"))
    threads = f" x {conf['threads']} threads" if conf["worker_class"] == "gthread" else ""
    return f"{conf['worker_class']}, {conf['workers']} workers{threads}"


# --- data ----------------------------------------------------------------------------------------
def prepare(releases: int, clients: int):
    """The seed template, `releases` releases (the first ten open, the rest approved), and `clients`
    engineers of the platform team with a session each. Returns (sessions, targets)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from checklists.models import Membership, Release, ReleaseItem, Role, Team
    from checklists.seed import load_default_template
    from checklists.services.releases import release_create

    version = load_default_template().version
    users = get_user_model().objects
    manager, _ = users.get_or_create(username="load-manager")
    Membership.objects.get_or_create(user=manager, team=Team.objects.get(slug="release"),
                                     defaults={"role": Role.RELEASE_MANAGER})
    existing = Release.objects.filter(service__startswith="load-").count()
    if existing < releases:
        started = time.perf_counter()
        with transaction.atomic():
            for n in range(existing, releases):
                release = release_create(template_version=version, service=f"load-{n % 40}", version=f"1.{n}",
                                         by=manager)
                if n >= ACTIVE_RELEASES:
                    Release.objects.filter(pk=release.pk).update(state=Release.State.APPROVED)
        print(f"created {releases - existing} releases in {time.perf_counter() - started:.1f} s")
    platform = Team.objects.get(slug="platform")
    sessions = []
    for n in range(clients):
        user, _ = users.get_or_create(username=f"load-engineer-{n:02d}")
        Membership.objects.get_or_create(user=user, team=platform, defaults={"role": Role.ENGINEER})
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # a session names a configured one
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    active = list(Release.objects.filter(service__startswith="load-").order_by("pk")[:ACTIVE_RELEASES])
    targets = {}
    for release in active:
        items = list(ReleaseItem.objects.filter(release=release, owner_team=platform).order_by("order")
                     .values_list("pk", "version"))
        targets[release.pk] = dict(items)
    return sessions, targets


# --- clients -------------------------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.latency = defaultdict(list)  # endpoint -> seconds
        self.errors = defaultdict(int)
        self.error_statuses = defaultdict(int)  # (endpoint, HTTP status; 0: the connection failed) -> count
        self.acknowledged = []  # (kind, item, value, version) of writes answered 200
        self.refused = defaultdict(int)  # 409s: someone else saved first (expected under contention)

    def add(self, endpoint: str, seconds: float, status: int, expected=(200,)):
        self.latency[endpoint].append(seconds)
        if status not in expected:
            self.errors[endpoint] += 1
            self.error_statuses[endpoint, status] += 1


class LoadClient:
    def __init__(self, http, session_key: str, targets: dict, recorder: Recorder, rng: random.Random):
        self.http, self.targets, self.recorder, self.rng = http, targets, recorder, rng
        self.http.cookies.set("sessionid", session_key)
        self.cursors: dict[int, str] = {}
        self.versions = {pk: version for items in targets.values() for pk, version in items.items()}
        self.csrf = ""

    async def send(self, method: str, url: str, **kwargs):
        """The response, or a stand-in with status 0 when the connection failed (counted as an error;
        a write that may or may not have landed is left to the lost-write check)."""
        import httpx

        try:
            return await self.http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            return httpx.Response(0, text=f"{type(error).__name__}: {error}")

    async def get(self, endpoint: str, url: str, **kwargs):
        started = time.perf_counter()
        response = await self.send("GET", url, **kwargs)
        self.recorder.add(endpoint, time.perf_counter() - started, response.status_code,
                          expected=(200, 204))
        return response

    async def start(self):
        # Any page sets the CSRF cookie; the header repeats it on writes.
        release = next(iter(self.targets))
        response = await self.release_page(release)
        if response.status_code != 200:
            raise SystemExit(f"the release page answered {response.status_code}: the session does not log in")
        self.csrf = self.http.cookies.get("csrftoken", "")

    async def release_page(self, release: int):
        response = await self.get("release page", f"/releases/{release}/")
        found = _CURSOR.search(response.text)
        if found:
            self.cursors[release] = found.group(1)
        return response

    async def step(self):
        release = self.rng.choice(list(self.targets))
        roll = self.rng.random()
        if roll < 0.60:
            page = self.rng.random()
            if page < 0.5:
                await self.release_page(release)
            elif page < 0.7:
                await self.get("dashboard", "/")
            elif page < 0.9:
                item = self.rng.choice(list(self.targets[release]))
                await self.get("item page", f"/releases/{release}/items/{item}/")
            else:
                await self.get("my items", "/my-items/")
        elif roll < 0.85:
            if release not in self.cursors:
                await self.release_page(release)
                return
            response = await self.get("live poll", f"/releases/{release}/changes/",
                                      params={"since": self.cursors[release]}, headers={"HX-Request": "true"})
            found = _CURSOR.search(response.text) if response.status_code == 200 else None
            if found:
                self.cursors[release] = found.group(1)
        elif roll < 0.95:
            await self.set_status(release)
        else:
            await self.comment(release)

    async def set_status(self, release: int):
        item = self.rng.choice(list(self.targets[release]))
        status = self.rng.choice(STATUSES)
        started = time.perf_counter()
        response = await self.send("POST", f"/releases/{release}/items/{item}/edit/",
                                   data={"status": status, "version": self.versions[item]},
                                   headers={"HX-Request": "true", "X-CSRFToken": self.csrf})
        self.recorder.add("status change", time.perf_counter() - started, response.status_code,
                          expected=(200, 409))
        found = _VERSION.search(response.text)
        if found:
            self.versions[item] = int(found.group(1))
        if response.status_code == 200 and "Nothing to save" not in response.text:
            self.recorder.acknowledged.append(("status", item, status, self.versions[item]))
        elif response.status_code == 409:
            self.recorder.refused["status change"] += 1

    async def comment(self, release: int):
        item = self.rng.choice(list(self.targets[release]))
        body = f"load test comment {self.rng.getrandbits(48):x}"
        started = time.perf_counter()
        response = await self.send("POST", f"/releases/{release}/items/{item}/comments/", data={"body": body},
                                   headers={"HX-Request": "true", "X-CSRFToken": self.csrf})
        self.recorder.add("comment", time.perf_counter() - started, response.status_code)
        if response.status_code == 200:
            self.recorder.acknowledged.append(("comment", item, body, None))


async def run_phase(base_url: str, sessions, targets, *, seconds: float, think: float, mix: bool,
                    seed: int) -> tuple[Recorder, float, int]:
    """Every client in a loop until `seconds` have passed; returns (recorder, elapsed, requests)."""
    import httpx

    recorder = Recorder()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) for _ in sessions]
    try:
        loads = [LoadClient(http, key, targets, recorder, random.Random(seed * 10_000 + n))
                 for n, (http, key) in enumerate(zip(clients, sessions))]
        if mix:
            await asyncio.gather(*(load.start() for load in loads))
            recorder.latency.clear()
            recorder.errors.clear()
        started = time.perf_counter()
        deadline = started + seconds

        async def loop(load: LoadClient):
            while time.perf_counter() < deadline:
                if mix:
                    await load.step()
                else:
                    await load.get("/healthz", "/healthz")
                if think:
                    await asyncio.sleep(think * load.rng.uniform(0.5, 1.5))

        await asyncio.gather(*(loop(load) for load in loads))
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return recorder, elapsed, sum(len(v) for v in recorder.latency.values())


def server_cpu(child: subprocess.Popen) -> float:
    """CPU seconds (user and system) the web server has used so far: its master and every worker."""
    import psutil

    total = 0.0
    master = psutil.Process(child.pid)
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measured(child: subprocess.Popen, phase) -> tuple:
    """Run the phase; returns (recorder, elapsed, requests, server CPU seconds spent on it)."""
    before = server_cpu(child)
    recorder, elapsed, requests = asyncio.run(phase)
    return recorder, elapsed, requests, server_cpu(child) - before


def report(title: str, recorder: Recorder, elapsed: float, requests: int, cpu: float) -> float:
    throughput = requests / elapsed
    print(f"\n{title}: {requests} requests in {elapsed:.1f} s = {throughput:.1f} requests/s; "
          f"web server CPU {cpu / max(requests, 1) * 1000:.2f} ms per request ({cpu / elapsed:.2f} cores busy)")
    print(f"  {'endpoint':<16} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for endpoint, values in sorted(recorder.latency.items()):
        ordered = sorted(values)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
        print(f"  {endpoint:<16} {len(values):>6} {statistics.median(values) * 1000:>8.0f} {pick(0.95):>8.0f} "
              f"{pick(0.99):>8.0f} {recorder.errors.get(endpoint, 0):>7}")
    if recorder.error_statuses:
        print("  errors by status (0: connection failed):",
              ", ".join(f"{endpoint} {status}: {n}" for (endpoint, status), n in sorted(recorder.error_statuses.items())))
    if recorder.refused:
        print(f"  refused as stale (409, expected when two clients save one item): {dict(recorder.refused)}")
    return throughput


def lost_writes(recorders: list[Recorder], since_event: int) -> int:
    """Acknowledged writes against audit events and final state; returns the number of problems."""
    from checklists.models import AuditEvent, Comment, ReleaseItem

    acknowledged = [ack for recorder in recorders for ack in recorder.acknowledged]
    status_acks = [a for a in acknowledged if a[0] == "status"]
    comment_list = [a[2] for a in acknowledged if a[0] == "comment"]
    comment_acks = set(comment_list)
    events = AuditEvent.objects.filter(id__gt=since_event, actor_name__startswith="load-engineer-")
    status_events = events.filter(action="checklists.item.status_changed").count()
    comment_events = events.filter(action="checklists.comment.added").count()
    stored_comments = set(Comment.objects.filter(body__startswith="load test comment ",
                                                 author__username__startswith="load-engineer-")
                          .values_list("body", flat=True))
    last = {}
    for _, item, status, version in status_acks:
        if version >= last.get(item, (0, ""))[0]:
            last[item] = (version, status)
    final = dict(ReleaseItem.objects.filter(pk__in=list(last)).values_list("pk", "status"))
    wrong = [item for item, (_, status) in last.items() if final[item] != status]
    missing_comments = comment_acks - stored_comments
    print(f"\nlost-write check: {len(status_acks)} acknowledged status changes, {status_events} audit events; "
          f"{len(comment_list)} acknowledged comments, {comment_events} audit events, "
          f"{len(comment_acks & stored_comments)} stored; {len(last)} items changed, "
          f"{len(last) - len(wrong)} end in the status of their last acknowledged change")
    problems = abs(len(status_acks) - status_events) + abs(len(comment_list) - comment_events)
    problems += len(comment_list) - len(comment_acks)  # two acknowledged comments with one body
    problems += len(wrong) + len(missing_comments)
    print("  nothing lost" if not problems else f"  PROBLEMS: {problems}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--fresh", action="store_true",
                        help="drop the database and build it again: every run adds comments and audit events "
                             "to the same open releases, so runs are comparable only within one window without it")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL is not set: run through `python -m readiness.stack exec -- python bench/load.py`.")
    name = bench_name(BENCH_DB)
    use_database(BENCH_DB, fresh=args.fresh)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    import django

    django.setup()
    import logging

    from django.core.management import call_command
    from django.db import connections

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise

    call_command("migrate", "--noinput", verbosity=0)
    sessions, targets = prepare(args.releases, args.clients)
    from django.db import connection

    with connection.cursor() as db:
        # Fresh rows, stale statistics: without this the planner may misjudge the first runs (and
        # compile queries with its JIT, tens of milliseconds each).
        db.execute("ANALYZE")
    from checklists.models import AuditEvent, Comment, Release, ReleaseItem

    since_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    open_ones = Release.objects.filter(pk__in=targets)
    print(f"database {name}: {Release.objects.count()} releases, {ReleaseItem.objects.count()} items; "
          f"the open ones hold {Comment.objects.filter(item__release__in=open_ones).count()} comments and "
          f"{AuditEvent.objects.filter(release__in=open_ones).count()} audit events before this run; "
          f"{args.clients} clients on {len(targets)} open releases; {os.cpu_count()} CPUs; "
          f"web server {web_sizing()}")
    connections.close_all()
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="readiness-load-metrics-")
    child = start_web(port, metrics_dir)
    try:
        wait_until_up(port, child)
        base_url = f"http://127.0.0.1:{port}"
        floor_rps = report("/healthz alone, closed loop", *measured(child, run_phase(
            base_url, sessions, targets, seconds=args.seconds, think=0, mix=False, seed=1)))
        mix_result = measured(child, run_phase(base_url, sessions, targets, seconds=args.seconds, think=0,
                                               mix=True, seed=2))
        mix_rps = report("the mix, closed loop", *mix_result)
        think_result = measured(child, run_phase(base_url, sessions, targets, seconds=args.seconds, think=1.0,
                                                 mix=True, seed=3))
        report("the mix, 1 s think time", *think_result)
        worst = max((sorted(v)[min(len(v) - 1, int(0.95 * len(v)))] for v in think_result[0].latency.values()),
                    default=0)
        print(f"\nmix throughput / /healthz throughput = {mix_rps:.1f} / {floor_rps:.1f} = {mix_rps / floor_rps:.3f}")
        print(f"worst endpoint p95 with 1 s think time: {worst * 1000:.0f} ms")
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    problems = lost_writes([mix_result[0], think_result[0]], since_event)
    connections.close_all()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
