"""The artifact checks, the collectors and the registry import no Django: callers outside the app
(a CI step, the benchmark) use them as plain Python."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_artifact_checks_collectors_and_the_registry_import_no_django():
    code = ("import sys; import probes.engine.artifacts, probes.engine.observability, probes.engine.registry; "
            "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
