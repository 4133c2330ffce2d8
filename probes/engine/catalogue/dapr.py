"""Dapr: control plane, sidecars, components, mTLS and metrics."""
import re
from dataclasses import dataclass, field

from probes.engine.outcome import Finding, Outcome, fail, judge, probe, skip
from probes.engine.catalogue.common import CLUSTER, not_installed, where
from probes.engine.imagerefs import parse_image
from probes.engine.objects import dig, is_true, name, namespace
from probes.engine.podspecs import DEPLOYMENT, POD, REPLICASET, SERVICES, STATEFULSET, pod_specs, workload_specs
from probes.engine.scope import AppScope
from probes.engine.snapshot import Snapshot

COMPONENT = "dapr.io/v1alpha1/Component"
CONFIGURATION = "dapr.io/v1alpha1/Configuration"
PODMONITOR = "monitoring.coreos.com/v1/PodMonitor"
SERVICEMONITOR = "monitoring.coreos.com/v1/ServiceMonitor"
KAFKA = "kafka.strimzi.io/v1beta2/Kafka"
SECRET_METADATA = r"(?i)password|secret|token|connectionstring|apikey|api_key|accesskey|credentials"


def _version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x or 0) for x in m.groups()) if m else None


@dataclass(frozen=True)
class ControlPlaneParams:
    min_version: str = "1.12.0"
    required: list[str] = field(default_factory=lambda: ["dapr-operator", "dapr-sidecar-injector", "dapr-sentry"])


@probe(
    "dapr.control-plane",
    "The Dapr control plane is installed and current",
    kinds=[DEPLOYMENT, STATEFULSET],
    params=ControlPlaneParams,
    items=["dapr-configuration.dapr-runtime-is-installed-version-1120"],
)
def control_plane(snap: Snapshot, p: ControlPlaneParams) -> Outcome:
    """The Deployments in `required` (dapr-operator, dapr-sidecar-injector, dapr-sentry) exist, and
    their image tags are at least `min_version`."""
    found = {name(d): d for d in snap.of(DEPLOYMENT) if name(d) in p.required}
    if not found:
        return fail(f"Dapr control plane not installed: none of {', '.join(p.required)} {where(snap)}")
    wanted = _version(p.min_version)
    findings = [
        Finding(CLUSTER, f"Deployment/{missing}", f"Dapr control plane component {missing} is missing; reinstall Dapr (helm upgrade --install dapr dapr/dapr)")
        for missing in p.required
        if missing not in found
    ]
    versions = {}
    for deployment_name, deployment in found.items():
        for i, container in enumerate(dig(deployment, "spec.template.spec.containers", []) or []):
            tag = parse_image(container.get("image", "")).tag or ""
            versions[deployment_name] = tag
            if _version(tag) is None or _version(tag) < wanted:
                findings.append(Finding(f"{namespace(deployment)}/Deployment/{deployment_name}", f"spec.template.spec.containers[{container.get('name')}].image", f"runs Dapr {tag or 'with no version tag'}; upgrade Dapr to {p.min_version} or later"))
    observed = {"versions": versions}
    if findings:
        return fail("Dapr control plane is incomplete or outdated", findings, **observed)
    return Outcome("pass", f"Dapr control plane {', '.join(sorted(set(versions.values())))} installed", observed=observed)


def _dapr_enabled(annotations_: dict) -> bool:
    return is_true(annotations_.get("dapr.io/enabled"))


