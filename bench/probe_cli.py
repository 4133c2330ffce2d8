"""`manage.py probe --manifests docker/k8s` (17 objects), wall time against `django.setup()` alone.

    python -m readiness.stack exec -- python bench/probe_cli.py [--repeat 5]

Both run as fresh processes, in turn, as a CI step would start them; the medians and their ratio are
printed, with the heavy modules each one loaded (neither should load Typst, the PDF engine, nor the
kubernetes client). Uses the configured database (the command reads the built-in template's bindings,
importing it if missing).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("typst", "kubernetes")
REPORT = f"""
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr))
"""
SETUP = REPORT + "import django; django.setup()"
PROBE = REPORT + "from django.core.management import execute_from_command_line; execute_from_command_line(sys.argv)"


def timed(code: str, *args: str) -> tuple[float, list[str], int]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "readiness.settings"})
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(result.stderr.strip().splitlines()[-1]), result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    probe_args = ("probe", "--manifests", "docker/k8s", "-o", os.devnull)
    timed(PROBE, *probe_args)  # the first run may import the built-in template
    setup_s, probe_s = [], []
    for _ in range(args.repeat):
        seconds, setup_loaded, _ = timed(SETUP)
        setup_s.append(seconds)
        seconds, probe_loaded, code = timed(PROBE, *probe_args)
        probe_s.append(seconds)
    setup, probe = statistics.median(setup_s), statistics.median(probe_s)
    print(f"django.setup() alone            {setup:6.2f} s  loads {setup_loaded or 'neither'}")
    print(f"probe --manifests docker/k8s    {probe:6.2f} s  loads {probe_loaded or 'neither'} (exit {code})")
    print(f"ratio                           {probe / setup:6.2f}x  (medians of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
