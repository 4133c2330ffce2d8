"""Production settings: safe by default, loud when something is missing."""
import os
import subprocess
import sys

import pytest
from django.conf import settings

PROD = {
    "SECRET_KEY": "x" * 60 + "production-grade-secret-key-for-the-deploy-check",
    "DATABASE_URL": "postgresql://readiness@db.internal:5432/readiness",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "readiness.example.com",
}


def _manage(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    # Only what a production container would have: none of the local stack's relaxations.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "PYTHONPATH", "LANG") if key in os.environ}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True, text=True,
                          cwd=settings.BASE_DIR, timeout=60)


def test_check_deploy_reports_nothing_with_production_settings():
    result = _manage(PROD, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_a_missing_production_setting_stops_the_start_with_its_name(missing):
    env = {key: value for key, value in PROD.items() if key != missing}
    result = _manage(env, "check")
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_bad_boolean_is_refused():
    result = _manage({**PROD, "DEBUG": "maybe"}, "check")
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(PROD["SECRET_KEY"])
    env = {key: value for key, value in PROD.items() if key != "SECRET_KEY"}
    result = _manage({**env, "SECRET_KEY_FILE": str(secret)}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
