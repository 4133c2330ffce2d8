"""A snapshot from manifest bundles: multi-document YAML files or folders (e.g. `helm template` output).

A bundle shows what will be applied, not what runs: it has no Nodes, no running Pods, no server
version, and it only holds the components it ships. Nothing is marked `missing`; a probe that needs
Prometheus and finds none reports "not in the bundle".
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from probes.kinds import KINDS
from probes.snapshot import Snapshot

# Older API versions whose objects have the shape of the version we judge.
ALIASES = {
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): "autoscaling/v2/HorizontalPodAutoscaler",
    ("batch/v1beta1", "CronJob"): "batch/v1/CronJob",
    ("policy/v1beta1", "PodDisruptionBudget"): "policy/v1/PodDisruptionBudget",
    ("kafka.strimzi.io/v1beta1", "KafkaTopic"): "kafka.strimzi.io/v1beta2/KafkaTopic",
    ("kafka.strimzi.io/v1beta1", "Kafka"): "kafka.strimzi.io/v1beta2/Kafka",
}


class ManifestError(ValueError):
    """A bundle that cannot be read; the message names the file and the document."""


@dataclass
class ManifestSnapshot(Snapshot):
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)  # object ref -> (file, line)
    unknown_kinds: dict[str, int] = field(default_factory=dict)  # "apiVersion/Kind" -> count
    files: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        if not self.unknown_kinds:
            return ""
        kinds = ", ".join(f"{k} ({n})" for k, n in sorted(self.unknown_kinds.items()))
        return f"{sum(self.unknown_kinds.values())} object(s) of kinds no probe reads were ignored: {kinds}"


def load_manifests(paths) -> ManifestSnapshot:
    """Read files and folders (recursively, *.yaml and *.yml) into one snapshot."""
    files = list(_files([Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]))
    snap = ManifestSnapshot(source="manifests:" + ",".join(str(p) for p in files), live=False, files=[str(f) for f in files])
    unknown: Counter = Counter()
    for path in files:
        for number, line, doc in _documents(path):
            for obj in _expand(doc, path, number):
                _add(snap, obj, str(path), line, unknown)
    snap.unknown_kinds = dict(unknown)
    return snap


def _files(paths: list[Path]):
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            yield path
        else:
            raise ManifestError(f"{path}: no such file or folder")


def _documents(path: Path):
    """(document number from 1, first line, parsed document) for each non-empty document."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read: {exc}") from None
    loader = yaml.SafeLoader(text)
    number = 0
    try:
        while True:
            number += 1
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
                doc = loader.construct_document(node) if node is not None else None
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" line {mark.line + 1}" if mark else ""
                raise ManifestError(f"{path}: document {number}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
            if doc is not None:
                yield number, node.start_mark.line + 1, doc
    finally:
        loader.dispose()


def _expand(doc, path: Path, number: int) -> list[dict]:
    if not isinstance(doc, dict):
        raise ManifestError(f"{path}: document {number}: expected a Kubernetes object, found {type(doc).__name__}")
    if not doc.get("apiVersion") or not doc.get("kind"):
        missing = " and ".join(k for k in ("apiVersion", "kind") if not doc.get(k))
        raise ManifestError(f"{path}: document {number}: has no {missing}")
    if str(doc["kind"]).endswith("List") and isinstance(doc.get("items"), list):
        return [obj for item in doc["items"] for obj in _expand(item, path, number)]
    return [doc]


def _add(snap: ManifestSnapshot, obj: dict, path: str, line: int, unknown: Counter) -> None:
    kind_id = _kind_id(obj)
    if kind_id is None:
        unknown[f"{obj['apiVersion']}/{obj['kind']}"] += 1
        return
    kind = KINDS[kind_id]
    metadata = obj.setdefault("metadata", {}) or {}
    obj["metadata"] = metadata
    if kind.namespaced and not metadata.get("namespace"):
        metadata["namespace"] = "default"  # where kubectl apply puts it without -n
    if obj["apiVersion"] == "autoscaling/v1":
        obj = _hpa_v1_to_v2(obj)
    snap.objects.setdefault(kind_id, []).append(obj)
    object_ref = f"{kind.kind}/{metadata.get('name', '')}" if not kind.namespaced else f"{metadata['namespace']}/{kind.kind}/{metadata.get('name', '')}"
    snap.sources.setdefault(object_ref, (path, line))


def _kind_id(obj: dict) -> str | None:
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    if (api_version, kind) == ("autoscaling/v1", "HorizontalPodAutoscaler"):
        return "autoscaling/v2/HorizontalPodAutoscaler"
    candidate = f"{api_version}/{kind}"
    if candidate in KINDS:
        return candidate
    return ALIASES.get((api_version, kind))


def _hpa_v1_to_v2(hpa: dict) -> dict:
    """autoscaling/v1 keeps the CPU target in one field; judge it in the v2 shape."""
    spec = dict(hpa.get("spec") or {})
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
    return {**hpa, "apiVersion": "autoscaling/v2", "spec": spec}