@probe(
    "dapr.sidecars",
    "Every service has the Dapr sidecar",
    kinds=[*SERVICES, POD, REPLICASET, "v1/Namespace"],
    params=AppScope,
    items=["dapr-configuration.all-services-have-dapr-sidecar-injection-enabled"],
)
def sidecars(snap: Snapshot, p: AppScope) -> Outcome:
    """Each Deployment and StatefulSet pod template is annotated dapr.io/enabled: "true" with a
    dapr.io/app-id; on a live cluster its running Pods do hold the injected daprd container."""
    workloads = workload_specs(snap, p, kinds=SERVICES)
    findings = []
    for w in workloads:
        path = "spec.template.metadata.annotations"
        if not _dapr_enabled(w.annotations):
            findings.append(Finding(w.object, f"{path}.dapr.io/enabled", 'no Dapr sidecar; annotate the pod template with dapr.io/enabled: "true" and dapr.io/app-id'))
        elif not w.annotations.get("dapr.io/app-id"):
            findings.append(Finding(w.object, f"{path}.dapr.io/app-id", "Dapr is enabled without an app id; set dapr.io/app-id"))
    enabled = {w.object for w in workloads if _dapr_enabled(w.annotations)}
    for pod in pod_specs(snap, p):
        if pod.running and _dapr_enabled(pod.annotations) and not any(c.get("name") == "daprd" for c in pod.spec.get("containers") or []):
            findings.append(Finding(pod.object, "spec.containers[daprd]", "pod should have the daprd sidecar but it was not injected; check dapr-sidecar-injector and restart the pod"))
    return judge(findings, len(workloads), "services", observed={"dapr_enabled": len(enabled)})


def _component_findings(component: dict, category: str, types: list[str], required_metadata: list[str]) -> list[Finding]:
    object_ref = f"{namespace(component)}/Component/{name(component)}"
    findings = []
    kind = dig(component, "spec.type", "")
    if kind not in types:
        findings.append(Finding(object_ref, "spec.type", f"{category} is {kind}; use one of {', '.join(types)}"))
    metadata = {m.get("name"): m for m in dig(component, "spec.metadata", []) or []}
    for key in required_metadata:
        if key not in metadata:
            findings.append(Finding(object_ref, f"spec.metadata[{key}]", f"{category} does not set {key}; add it to spec.metadata"))
    for key, item in metadata.items():
        if re.search(SECRET_METADATA, key or "") and item.get("value") not in (None, ""):
            findings.append(Finding(object_ref, f"spec.metadata[{key}].value", f"{key} is written into the component; use secretKeyRef and a secret store"))
    return findings


def _judge_components(snap: Snapshot, category: str, prefix: str, types: list[str], required_metadata: list[str]) -> Outcome:
    if COMPONENT in snap.missing:
        return fail(not_installed(snap, COMPONENT, "Dapr"))
    components = [c for c in snap.of(COMPONENT) if str(dig(c, "spec.type", "")).startswith(prefix)]
    if not components:
        return fail(f"no Dapr {category} component {where(snap)}; add one of type {', '.join(types)}")
    findings = [f for c in components for f in _component_findings(c, category, types, required_metadata)]
    return judge(findings, len(components), f"{category} components", observed={"types": sorted({dig(c, 'spec.type') for c in components})})


@dataclass(frozen=True)
class PubSubParams:
    types: list[str] = field(default_factory=lambda: ["pubsub.kafka"])
    required_metadata: list[str] = field(default_factory=list)
    min_replication: int = 3  # judged on Strimzi Kafka clusters when the snapshot holds them


@probe(
    "dapr.pubsub",
    "Dapr pub/sub uses replicated Kafka",
    kinds=[COMPONENT, KAFKA],
    params=PubSubParams,
    items=["dapr-configuration.pub-sub-kafka-with-proper-replication"],
)
def pubsub(snap: Snapshot, p: PubSubParams) -> Outcome:
    """Dapr pub/sub components are of `types` (Kafka) with no secrets inline, and the Strimzi Kafka
    cluster replicates: default.replication.factor and at least that many brokers ≥ `min_replication`,
    min.insync.replicas ≥ 2. Skips when the broker is not visible (a managed Kafka)."""
    outcome = _judge_components(snap, "pub/sub", "pubsub.", p.types, p.required_metadata)
    if outcome.status != "pass":
        return outcome
    clusters = snap.of(KAFKA)
    if not clusters:
        return skip("pub/sub uses Kafka, but no Strimzi Kafka object shows its replication; confirm it by hand", **outcome.observed)
    findings = [f for cluster in clusters for f in _replication_findings(cluster, p.min_replication)]
    return judge(findings, len(clusters), "Kafka clusters", observed=outcome.observed)


