"""A snapshot from manifest bundles: multi-document YAML files or folders (e.g. `helm template` output).

A bundle shows what will be applied, not what runs: it has no Nodes, no running Pods, no server
version, and it only holds the components it ships. Nothing is marked `missing`; a probe that needs
Prometheus and finds none reports "not in the bundle".

Nothing is dropped without a word: an object of a kind the probes read but written with a removed or
unknown apiVersion (`extensions/v1beta1` Deployment, `apiVersion: v1` Deployment) is still judged in
the current shape and listed in `api_problems`, which fails every probe reading that kind; documents
that are not Kubernetes objects at all (a compose file) are skipped and listed in the note.
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

# API versions Kubernetes no longer serves: (apiVersion, kind) -> the release that removed it.
REMOVED = {
    **{(v, k): "1.16" for v in ("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2") for k in ("Deployment", "DaemonSet", "ReplicaSet", "StatefulSet")},
    ("extensions/v1beta1", "NetworkPolicy"): "1.16",
    ("extensions/v1beta1", "Ingress"): "1.22",
    ("networking.k8s.io/v1beta1", "Ingress"): "1.22",
    ("networking.k8s.io/v1beta1", "IngressClass"): "1.22",
    ("apiregistration.k8s.io/v1beta1", "APIService"): "1.22",
    ("storage.k8s.io/v1beta1", "StorageClass"): "1.22",
    ("batch/v1beta1", "CronJob"): "1.25",
    ("policy/v1beta1", "PodDisruptionBudget"): "1.25",
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): "1.25",
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): "1.26",
}
# Still served, but on their way out: judged, and reported as findings.
DEPRECATED = {
    ("kafka.strimzi.io/v1beta1", "KafkaTopic"): "kafka.strimzi.io/v1beta2",
    ("kafka.strimzi.io/v1beta1", "Kafka"): "kafka.strimzi.io/v1beta2",
}
# Groups whose kind names are Kubernetes' own: a "Deployment" there is ours in any version, while
# a "Service" in serving.knative.dev is another resource altogether.
_CORE_GROUPS = {"", "apps", "extensions", "batch", "policy", "autoscaling"}


@dataclass(frozen=True)
class ApiProblem:
    """An object whose apiVersion is not the one the catalogue reads for its kind."""

    object: str  # "namespace/Kind/name"
    kind_id: str  # the kind it was judged as
    api_version: str
    severity: str  # "removed", "unknown" or "deprecated"
    message: str


class ManifestError(ValueError):
    """A bundle that cannot be read; the message names the file and the document."""


@dataclass
class ManifestSnapshot(Snapshot):
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)  # object ref -> (file, line)
    unknown_kinds: dict[str, int] = field(default_factory=dict)  # "apiVersion/Kind" -> count
    files: list[str] = field(default_factory=list)
    api_problems: list[ApiProblem] = field(default_factory=list)
    skipped_documents: list[str] = field(default_factory=list)  # "file: document n: why"

    @property
    def note(self) -> str:
        notes = []
        if self.unknown_kinds:
            kinds = ", ".join(f"{k} ({n})" for k, n in sorted(self.unknown_kinds.items()))
            notes.append(f"{sum(self.unknown_kinds.values())} object(s) of kinds no probe reads were ignored: {kinds}")
        if self.skipped_documents:
            shown = "; ".join(self.skipped_documents[:5]) + ("; …" if len(self.skipped_documents) > 5 else "")
            notes.append(f"{len(self.skipped_documents)} document(s) that are not Kubernetes objects were skipped: {shown}")
        return ". ".join(notes)


def load_manifests(paths) -> ManifestSnapshot:
    """Read files and folders (recursively, *.yaml and *.yml) into one snapshot."""
    files = list(_files([Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]))
    snap = ManifestSnapshot(source="manifests:" + ",".join(str(p) for p in files), live=False, files=[str(f) for f in files])
    unknown: Counter = Counter()
    for path in files:
        for number, line, doc in _documents(path):
            reason = _not_kubernetes(doc)
            if reason:
                snap.skipped_documents.append(f"{path}: document {number}: {reason}")
                continue
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


def _not_kubernetes(doc) -> str:
    """Why a document is not a Kubernetes object at all (a compose file, an Ansible list), or ""
    when it is one or looks like a broken one (those stay errors: a typo must not hide an object)."""
    if isinstance(doc, list):
        return "a list, not a Kubernetes object"
    if not isinstance(doc, dict):
        return f"a {type(doc).__name__}, not a Kubernetes object"
    if not doc.get("apiVersion") and not doc.get("kind") and "metadata" not in doc:
        keys = ", ".join(str(k) for k in list(doc)[:3])
        return f"no apiVersion or kind (keys: {keys}), not a Kubernetes object"
    return ""


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
    problem = None
    if kind_id is None:
        kind_id, problem = _misversioned(obj)
        if kind_id is None:
            unknown[f"{obj['apiVersion']}/{obj['kind']}"] += 1
            return
    else:
        problem = _version_problem(obj)
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
    if problem:
        severity, message = problem
        snap.api_problems.append(ApiProblem(object_ref, kind_id, str(obj["apiVersion"]), severity, message))


def _version_problem(obj: dict) -> tuple[str, str] | None:
    """(severity, message) for an object read through an alias of a removed or deprecated version."""
    key = (str(obj["apiVersion"]), str(obj["kind"]))
    if key in REMOVED:
        return "removed", f"apiVersion {key[0]} for {key[1]} was removed in Kubernetes {REMOVED[key]}; the API server refuses it"
    if key in DEPRECATED:
        return "deprecated", f"apiVersion {key[0]} for {key[1]} is deprecated; use {DEPRECATED[key]}"
    return None


def _misversioned(obj: dict) -> tuple[str | None, tuple[str, str] | None]:
    """The kind id to judge an object as when its kind is one the probes read but its apiVersion is
    not (removed or unknown), with the problem; (None, None) for kinds no probe reads."""
    api_version, kind_name = str(obj["apiVersion"]), str(obj["kind"])
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    for kind in KINDS.values():
        if kind.kind != kind_name:
            continue
        ours = kind.group == group if kind.custom else (group in _CORE_GROUPS or group.endswith(".k8s.io"))
        if not ours:
            continue
        if (api_version, kind_name) in REMOVED:
            return kind.id, ("removed", f"apiVersion {api_version} for {kind_name} was removed in Kubernetes {REMOVED[(api_version, kind_name)]}; use {kind.api_version}")
        return kind.id, ("unknown", f"apiVersion {api_version} is not an API version of {kind_name}; use {kind.api_version}")
    return None, None


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
