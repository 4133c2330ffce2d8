"""One snapshot type for both sources: a live cluster and a manifest bundle."""
from dataclasses import dataclass, field


@dataclass
class Snapshot:
    """Kubernetes objects as plain dicts (the API's JSON: camelCase keys), grouped by kind id.

    `missing` holds kind ids whose CRD is not installed: a probe treats those as "not installed",
    which is a failure for items that require the component, never a crash.
    """

    source: str  # "cluster:<name>" or "manifests:<paths>"
    objects: dict[str, list[dict]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    server_version: dict | None = None  # {"major": "1", "minor": "29", "gitVersion": "v1.29.3"}
    live: bool = False  # False for manifests: no Nodes, Pods or server version to judge

    def of(self, kind_id: str) -> list[dict]:
        return self.objects.get(kind_id, [])

    def has(self, kind_id: str) -> bool:
        return kind_id not in self.missing