def _replication_findings(cluster: dict, wanted: int) -> list[Finding]:
    object_ref = f"{namespace(cluster)}/Kafka/{name(cluster)}"
    config = dig(cluster, "spec.kafka.config", {}) or {}
    findings = []
    brokers = dig(cluster, "spec.kafka.replicas")  # absent when KafkaNodePools size the cluster
    if brokers is not None and int(brokers) < wanted:
        findings.append(Finding(object_ref, "spec.kafka.replicas", f"{brokers} broker(s); run at least {wanted}"))
    if int(config.get("default.replication.factor", 1)) < wanted:
        findings.append(Finding(object_ref, "spec.kafka.config.default.replication.factor", f"replication factor is {config.get('default.replication.factor', 'unset (1)')}; set it to {wanted}"))
    if int(config.get("min.insync.replicas", 1)) < 2:
        findings.append(Finding(object_ref, "spec.kafka.config.min.insync.replicas", f"min.insync.replicas is {config.get('min.insync.replicas', 'unset (1)')}; set it to 2"))
    return findings


@dataclass(frozen=True)
class StateStoreParams:
    types: list[str] = field(default_factory=lambda: ["state.postgresql"])
    # Dapr's PostgreSQL store always pools connections (pgxpool); list maxConns here to insist
    # that the pool size is set explicitly.
    required_metadata: list[str] = field(default_factory=list)


@probe(
    "dapr.statestore",
    "Dapr state store is PostgreSQL",
    kinds=[COMPONENT],
    params=StateStoreParams,
    items=[
        "dapr-configuration.state-store-postgresql-with-connection-pooling",
        "state-management.dapr-state-store-uses-postgresql-with-transactions",
    ],
)
def statestore(snap: Snapshot, p: StateStoreParams) -> Outcome:
    """Dapr state store components are of `types` (PostgreSQL, which pools connections and supports
    transactions), set `required_metadata`, and hold no secrets inline."""
    return _judge_components(snap, "state store", "state.", p.types, p.required_metadata)


SECRET_STORES = [
    "secretstores.kubernetes",
    "secretstores.azure.keyvault",
    "secretstores.gcp.secretmanager",
    "secretstores.aws.secretmanager",
    "secretstores.aws.parameterstore",
    "secretstores.hashicorp.vault",
    "secretstores.oci.vault",
]


@dataclass(frozen=True)
class SecretStoreParams:
    types: list[str] = field(default_factory=lambda: list(SECRET_STORES))
    required_metadata: list[str] = field(default_factory=list)


@probe(
    "dapr.secretstore",
    "Dapr secret store is Kubernetes or a cloud secret manager",
    kinds=[COMPONENT],
    params=SecretStoreParams,
    items=["dapr-configuration.secret-store-kubernetes-secrets-or-cloud-secret-manager"],
)
def secretstore(snap: Snapshot, p: SecretStoreParams) -> Outcome:
    """Dapr secret store components are Kubernetes secrets or a cloud secret manager (`types`), not
    local files or environment variables."""
    return _judge_components(snap, "secret store", "secretstores.", p.types, p.required_metadata)


@probe(
    "dapr.components",
    "Dapr components are configured for production",
    kinds=[COMPONENT, KAFKA],
    items=["dapr-configuration.dapr-components-are-configured-for-production"],
)
def components(snap: Snapshot, p) -> Outcome:
    """The three components the seed lists under it, each judged by its own probe with its defaults:
    pub/sub on replicated Kafka, a PostgreSQL state store and a Kubernetes or cloud secret store.
    Fails when any fails; passes only when all three pass."""
    parts = {"pub/sub": pubsub(snap, PubSubParams()), "state store": statestore(snap, StateStoreParams()),
             "secret store": secretstore(snap, SecretStoreParams())}
    findings = [f for outcome in parts.values() for f in outcome.findings]
    observed = {part: outcome.status for part, outcome in parts.items()}
    failed = [part for part, outcome in parts.items() if outcome.status in ("fail", "error")]
    if failed:
        reasons = "; ".join(f"{part}: {parts[part].summary}" for part in failed)
        return Outcome("fail", f"{len(failed)} of 3 components not ready: {reasons}", findings, observed=observed)
    skipped = [part for part, outcome in parts.items() if outcome.status == "skip"]
    if skipped:
        return skip("; ".join(f"{part}: {parts[part].summary}" for part in skipped), **observed)
    return Outcome("pass", "pub/sub, state store and secret store are configured for production", observed=observed)


