"""Real artifacts for the artifact checks: produced by the tools where they are pip packages here
(pytest's --junitxml, coverage.py), written from the format's specification otherwise."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TINY_SUITE = {
    "tests/unit/test_math.py": """
        import pytest

        def test_adds():
            assert 1 + 1 == 2

        def test_subtracts():
            assert 2 - 1 == 1

        @pytest.mark.skip(reason="not on this platform")
        def test_skipped():
            pass
    """,
    "tests/integration/test_api.py": """
        def test_talks_to_the_api():
            assert "api" in "the api"
    """,
}


def _pytest_junit(folder: Path, files: dict[str, str]) -> bytes:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (folder / "pytest.ini").write_text("[pytest]\n")
    report = folder / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:django", "-p", "no:cacheprovider", "-p", "no:playwright",
         "-p", "no:hypothesispytest", f"--junitxml={report}", "-o", "junit_family=xunit2", "tests"],
        cwd=folder, capture_output=True, timeout=120, check=False,
    )
    return report.read_bytes()


@pytest.fixture(scope="session")
def junit_passing(tmp_path_factory) -> bytes:
    return _pytest_junit(tmp_path_factory.mktemp("suite-pass"), TINY_SUITE)


@pytest.fixture(scope="session")
def junit_failing(tmp_path_factory) -> bytes:
    files = {**TINY_SUITE, "tests/integration/test_db.py": """
        def test_writes_a_row():
            assert 1 == 2, "the row was not written"

        def test_errors():
            raise RuntimeError("database is down")
    """}
    return _pytest_junit(tmp_path_factory.mktemp("suite-fail"), files)


MODULE = """
def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"


def untested(n):
    if n > 100:
        return "big"
    return "small"


if __name__ == "__main__":
    classify(5)
    classify(0)
"""


def _coverage(folder: Path, *, branch: bool, fmt: str) -> bytes:
    (folder / "shop.py").write_text(MODULE)
    run = [sys.executable, "-m", "coverage", "run"] + (["--branch"] if branch else []) + ["shop.py"]
    subprocess.run(run, cwd=folder, check=True, capture_output=True, timeout=60)
    out = folder / f"coverage.{fmt}"
    subprocess.run([sys.executable, "-m", "coverage", fmt, "-o", str(out)], cwd=folder, check=True, capture_output=True, timeout=60)
    return out.read_bytes()


@pytest.fixture(scope="session")
def coverage_files(tmp_path_factory) -> dict[str, bytes]:
    """Cobertura XML and coverage.py JSON, with and without branch data, of a module 70% covered."""
    files = {}
    for branch in (True, False):
        for fmt in ("xml", "json"):
            files[f"{fmt}{'-branch' if branch else ''}"] = _coverage(tmp_path_factory.mktemp(f"cov-{fmt}-{branch}"), branch=branch, fmt=fmt)
    return files
