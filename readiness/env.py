"""Typed readers for settings taken from the environment.

Every helper fails loudly on a value it cannot read, and `*_FILE` variants let secrets come from
mounted files (Kubernetes Secrets, Docker secrets) instead of the environment.
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_required(name: str, why: str) -> str:
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set: {why}")
    return value


def env_signing_key(name: str, *, required: bool, why: str):
    """An Ed25519 private key (PEM, or base64 of its 32 raw bytes) from NAME or NAME_FILE; None when it
    is unset and not required."""
    from readiness.signing import SigningKeyError, load_private_key

    value = env_str(name)
    if not value:
        if required:
            raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE): {why}")
        return None
    try:
        return load_private_key(value)
    except SigningKeyError as exc:
        raise ImproperlyConfigured(f"{name} is not an Ed25519 private key: {exc}") from None


def env_group_map(name: str) -> list[tuple[str, str, str]]:
    """`group=team-slug:role` entries separated by `;` or new lines, e.g.
    `eng-platform=platform:engineer; CN=sec,OU=Groups,DC=corp=security:approver` (the last `=` splits,
    so LDAP-style group names keep theirs). Returns (group, team slug, role) triples."""
    raw = env_str(name)
    if not raw:
        return []
    entries = []
    for part in raw.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        group, sep, target = part.rpartition("=")
        team, colon, role = target.partition(":")
        if not sep or not colon or not group.strip() or not team.strip() or not role.strip():
            raise ImproperlyConfigured(f"{name}: {part!r} is not group=team-slug:role")
        entries.append((group.strip(), team.strip(), role.strip()))
    return entries
