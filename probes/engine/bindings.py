"""Bindings of checklist item keys to what decides them, as shipped with a template (probe-bindings.yaml).

Each item key maps to exactly one of `{probe: <id>}` (a Kubernetes probe), `{artifact: <id>}` (an
artifact check judging a file attached to the item) or `{collector: <id>}` (a check of facts an
observability collector reads), with `params` holding only what differs from its defaults. Items
bound to the same probe with the same params are evaluated once.
"""
import json
from pathlib import Path

from probes.engine import registry
from probes.engine.outcome import ParamsError
from probes.engine.evaluate import Binding
from readiness import safe_yaml

SEED_BINDINGS = Path(__file__).resolve().parents[2] / "checklists" / "seed" / "probe-bindings.yaml"
KINDS = registry.KINDS  # ("probe", "artifact", "collector")


class BindingsError(ValueError):
    pass


def read_bindings(path: Path | str = SEED_BINDINGS) -> dict[str, dict]:
    """{item key: {"probe"|"artifact"|"collector": id, "params": {...}}}, each id known to its
    registry and each params validated by the check it names."""
    try:
        data = safe_yaml.load(Path(path).read_text(encoding="utf-8"), name=str(path)) or {}
    except (OSError, UnicodeDecodeError, safe_yaml.YamlError) as exc:
        raise BindingsError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise BindingsError(f"{path}: expected a mapping of item keys to probes")
    for key, entry in data.items():
        kinds = [k for k in KINDS if isinstance(entry, dict) and k in entry]
        if not isinstance(entry, dict) or len(kinds) != 1 or set(entry) - {*KINDS, "params"}:
            raise BindingsError(f"{path}: {key}: expected {{probe: <id>, params: {{...}}}} (or artifact: / collector: instead of probe:)")
        kind = kinds[0]
        check = registry.lookup(kind, entry[kind])
        if check is None:
            raise BindingsError(f"{path}: {key}: unknown {kind} {entry[kind]!r}")
        try:
            check.parse_params(entry.get("params") or {})
        except ParamsError as exc:
            raise BindingsError(f"{path}: {key}: {exc}") from None
    return data


def kind_of(entry: dict) -> str:
    return next(k for k in KINDS if k in entry)


def of_kind(bindings: dict[str, dict], kind: str) -> dict[str, dict]:
    """The bindings decided by one kind of check, e.g. the Kubernetes probes only."""
    return {key: entry for key, entry in bindings.items() if kind in entry}


def group(bindings: dict[str, dict]) -> list[Binding]:
    """One Binding per (probe, params), holding every item key it decides, in file order. Only
    Kubernetes probes run over a snapshot: artifact and collector bindings are left out."""
    grouped: dict[tuple[str, str], list[str]] = {}
    params: dict[tuple[str, str], dict] = {}
    for key, entry in of_kind(bindings, "probe").items():
        group_key = (entry["probe"], json.dumps(entry.get("params") or {}, sort_keys=True))
        grouped.setdefault(group_key, []).append(key)
        params[group_key] = entry.get("params") or {}
    return [Binding(probe_id, params[(probe_id, p)], tuple(items)) for (probe_id, p), items in grouped.items()]


def load_bindings(path: Path | str = SEED_BINDINGS) -> list[Binding]:
    return group(read_bindings(path))
