"""The benchmarks that time the probe command in processes of their own (bench/probe_cli.py and
bench/probe_bundle.py): `make bench` runs them on a fresh install, so each must build the database it
reads and finish with its ratio, on short runs as on long ones."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RATIO = re.compile(r"^ratio\s+\d+\.\d\dx", re.MULTILINE)


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_probe_cli_benchmark_migrates_its_own_database_and_prints_its_ratio():
    done = run_bench("bench/probe_cli.py", "--repeat", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert RATIO.search(done.stdout), done.stdout
    assert "loads neither (exit 1)" in done.stdout  # docker/k8s has no Velero: a probe fails, as it should


def test_probe_bundle_benchmark_checks_each_run_and_prints_its_ratio():
    done = run_bench("bench/probe_bundle.py", "--apps", "4", "--repeat", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "4 apps, 16 objects" in done.stdout
    assert RATIO.search(done.stdout), done.stdout