@probe(
    "dapr.mtls",
    "Dapr mTLS is on for service-to-service calls",
    kinds=[CONFIGURATION],
    items=["network-security.internal-service-to-service-communication-uses-mtls-dapr"],
)
def mtls(snap: Snapshot, p) -> Outcome:
    """The control plane's `daprsystem` Configuration does not turn mTLS off (spec.mtls.enabled), so
    sidecars encrypt and authenticate every service invocation."""
    configs = [c for c in snap.of(CONFIGURATION) if name(c) == "daprsystem"]
    if not configs:
        return fail(not_installed(snap, CONFIGURATION, "Dapr") if CONFIGURATION in snap.missing else f"no daprsystem Configuration {where(snap)}: the Dapr control plane is not installed")
    findings = [
        Finding(f"{namespace(c)}/Configuration/{name(c)}", "spec.mtls.enabled", "mTLS is turned off; set spec.mtls.enabled: true")
        for c in configs
        if dig(c, "spec.mtls.enabled") is False or str(dig(c, "spec.mtls.enabled")).lower() == "false"
    ]
    return judge(findings, len(configs), "Dapr system configurations")


@probe(
    "dapr.metrics",
    "Dapr sidecar metrics are collected by Prometheus",
    kinds=[*SERVICES, CONFIGURATION, PODMONITOR, SERVICEMONITOR, "v1/Namespace"],
    params=AppScope,
    items=["dapr-configuration.dapr-metrics-are-exposed-and-collected-by-prometheus"],
)
def metrics(snap: Snapshot, p: AppScope) -> Outcome:
    """Dapr-enabled workloads keep sidecar metrics on (no dapr.io/enable-metrics: "false", no
    Configuration with metrics disabled) and a PodMonitor or ServiceMonitor scrapes the sidecars'
    `dapr-metrics` port."""
    workloads = [w for w in workload_specs(snap, p, kinds=SERVICES) if _dapr_enabled(w.annotations)]
    if not workloads:
        return skip("no Dapr-enabled services to judge")
    findings = [
        Finding(w.object, "spec.template.metadata.annotations.dapr.io/enable-metrics", 'sidecar metrics are off; remove dapr.io/enable-metrics: "false"')
        for w in workloads
        if str(w.annotations.get("dapr.io/enable-metrics", "true")).lower() == "false"
    ]
    for config in snap.of(CONFIGURATION):
        for key in ("metric", "metrics"):
            if dig(config, f"spec.{key}.enabled") is False:
                findings.append(Finding(f"{namespace(config)}/Configuration/{name(config)}", f"spec.{key}.enabled", "Dapr metrics are disabled; set it to true"))
    if not _dapr_scraped(snap):
        findings.append(Finding("cluster", "PodMonitor.spec.podMetricsEndpoints[].port", "no PodMonitor or ServiceMonitor scrapes the dapr-metrics port; add a PodMonitor selecting dapr.io/metrics-enabled: \"true\" pods on port dapr-metrics"))
    return judge(findings, len(workloads), "Dapr-enabled services")


def _dapr_scraped(snap: Snapshot) -> bool:
    endpoints = [e for m in snap.of(PODMONITOR) for e in dig(m, "spec.podMetricsEndpoints", []) or []]
    endpoints += [e for m in snap.of(SERVICEMONITOR) for e in dig(m, "spec.endpoints", []) or []]
    return any(e.get("port") == "dapr-metrics" for e in endpoints)
