"""Bindings of checklist item keys to probes, as shipped with a template (probe-bindings.yaml).

The file maps each item key to `{probe: <id>, params: {...}}`; params hold only what differs from
the probe's defaults. Items bound to the same probe with the same params are evaluated once.
"""
import json
from pathlib import Path

from probes.base import CATALOGUE, ParamsError
from probes.evaluate import Binding
from readiness import safe_yaml

SEED_BINDINGS = Path(__file__).resolve().parent.parent / "checklists" / "seed" / "probe-bindings.yaml"


class BindingsError(ValueError):
    pass


def read_bindings(path: Path | str = SEED_BINDINGS) -> dict[str, dict]:
    """{item key: {"probe": id, "params": {...}}}, validated against the catalogue."""
    try:
        data = safe_yaml.load(Path(path).read_text(encoding="utf-8"), name=str(path)) or {}
    except (OSError, UnicodeDecodeError, safe_yaml.YamlError) as exc:
        raise BindingsError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise BindingsError(f"{path}: expected a mapping of item keys to probes")
    for key, entry in data.items():
        if not isinstance(entry, dict) or "probe" not in entry or set(entry) - {"probe", "params"}:
            raise BindingsError(f"{path}: {key}: expected {{probe: <id>, params: {{...}}}}")
        probe = CATALOGUE.get(entry["probe"])
        if probe is None:
            raise BindingsError(f"{path}: {key}: unknown probe {entry['probe']!r}")
        try:
            probe.parse_params(entry.get("params") or {})
        except ParamsError as exc:
            raise BindingsError(f"{path}: {key}: {exc}") from None
    return data


def group(bindings: dict[str, dict]) -> list[Binding]:
    """One Binding per (probe, params), holding every item key it decides, in file order."""
    grouped: dict[tuple[str, str], list[str]] = {}
    params: dict[tuple[str, str], dict] = {}
    for key, entry in bindings.items():
        group_key = (entry["probe"], json.dumps(entry.get("params") or {}, sort_keys=True))
        grouped.setdefault(group_key, []).append(key)
        params[group_key] = entry.get("params") or {}
    return [Binding(probe_id, params[(probe_id, p)], tuple(items)) for (probe_id, p), items in grouped.items()]


def load_bindings(path: Path | str = SEED_BINDINGS) -> list[Binding]:
    return group(read_bindings(path))
