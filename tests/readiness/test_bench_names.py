"""A benchmark script runs with bench/ first on Python's path, so a script named after a package of
the project would be imported in its place (bench/api.py once hid the `api` app from the URLconf)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_no_benchmark_script_hides_a_project_package():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    scripts = {path.stem for path in (ROOT / "bench").glob("*.py")}
    assert packages >= {"api", "checklists", "probes", "readiness"}  # the project is where the test looks
    assert not scripts & packages, f"rename bench/{sorted(scripts & packages)}.py"
