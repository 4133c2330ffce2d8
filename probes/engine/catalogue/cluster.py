"""The cluster itself: nodes, zones, autoscaling bounds, node sizes, Kubernetes version."""
import re
from dataclasses import dataclass

from probes.quantity import parse_quantity

from probes.engine.outcome import Finding, Outcome, fail, judge, probe, skip
from probes.engine.catalogue.common import CLUSTER, NEEDS_LIVE, describe, workloads_matching
from probes.engine.objects import dig, labels, name, namespace
from probes.engine.podspecs import DEPLOYMENT
from probes.engine.snapshot import Snapshot

NODE = "v1/Node"
CONFIGMAP = "v1/ConfigMap"
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")


def _ready(node: dict) -> bool:
    conditions = dig(node, "status.conditions", []) or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _nodes_or_skip(snap: Snapshot) -> list[dict] | Outcome:
    nodes = snap.of(NODE)
    if not nodes:
        return skip(NEEDS_LIVE.format(what="Nodes") if not snap.live else "the snapshot holds no Nodes")
    return nodes


@dataclass(frozen=True)
class NodeCountParams:
    min_nodes: int = 3


@probe(
    "cluster.node-count",
    "Cluster has enough Ready nodes",
    kinds=[NODE],
    params=NodeCountParams,
    items=["kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"],
)
def node_count(snap: Snapshot, p: NodeCountParams) -> Outcome:
    """At least `min_nodes` Nodes report Ready, so losing one node does not lose the service."""
    nodes = _nodes_or_skip(snap)
    if isinstance(nodes, Outcome):
        return nodes
    ready = [n for n in nodes if _ready(n)]
    observed = {"nodes": len(nodes), "ready": len(ready)}
    if len(ready) >= p.min_nodes:
        return Outcome("pass", f"{len(ready)} Ready nodes (at least {p.min_nodes})", observed=observed)
    finding = Finding(
        CLUSTER,
        "nodes",
        f"{len(ready)} of {len(nodes)} nodes are Ready; add nodes until at least {p.min_nodes} are Ready",
    )
    return fail(f"only {len(ready)} Ready nodes, need {p.min_nodes}", [finding], **observed)


@dataclass(frozen=True)
class ZoneParams:
    min_zones: int = 2


@probe(
    "cluster.zone-spread",
    "Nodes span several availability zones",
    kinds=[NODE],
    params=ZoneParams,
    items=["kubernetes-cluster.nodes-are-distributed-across-multiple-availability-zones"],
)
def zone_spread(snap: Snapshot, p: ZoneParams) -> Outcome:
    """Nodes carry topology.kubernetes.io/zone and span at least `min_zones` zones."""
    nodes = _nodes_or_skip(snap)
    if isinstance(nodes, Outcome):
        return nodes
    zones: dict[str, int] = {}
    findings = []
    for node in nodes:
        zone = next((labels(node)[k] for k in ZONE_LABELS if labels(node).get(k)), None)
        if zone is None:
            findings.append(
                Finding(
                    f"Node/{name(node)}",
                    "metadata.labels.topology.kubernetes.io/zone",
                    "node has no zone label; run nodes in a zoned node pool so topology.kubernetes.io/zone is set",
                )
            )
        else:
            zones[zone] = zones.get(zone, 0) + 1
    if len(zones) < p.min_zones:
        findings.append(
            Finding(CLUSTER, "nodes", f"nodes span {len(zones)} zone(s) {sorted(zones)}; spread them over {p.min_zones}+ zones")
        )
    return judge(findings, len(nodes), "nodes", observed={"zones": zones}, ok=f"nodes span {len(zones)} zones")


@dataclass(frozen=True)
class AutoscalerParams:
    min_nodes: int = 3  # the autoscaler may not shrink the cluster below this
    max_nodes: int = 10  # and must be allowed to grow to at least this


_NODES_ARG = re.compile(r"^--nodes=(\d+):(\d+):(.+)$")
_STATUS_SIZES = re.compile(r"minSize[=:]\s*(\d+).*?maxSize[=:]\s*(\d+)", re.DOTALL)


