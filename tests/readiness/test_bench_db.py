"""bench/_db.py: a benchmark makes its database on the server DATABASE_URL names, whether or not the
database named there exists (CI's `readiness_ci` does not: its tests only create `test_readiness_ci`)."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "bench"))
from _db import _server, _url_for, bench_name, drop_database, use_database  # noqa: E402


def exists(url: str, name: str) -> bool:
    with _server(url) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def test_a_benchmark_database_is_made_beside_a_database_that_does_not_exist(monkeypatch):
    missing = _url_for(os.environ["DATABASE_URL"], "readiness_absent_ci")
    assert not exists(missing, "readiness_absent_ci")
    monkeypatch.setenv("DATABASE_URL", missing)
    name = bench_name("readiness_bench_probe", missing)
    assert name == "readiness_absent_ci_bench_probe"

    original = use_database("readiness_bench_probe", fresh=True)
    try:
        assert original == missing
        assert os.environ["DATABASE_URL"] == _url_for(missing, name)
        assert exists(missing, name)
    finally:
        drop_database(original, "readiness_bench_probe")
    assert not exists(missing, name)
