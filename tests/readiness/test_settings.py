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
    # Ed25519, base64 of the 32 raw bytes (a PEM from `openssl genpkey -algorithm ed25519` works too).
    "READINESS_SIGNING_KEY": "n1Dfbl8lAtcRkiIM4IU9WvBr2uHAG+EmHLvhEtGbm6c=",
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


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS",
                                     "READINESS_SIGNING_KEY"])
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


def test_signing_key_can_be_pem_in_a_file_and_a_bad_one_is_named(tmp_path):
    from readiness.signing import generate_private_pem

    key = tmp_path / "signing.pem"
    key.write_text(generate_private_pem())
    env = {k: v for k, v in PROD.items() if k != "READINESS_SIGNING_KEY"}
    result = _manage({**env, "READINESS_SIGNING_KEY_FILE": str(key)}, "signing_key", "--public")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("-----BEGIN PUBLIC KEY-----") and "key id" in result.stderr
    result = _manage({**PROD, "READINESS_SIGNING_KEY": "not-a-key"}, "check")
    assert result.returncode != 0 and "READINESS_SIGNING_KEY is not an Ed25519 private key" in result.stderr