@probe(
    "cluster.autoscaler-bounds",
    "Cluster autoscaler is enabled with sensible bounds",
    kinds=[DEPLOYMENT, CONFIGMAP],
    params=AutoscalerParams,
    items=["kubernetes-cluster.cluster-autoscaling-is-enabled-min-3-max-10"],
)
def autoscaler_bounds(snap: Snapshot, p: AutoscalerParams) -> Outcome:
    """Reads node-group bounds where the cluster shows them: the cluster-autoscaler Deployment's
    `--nodes=min:max:group` arguments, or the `cluster-autoscaler-status` ConfigMap (GKE and the
    upstream autoscaler publish it). Skips when neither is visible (managed autoscalers that hide it)."""
    groups, source = _autoscaler_groups(snap)
    if not groups:
        if source:
            return fail(
                "cluster-autoscaler found but its node-group bounds are not visible",
                [Finding(source, "spec.template.spec.containers[*].args", "set --nodes=min:max:group so bounds are explicit")],
            )
        return skip("cluster autoscaler bounds are not visible (no cluster-autoscaler Deployment or status ConfigMap)")
    low, high = sum(g[0] for g in groups), sum(g[1] for g in groups)
    field = "data.status" if "/ConfigMap/" in source else "spec.template.spec.containers[*].args[--nodes]"
    findings = []
    if low < p.min_nodes:
        findings.append(Finding(source, field, f"autoscaler may shrink to {low} nodes; set the minimum to {p.min_nodes} or more"))
    if high < max(p.max_nodes, low):
        findings.append(Finding(source, field, f"autoscaler may grow to only {high} nodes; set the maximum to {p.max_nodes} or more"))
    observed = {"min": low, "max": high, "groups": len(groups)}
    if findings:
        return fail(f"autoscaler bounds {low}..{high} nodes", findings, **observed)
    return Outcome("pass", f"autoscaler bounds {low}..{high} nodes", observed=observed)


def _autoscaler_groups(snap: Snapshot) -> tuple[list[tuple[int, int]], str]:
    for kind_id, obj in workloads_matching(snap, r"cluster-autoscaler", kinds=(DEPLOYMENT,)):
        groups = []
        for container in dig(obj, "spec.template.spec.containers", []) or []:
            for arg in (container.get("command") or []) + (container.get("args") or []):
                if m := _NODES_ARG.match(str(arg)):
                    groups.append((int(m.group(1)), int(m.group(2))))
        return groups, describe(kind_id, obj)
    for cm in snap.of(CONFIGMAP):
        if name(cm) == "cluster-autoscaler-status":
            text = str((cm.get("data") or {}).get("status", ""))
            groups = [(int(a), int(b)) for a, b in _STATUS_SIZES.findall(text)]
            return groups, f"{namespace(cm)}/ConfigMap/{name(cm)}"
    return [], ""


@dataclass(frozen=True)
class CapacityParams:
    min_cpu: str = "2"
    # An 8 GiB machine reports about 7.7Gi of capacity once firmware and kernel take their share.
    min_memory: str = "7.5Gi"


@probe(
    "cluster.node-capacity",
    "Nodes are large enough",
    kinds=[NODE],
    params=CapacityParams,
    items=["kubernetes-cluster.node-pools-use-appropriate-instance-types-2-vcpus-8-gb-ram"],
)
def node_capacity(snap: Snapshot, p: CapacityParams) -> Outcome:
    """Every Node's capacity has at least `min_cpu` CPUs and `min_memory` of memory."""
    nodes = _nodes_or_skip(snap)
    if isinstance(nodes, Outcome):
        return nodes
    min_cpu, min_memory = parse_quantity(p.min_cpu), parse_quantity(p.min_memory)
    findings = []
    for node in nodes:
        capacity = dig(node, "status.capacity", {}) or {}
        cpu, memory = parse_quantity(capacity.get("cpu", "0")), parse_quantity(capacity.get("memory", "0"))
        if cpu < min_cpu:
            findings.append(Finding(f"Node/{name(node)}", "status.capacity.cpu", f"node has {capacity.get('cpu', 'no')} CPU; use an instance type with {p.min_cpu}+ vCPUs"))
        if memory < min_memory:
            findings.append(Finding(f"Node/{name(node)}", "status.capacity.memory", f"node has {capacity.get('memory', 'no')} memory; use an instance type with {p.min_memory}+"))
    return judge(findings, len(nodes), "nodes")


@dataclass(frozen=True)
class VersionParams:
    min_version: str = "1.28"


@probe(
    "cluster.version",
    "Kubernetes version is current",
    kinds=[],
    params=VersionParams,
    items=["kubernetes-cluster.kubernetes-version-is-up-to-date-128"],
)
def server_version(snap: Snapshot, p: VersionParams) -> Outcome:
    """The API server reports at least `min_version` (major.minor)."""
    if not snap.server_version:
        return skip(NEEDS_LIVE.format(what="server version") if not snap.live else "the server version was not collected")
    version = _major_minor(snap.server_version)
    wanted = tuple(int(x) for x in p.min_version.split(".")[:2])
    text = snap.server_version.get("gitVersion") or ".".join(map(str, version))
    if version >= wanted:
        return Outcome("pass", f"server version {text}", observed={"version": text})
    finding = Finding(CLUSTER, "serverVersion", f"server runs {text}; upgrade the control plane to {p.min_version} or later")
    return fail(f"server version {text} is older than {p.min_version}", [finding], version=text)


def _major_minor(version: dict) -> tuple[int, int]:
    # Managed clusters report minors like "28+"; the digits are what count.
    major = int(re.sub(r"\D", "", str(version.get("major", "0"))) or 0)
    minor = int(re.sub(r"\D", "", str(version.get("minor", "0"))) or 0)
    if not major and version.get("gitVersion"):
        m = re.match(r"v?(\d+)\.(\d+)", version["gitVersion"])
        major, minor = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return major, minor
