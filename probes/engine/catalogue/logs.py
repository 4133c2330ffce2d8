"""Centralised logging: Loki with object storage and retention, and a log shipper on every node."""
from dataclasses import dataclass

from probes.engine.outcome import Finding, Outcome, fail, judge, probe, skip
from probes.engine.catalogue.common import describe, duration_seconds, where, workloads_matching
from probes.engine.objects import dig, name, namespace
from probes.engine.podspecs import DAEMONSET, DEPLOYMENT, STATEFULSET
from probes.engine.snapshot import Snapshot
from readiness import safe_yaml

CONFIGMAP = "v1/ConfigMap"
NODE = "v1/Node"
LOKI = r"^loki$|(^|/)grafana/loki(:|@|$)"
OBJECT_STORES = {"s3", "aws", "gcs", "azure", "swift", "bos", "alibabacloud", "cos", "oci"}


def _loki_configs(snap: Snapshot, loki: dict) -> tuple[list[dict], list[str]]:
    """Loki config documents from the ConfigMaps its pods mount, and the Secrets it mounts instead."""
    ns = namespace(loki)
    volumes = dig(loki, "spec.template.spec.volumes", []) or []
    wanted = {dig(v, "configMap.name") for v in volumes if v.get("configMap")}
    secrets = [f"{ns}/Secret/{dig(v, 'secret.secretName')}" for v in volumes if v.get("secret")]
    configs = []
    for cm in snap.of(CONFIGMAP):
        if namespace(cm) == ns and name(cm) in wanted:
            for text in (cm.get("data") or {}).values():
                try:
                    doc = safe_yaml.load(text, name=f"{ns}/ConfigMap/{name(cm)}")
                except (safe_yaml.YamlError, TypeError):  # not YAML, over the budget, or not text
                    continue
                if isinstance(doc, dict) and ("schema_config" in doc or "common" in doc or "limits_config" in doc):
                    configs.append(doc)
    return configs, secrets


def _object_stores(config: dict) -> set[str]:
    stores = {str(c.get("object_store", "")).lower() for c in dig(config, "schema_config.configs", []) or []}
    stores |= {key for key in (dig(config, "common.storage", {}) or {}) if key in OBJECT_STORES}
    return stores - {""}


@dataclass(frozen=True)
class LokiParams:
    require_object_storage: bool = True


@probe(
    "logs.loki",
    "Loki runs on cloud object storage",
    kinds=[DEPLOYMENT, STATEFULSET, CONFIGMAP],
    params=LokiParams,
    items=["centralized-logging.loki-is-deployed-with-cloud-storage-backend"],
)
def loki(snap: Snapshot, p: LokiParams) -> Outcome:
    """A Loki workload exists and, with `require_object_storage`, the config it mounts from a ConfigMap
    stores chunks in an object store (s3, gcs, azure, oci, ...), not the filesystem. Skips when the
    config lives in a Secret, which probes do not read."""
    found = workloads_matching(snap, LOKI, kinds=(DEPLOYMENT, STATEFULSET))
    if not found:
        return fail(f"no Loki {where(snap)}")
    if not p.require_object_storage:
        return Outcome("pass", f"Loki present ({', '.join(describe(k, o) for k, o in found)})")
    findings, hidden = [], []
    for kind_id, workload in found:
        configs, secrets = _loki_configs(snap, workload)
        if not configs:
            hidden.append(secrets[0] if secrets else describe(kind_id, workload))
            continue
        stores = set().union(*(_object_stores(c) for c in configs))
        if not stores & OBJECT_STORES:
            findings.append(Finding(describe(kind_id, workload), "schema_config.configs[].object_store", f"Loki stores logs on {', '.join(sorted(stores)) or 'the filesystem'}; configure an object store (s3, gcs, azure) in its config"))
    if hidden and not findings and len(hidden) == len(found):
        return skip(f"Loki runs but its storage config is not visible ({', '.join(hidden)})")
    return judge(findings, len(found) - len(hidden), "Loki workloads")


@dataclass(frozen=True)
class LokiRetentionParams:
    retention: str = "30d"


@probe(
    "logs.loki-retention",
    "Loki deletes logs after the retention period",
    kinds=[DEPLOYMENT, STATEFULSET, CONFIGMAP],
    params=LokiRetentionParams,
    items=[
        "centralized-logging.log-retention-is-set-to-30-days",
        "storage.log-retention-policy-is-configured-30-days-for-production",
    ],
)
def loki_retention(snap: Snapshot, p: LokiRetentionParams) -> Outcome:
    """Loki's config sets limits_config.retention_period to `retention` and turns on
    compactor.retention_enabled (without it Loki never deletes anything)."""
    found = workloads_matching(snap, LOKI, kinds=(DEPLOYMENT, STATEFULSET))
    if not found:
        return fail(f"no Loki {where(snap)}")
    findings, judged = [], 0
    for kind_id, workload in found:
        configs, _ = _loki_configs(snap, workload)
        if not configs:
            continue
        judged += 1
        config = configs[0]
        period = dig(config, "limits_config.retention_period")
        if duration_seconds(str(period)) != duration_seconds(p.retention):
            findings.append(Finding(describe(kind_id, workload), "limits_config.retention_period", f"retention_period is {period or 'unset'}; set limits_config.retention_period: {p.retention}"))
        if dig(config, "compactor.retention_enabled") is not True:
            findings.append(Finding(describe(kind_id, workload), "compactor.retention_enabled", "the compactor does not delete old logs; set compactor.retention_enabled: true"))
    if not judged:
        return skip("Loki runs but its config is not visible in a ConfigMap")
    return judge(findings, judged, "Loki workloads")


@dataclass(frozen=True)
class ShipperParams:
    pattern: str = r"promtail|grafana-agent|grafana/agent|alloy|fluent-bit|fluentbit|fluentd|vector"


@probe(
    "logs.log-shipper",
    "A log shipper DaemonSet runs on every node",
    kinds=[DAEMONSET, NODE],
    params=ShipperParams,
    items=["centralized-logging.promtail-daemonset-is-running-on-all-nodes"],
)
def log_shipper(snap: Snapshot, p: ShipperParams) -> Outcome:
    """A DaemonSet for Promtail or an equivalent (Grafana Agent, Alloy, Fluent Bit, Fluentd, Vector)
    exists and, on a live cluster, is ready on every node whose taints it tolerates."""
    found = workloads_matching(snap, p.pattern, kinds=(DAEMONSET,))
    if not found:
        return fail(f"no log shipper DaemonSet (Promtail or equivalent) {where(snap)}")
    if not snap.live:
        return skip(f"{', '.join(describe(k, o) for k, o in found)} defined; whether it runs on all nodes needs a live cluster")
    findings = []
    for kind_id, ds in found:
        nodes = [n for n in snap.of(NODE) if _tolerates(ds, n)]
        desired, ready = dig(ds, "status.desiredNumberScheduled", 0), dig(ds, "status.numberReady", 0)
        if ready < max(desired, len(nodes)):
            findings.append(Finding(describe(kind_id, ds), "status.numberReady", f"ready on {ready} of {max(desired, len(nodes))} nodes; check its pods and add tolerations for tainted nodes"))
    return judge(findings, len(found), "log shipper DaemonSets")


def _tolerates(ds: dict, node: dict) -> bool:
    tolerations = dig(ds, "spec.template.spec.tolerations", []) or []
    for taint in dig(node, "spec.taints", []) or []:
        if taint.get("effect") == "PreferNoSchedule":
            continue
        if not any(_tolerated(t, taint) for t in tolerations):
            return False
    return True


def _tolerated(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", "")
