"""`manage.py probe --manifests docker/k8s` (17 objects), wall time against `django.setup()` alone.

    python -m readiness.stack exec -- python bench/probe_cli.py [--repeat 5]

Both run as fresh processes, in turn, as a CI step would start them; the medians and their ratio are
printed, with the heavy modules each one loaded (neither should load Typst, the PDF engine, nor the
kubernetes client). Runs in its own database, `readiness_bench_cli` on the server DATABASE_URL names
(migrated here, dropped at the end): the command reads the built-in template's bindings from it,
importing the template on its first run.

A run that fails stops the benchmark with its exit status and stderr, since a command that fails early
is fast: `django.setup()` must exit 0, and the probe command 0 or 1 (a probe failed: docker/k8s has no
Velero, Dapr or Prometheus) with its report written, the same status every time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _db import migrated_database

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "readiness_bench_cli"
HEAVY = ("typst", "kubernetes")
REPORT = f"""
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr))
"""
SETUP = REPORT + "import django; django.setup()"
PROBE = REPORT + "from django.core.management import execute_from_command_line; execute_from_command_line(sys.argv)"


def timed(code: str, *args: str) -> tuple[float, list[str], int, str]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "readiness.settings"})
    elapsed = time.perf_counter() - started
    try:
        loaded = json.loads(result.stderr.strip().splitlines()[-1])
    except (IndexError, ValueError):  # killed before the exit hook ran: the exit status says so
        loaded = None
    return elapsed, loaded, result.returncode, result.stderr


def failed(what: str, code: int, stderr: str, why: str) -> SystemExit:
    tail = "\n".join(stderr.strip().splitlines()[-20:])
    return SystemExit(f"{what} {why} (exit {code}); its timings would mean nothing. Its stderr:\n{tail}")


def timed_setup() -> tuple[float, list[str]]:
    seconds, loaded, code, stderr = timed(SETUP)
    if code != 0:
        raise failed("django.setup()", code, stderr, "failed")
    return seconds, loaded


def timed_probe(report: Path, args: tuple[str, ...], expected: int | None = None) -> tuple[float, list[str], int]:
    """One run of the probe command, checked: exit 0 or 1 (expected: the first run's), report written.
    A traceback exits 1 too, so the report is what tells a finished run from a crash."""
    report.unlink(missing_ok=True)
    seconds, loaded, code, stderr = timed(PROBE, *args, "-o", str(report))
    if code not in (0, 1):
        raise failed("probe", code, stderr, "failed")
    if not report.exists() or " probes: " not in report.read_text(encoding="utf-8"):
        raise failed("probe", code, stderr, "wrote no report")
    if expected is not None and code != expected:
        raise failed("probe", code, stderr, f"exited unlike its first run ({expected})")
    return seconds, loaded, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    probe_args = ("probe", "--manifests", "docker/k8s")
    with migrated_database(BENCH_DB), tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.txt"
        _, _, code = timed_probe(report, probe_args)  # the first run may import the built-in template
        setup_s, probe_s = [], []
        for _ in range(args.repeat):
            seconds, setup_loaded = timed_setup()
            setup_s.append(seconds)
            seconds, probe_loaded, _ = timed_probe(report, probe_args, expected=code)
            probe_s.append(seconds)
    setup, probe = statistics.median(setup_s), statistics.median(probe_s)
    print(f"django.setup() alone            {setup:6.2f} s  loads {setup_loaded or 'neither'}")
    print(f"probe --manifests docker/k8s    {probe:6.2f} s  loads {probe_loaded or 'neither'} (exit {code})")
    print(f"ratio                           {probe / setup:6.2f}x  (medians of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
