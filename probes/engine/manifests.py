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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from probes.engine import shapes
from probes.engine.gcpause import collector_paused
from probes.engine.kinds import KINDS
from readiness import safe_yaml
from probes.engine.snapshot import Snapshot

# Older API versions whose objects have the shape of the version we judge.
ALIASES = {
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): "autoscaling/v2/HorizontalPodAutoscaler",
    ("batch/v1beta1", "CronJob"): "batch/v1/CronJob",
    ("policy/v1beta1", "PodDisruptionBudget"): "policy/v1/PodDisruptionBudget",
    ("kafka.strimzi.io/v1beta1", "KafkaTopic"): "kafka.strimzi.io/v1beta2/KafkaTopic",
    ("kafka.strimzi.io/v1beta1", "Kafka"): "kafka.strimzi.io/v1beta2/Kafka",
}
MAX_OBJECTS = 50_000  # objects one bundle may hold (READINESS_BUNDLE_MAX_OBJECTS in the app)

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


def load_manifests(paths, *, limits: safe_yaml.Limits = safe_yaml.DEFAULT_LIMITS,
                   max_objects: int = MAX_OBJECTS) -> ManifestSnapshot:
    """Read files and folders (recursively, *.yaml and *.yml) into one snapshot."""
    files = list(_files([Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]))
    return load_texts(((str(path), _read(path)) for path in files), source=",".join(str(p) for p in files),
                      limits=limits, max_objects=max_objects)


def load_texts(texts: Iterable[tuple[str, str | bytes]], *, source: str,
               limits: safe_yaml.Limits = safe_yaml.DEFAULT_LIMITS, max_objects: int = MAX_OBJECTS) -> ManifestSnapshot:
    """A snapshot from (file name, YAML text) pairs: a bundle held in memory, never written to disk.

    Each text is checked against `limits` (nesting depth, alias expansion) before it is loaded, and
    the bundle may hold at most `max_objects` objects; ManifestError names the file and the line.
    """
    snap = ManifestSnapshot(source=f"manifests:{source}", live=False)
    unknown: Counter = Counter()
    count = 0
    with collector_paused():
        for name, text in texts:
            snap.files.append(name)
            for number, line, doc in _documents(name, text, limits):
                reason = _not_kubernetes(doc)
                if reason:
                    snap.skipped_documents.append(f"{name}: document {number}: {reason}")
                    continue
                for obj in _expand(doc, name, number, line):
                    count += 1
                    if count > max_objects:
                        raise ManifestError(f"{name}: document {number} line {line}: the bundle holds more than "
                                            f"{max_objects:,} objects; probe it in parts")
                    _add(snap, obj, name, number, line, unknown)
    snap.unknown_kinds = dict(unknown)
    return snap


def folder_manifests(folder: Path) -> list[Path]:
    """The .yaml/.yml files under `folder`, in name order; ManifestError for a link that leads outside it.

    A link inside the folder is read as the file it points to; one that resolves outside (a system
    file, a home folder) is refused, as uploads refuse links altogether.
    """
    root = folder.resolve()
    found = []
    for path in sorted(folder.rglob("*")):
        is_manifest = path.suffix.lower() in (".yaml", ".yml")
        if not is_manifest and not path.is_symlink():
            continue
        target = path.resolve()
        if not target.is_relative_to(root):
            raise ManifestError(f"{path}: a link to {target}, outside {folder}; links must stay inside the folder")
        if is_manifest and target.is_file():
            found.append(path)
    return found


def _files(paths: list[Path]):
    for path in paths:
        if path.is_dir():
            yield from folder_manifests(path)
        elif path.is_file():
            yield path
        else:
            raise ManifestError(f"{path}: no such file or folder")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read: {exc}") from None


def _documents(name: str, text: str | bytes, limits: safe_yaml.Limits):
    """(document number from 1, first line, parsed document) for each non-empty document."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"{name}: cannot read: not UTF-8 text ({exc})") from None
    try:
        yield from safe_yaml.documents(text, name=name, limits=limits)
    except safe_yaml.YamlError as exc:
        where = f" line {exc.line}" if exc.line else ""
        raise ManifestError(f"{name}: document {exc.document or 1}{where}: {exc.problem}") from None


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


def _expand(doc, name: str, number: int, line: int) -> list[dict]:
    """The document's objects: itself, or the items of a List (which may not nest Lists)."""
    where = f"{name}: document {number} line {line}"
    objects = []
    pending = [(doc, 0)]
    while pending:
        obj, depth = pending.pop()
        if not isinstance(obj, dict):
            raise ManifestError(f"{where}: expected a Kubernetes object, found {type(obj).__name__}")
        if not obj.get("apiVersion") or not obj.get("kind"):
            missing = " and ".join(k for k in ("apiVersion", "kind") if not obj.get(k))
            raise ManifestError(f"{where}: has no {missing}")
        for key in ("apiVersion", "kind"):
            if not isinstance(obj[key], str):
                raise ManifestError(f"{where}: {key} must be a string, found {type(obj[key]).__name__}")
        if obj["kind"].endswith("List") and isinstance(obj.get("items"), list):
            if depth >= 1:
                raise ManifestError(f"{where}: a {obj['kind']} inside a List is not allowed")
            pending.extend((item, depth + 1) for item in reversed(obj["items"]))
            continue
        metadata = obj.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise ManifestError(f"{where}: {obj['kind']} metadata must be a mapping, found {type(metadata).__name__}")
        for key in ("name", "namespace"):
            value = (metadata or {}).get(key)
            if value is not None and not isinstance(value, str):
                raise ManifestError(f"{where}: {obj['kind']} metadata.{key} must be a string, "
                                    f"found {type(value).__name__}")
        objects.append(obj)
    return objects


def _add(snap: ManifestSnapshot, obj: dict, path: str, number: int, line: int, unknown: Counter) -> None:
    kind_id = _kind_id(obj)
    problem = None
    if kind_id is None:
        kind_id, problem = _misversioned(obj)
        if kind_id is None:
            unknown[f"{obj['apiVersion']}/{obj['kind']}"] += 1
            return
    else:
        problem = _version_problem(obj)
    misfit = shapes.fit(obj, kind_id)
    if misfit:
        name = (obj.get("metadata") or {}).get("name")
        label = f"{obj['kind']} {name}" if isinstance(name, str) and name else obj["kind"]
        raise ManifestError(f"{path}: document {number} line {line}: {label}: {misfit}")
    kind = KINDS[kind_id]
    metadata = obj.get("metadata") or {}
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
