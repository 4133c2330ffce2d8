"""A database of a benchmark's own, on the server DATABASE_URL names (host, port or socket kept)."""
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg


def _url_for(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _server(url: str) -> psycopg.Connection:
    """A connection to the server's `postgres` database, as Django's test runner makes one: the
    database DATABASE_URL names need not exist (CI's does not; its tests create test_<name>)."""
    return psycopg.connect(_url_for(url, "postgres"), autocommit=True)


def bench_name(name: str, url: str | None = None) -> str:
    """`name` for the database DATABASE_URL names by default (`readiness`); for another one, `name`
    with that database's name in it (`readiness_bench` beside `readiness_ci` is `readiness_ci_bench`),
    so two checkouts sharing a server never share a benchmark database."""
    current = urlsplit(url or os.environ["DATABASE_URL"]).path.lstrip("/") or "readiness"
    if current == "readiness" or not name.startswith("readiness_"):
        return name
    return f"{current}_{name.removeprefix('readiness_')}"


def use_database(name: str, *, fresh: bool = False) -> str:
    """Create `name` (see bench_name()) if missing (drop it first when `fresh`) and point
    DATABASE_URL at it.

    Returns the original DATABASE_URL, for drop_database().
    """
    original = os.environ["DATABASE_URL"]
    name = bench_name(name, original)
    with _server(original) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = _url_for(original, name)
    return original


def drop_database(original_url: str, name: str) -> None:
    name = bench_name(name, original_url)
    with _server(original_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_database(name: str):
    """A fresh database `name` (see bench_name()), migrated by `manage.py migrate` in a child process,
    for benchmarks whose commands run as processes of their own; dropped at the end."""
    original = use_database(name, fresh=True)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=Path(__file__).resolve().parent.parent,
                       check=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "readiness.settings"})
        yield
    finally:
        drop_database(original, name)
        os.environ["DATABASE_URL"] = original
