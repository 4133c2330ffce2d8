"""Helpers shared by the catalogue modules."""
import re

from probes.engine.kinds import KINDS
from probes.engine.objects import dig, name, namespace
from probes.engine.podspecs import DAEMONSET, DEPLOYMENT, STATEFULSET
from probes.engine.snapshot import Snapshot

CLUSTER = "cluster"  # the object named by findings about the cluster as a whole
NEEDS_LIVE = "needs a live cluster: a manifest bundle holds no {what}"


def where(snap: Snapshot) -> str:
    return "in the cluster" if snap.live else "in the bundle"


def not_installed(snap: Snapshot, kind_id: str, what: str) -> str:
    """Why a required component is absent, in the words that fit the source."""
    if kind_id in snap.missing:
        return f"{what} is not installed: the {KINDS[kind_id].kind} CRD is not served by the cluster"
    return f"no {what} {where(snap)}"


def workloads_matching(snap: Snapshot, pattern: str, kinds=(DEPLOYMENT, STATEFULSET, DAEMONSET)) -> list[tuple[str, dict]]:
    """Workloads in any namespace whose name or container image matches `pattern` (a regex)."""
    regex = re.compile(pattern, re.IGNORECASE)
    found = []
    for kind_id in kinds:
        for obj, texts in _names_and_images(snap, kind_id):
            if any(map(regex.search, texts)):  # map: no Python frame per text, a dozen probes ask
                found.append((kind_id, obj))
    return found


def _names_and_images(snap: Snapshot, kind_id: str) -> list[tuple[dict, list]]:
    """Each workload with its name and container images, read once for the dozen probes that look
    for a component (an ingress controller, Grafana, Loki) by name or image."""

    def read() -> list[tuple[dict, list]]:
        return [(obj, [name(obj)] + [c.get("image", "") for c in dig(obj, "spec.template.spec.containers", []) or []])
                for obj in snap.of(kind_id)]

    return snap.memo(("names_and_images", kind_id), read)


def describe(kind_id: str, obj: dict) -> str:
    return f"{namespace(obj)}/{kind_id.rsplit('/', 1)[-1]}/{name(obj)}"


HPA = "autoscaling/v2/HorizontalPodAutoscaler"


def hpa_targets(snap: Snapshot) -> dict[str, dict]:
    """HPAs by the "namespace/Kind/name" of the workload they scale (shared: do not change it)."""
    return snap.memo("hpa_targets", lambda: _hpa_targets(snap))


def _hpa_targets(snap: Snapshot) -> dict[str, dict]:
    targets = {}
    for hpa in snap.of(HPA):
        target = dig(hpa, "spec.scaleTargetRef", {}) or {}
        targets[f"{namespace(hpa)}/{target.get('kind')}/{target.get('name')}"] = hpa
    return targets


def effective_replicas(obj_ref: str, obj: dict, hpas: dict[str, dict]) -> int:
    """The replicas a workload runs at its quietest: the HPA's minReplicas when one scales it."""
    if obj_ref in hpas:
        return int(dig(hpas[obj_ref], "spec.minReplicas", 1) or 1)
    value = dig(obj, "spec.replicas")
    return 1 if value is None else int(value)


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float | None:
    """Prometheus durations such as "30d" or "1w2d"; None when the text is not one."""
    parts = _DURATION.findall(str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        return None
    return sum(int(n) * _SECONDS[u] for n, u in parts)
