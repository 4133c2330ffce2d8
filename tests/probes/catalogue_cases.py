"""For every probe: objects that pass, objects that fail naming the offender, and what to exempt."""
from dataclasses import dataclass, field

from tests.probes.probe_builders import (
    DELETE,
    deployment,
    hpa,
    meta,
    namespace_obj,
    node,
    obj,
    pdb,
    pod_spec,
    service,
    setp,
)


@dataclass
class Case:
    probe: str
    good: list
    bad: list
    finding: tuple[str, str] | None  # (object, field) the failing case must name
    summary: str = ""  # text the failing summary must hold (component-absent failures name no object)
    exempt: str | None = None  # object in `bad` to annotate; defaults to the finding's object
    exempted_status: tuple = ("pass", "skip")  # status once that object is exempted
    live: bool = False
    server_version: dict | None = None
    params: dict = field(default_factory=dict)
    bad_server_version: dict | None = None
    exempt_in: str = "bad"  # which object list the exemption case annotates
    exemptable: bool = True  # False for probes that judge no objects (the server version)

    @property
    def id(self):
        return self.probe


def app(*extra):
    return [namespace_obj(), deployment(), pdb(), hpa(), service(), *extra]


def pvc(name, storage_class, ns="shop"):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return obj("v1", "PersistentVolumeClaim", name, ns, spec, status={"phase": "Bound"})


def ingress(name="web", tls=True, class_name="nginx", annotations=None):
    spec = {"ingressClassName": class_name, "rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}}]}
    if tls:
        spec["tls"] = [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
    made = obj("networking.k8s.io/v1", "Ingress", name, spec=spec)
    if annotations:
        made["metadata"]["annotations"] = annotations
    return made


INGRESS_CLASS = obj("networking.k8s.io/v1", "IngressClass", "nginx", None, {"controller": "k8s.io/ingress-nginx"})
DENY_ALL = obj("networking.k8s.io/v1", "NetworkPolicy", "default-deny", spec={"podSelector": {}, "policyTypes": ["Ingress"]})


def autoscaler(nodes_arg):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("cluster-autoscaler", "kube-system"),
        "spec": {"template": {"spec": {"containers": [{"name": "ca", "image": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.29.0", "command": ["./cluster-autoscaler", nodes_arg]}]}}},
    }


def platform_deployment(name, image, ns="monitoring", volumes=None, kind="Deployment", env=None):
    c = {"name": name.split("-")[-1], "image": image}
    if env:
        c["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": meta(name, ns),
        "spec": {"template": {"spec": {"containers": [c], "volumes": volumes or []}}},
    }


def prometheus(name="k8s", storage="100Gi", retention="30d", alerting=True):
    spec = {"retention": retention}
    if storage:
        spec["storage"] = {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": storage}}}}}
    if alerting:
        spec["alerting"] = {"alertmanagers": [{"namespace": "monitoring", "name": "alertmanager-main", "port": "web"}]}
    return obj("monitoring.coreos.com/v1", "Prometheus", name, "monitoring", spec)


def service_monitor(name="api", selector=None, port="http"):
    return obj("monitoring.coreos.com/v1", "ServiceMonitor", name, spec={"selector": {"matchLabels": selector or {"app": "api"}}, "endpoints": [{"port": port}]})


ALERTS = {
    "HighErrorRate": 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05',
    "PodRestarting": "increase(kube_pod_container_status_restarts_total[10m]) > 3",
    "HighMemoryUsage": "container_memory_working_set_bytes / container_spec_memory_limit_bytes > 0.8",
    "HighCPUUsage": "rate(container_cpu_usage_seconds_total[5m]) > 0.8",
    "DiskSpaceLow": "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes < 0.2",
}


def rules(alerts):
    groups = [{"name": "app", "rules": [{"alert": a, "expr": ALERTS[a], "for": "5m"} for a in alerts]}]
    return obj("monitoring.coreos.com/v1", "PrometheusRule", "app-alerts", "monitoring", {"groups": groups})


def loki_config(store="s3", retention="30d", retention_enabled=True):
    config = f"""
schema_config:
  configs:
    - from: "2024-01-01"
      store: tsdb
      object_store: {store}
      schema: v13
limits_config:
  retention_period: {retention}
compactor:
  retention_enabled: {"true" if retention_enabled else "false"}
"""
    return obj("v1", "ConfigMap", "loki", "monitoring", None, data={"config.yaml": config})


LOKI = platform_deployment("loki", "docker.io/grafana/loki:3.1.0", kind="StatefulSet", volumes=[{"name": "config", "configMap": {"name": "loki"}}])


def shipper(ready, desired=3):
    ds = platform_deployment("promtail", "docker.io/grafana/promtail:3.1.0", ns="logging", kind="DaemonSet")
    ds["status"] = {"desiredNumberScheduled": desired, "numberReady": ready}
    return ds


def dapr_plane(tag="1.13.2"):
    return [
        platform_deployment(name, f"docker.io/daprio/{image}:{tag}", ns="dapr-system")
        for name, image in (("dapr-operator", "operator"), ("dapr-sidecar-injector", "injector"), ("dapr-sentry", "sentry"))
    ]


def component(name, type_, metadata=None):
    return obj("dapr.io/v1alpha1", "Component", name, spec={"type": type_, "version": "v1", "metadata": metadata or []})


def kafka(replication=3, insync=2, replicas=3):
    spec = {"kafka": {"replicas": replicas, "config": {"default.replication.factor": replication, "min.insync.replicas": insync}}}
    return obj("kafka.strimzi.io/v1beta2", "Kafka", "events", "kafka", spec)


def topic(name="orders", partitions=3, replicas=3, retention=604800000):
    return obj("kafka.strimzi.io/v1beta2", "KafkaTopic", name, "kafka", {"partitions": partitions, "replicas": replicas, "config": {"retention.ms": retention}})


def dapr_config(mtls=True, metrics=True):
    return obj("dapr.io/v1alpha1", "Configuration", "daprsystem", "dapr-system", {"mtls": {"enabled": mtls}, "metric": {"enabled": metrics}})


POD_MONITOR = obj("monitoring.coreos.com/v1", "PodMonitor", "dapr", "monitoring", {"selector": {"matchLabels": {"dapr.io/metrics-enabled": "true"}}, "namespaceSelector": {"any": True}, "podMetricsEndpoints": [{"port": "dapr-metrics"}]})
METRICS_API = obj("apiregistration.k8s.io/v1", "APIService", "v1beta1.metrics.k8s.io", None, {"service": {"name": "metrics-server", "namespace": "kube-system"}}, status={"conditions": [{"type": "Available", "status": "True"}]})
C = "spec.template.spec.containers[app]"
API = "shop/Deployment/api"


def with_container(**changes):
    """The good Deployment with the app container changed at dotted paths."""
    made = deployment()
    for path, value in changes.items():
        made = setp(made, f"{C.replace('[app]', '.app')}.{path.replace('__', '.')}", value)
    return made


def oom_pod():
    pod = obj("v1", "Pod", "api-7d9f-abcde", spec=pod_spec())
    pod["status"] = {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 4, "lastState": {"terminated": {"reason": "OOMKilled"}}}]}
    return pod


def healthy_pod():
    pod = obj("v1", "Pod", "api-7d9f-fghij", spec=pod_spec())
    pod["status"] = {"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"running": {}}}]}
    return pod


def velero_schedule(name="daily", namespaces=("shop",), ttl="720h0m0s", **template):
    spec = {"schedule": "0 2 * * *", "template": {"includedNamespaces": list(namespaces), **({"ttl": ttl} if ttl else {}), **template}}
    return obj("velero.io/v1", "Schedule", name, "velero", spec)


def hardened(**changes):
    """The good Deployment with a RuntimeDefault seccomp profile and no API token, then `changes`
    (dotted paths under the pod spec)."""
    made = setp(deployment(), "spec.template.spec.securityContext.seccompProfile", {"type": "RuntimeDefault"})
    made = setp(made, "spec.template.spec.automountServiceAccountToken", False)
    for path, value in changes.items():
        made = setp(made, f"spec.template.spec.{path.replace('__', '.')}", value)
    return made


def headless(name="db"):
    return service(name)


def statefulset(name="db", service_name="db"):
    made = deployment(name)
    made["kind"] = "StatefulSet"
    made["spec"]["serviceName"] = service_name
    return made


CASES = [
    Case("cluster.node-count", [node("n1"), node("n2"), node("n3")], [node("n1"), node("n2"), node("n3", ready=False)], ("cluster", "nodes"), exempt="Node/n1", exempted_status=("fail",), live=True),
    Case("cluster.zone-spread", [node("n1", "a"), node("n2", "b"), node("n3", "c")], [node("n1", "a"), node("n2", "b"), node("n3", None)], ("Node/n3", "metadata.labels.topology.kubernetes.io/zone"), live=True),
    Case("cluster.autoscaler-bounds", [autoscaler("--nodes=3:10:pool-a")], [autoscaler("--nodes=1:3:pool-a")], ("kube-system/Deployment/cluster-autoscaler", "spec.template.spec.containers[*].args[--nodes]"), live=True),
    Case("cluster.node-capacity", [node("n1"), node("n2")], [node("n1"), node("n2", cpu="1")], ("Node/n2", "status.capacity.cpu"), live=True),
    Case("cluster.version", [], [], ("cluster", "serverVersion"), live=True, server_version={"major": "1", "minor": "29+", "gitVersion": "v1.29.4"}, bad_server_version={"major": "1", "minor": "27", "gitVersion": "v1.27.9"}, exemptable=False),
    Case("storage.production-classes", [pvc("data", "premium-rwo")], [pvc("data", "standard")], ("shop/PersistentVolumeClaim/data", "spec.storageClassName")),
    Case("networking.ingress-controller", [INGRESS_CLASS, ingress()], [INGRESS_CLASS, ingress(class_name="traefik")], ("shop/Ingress/web", "spec.ingressClassName")),
    Case("networking.ingress-tls", [ingress()], [ingress(tls=False)], ("shop/Ingress/web", "spec.tls")),
    Case("networking.https-only", [ingress(), service()], [ingress(), service(type_="LoadBalancer")], ("shop/Service/api", "spec.ports[http].port")),
    Case("networking.default-deny", [namespace_obj(), deployment(), DENY_ALL], [namespace_obj(), deployment()], ("Namespace/shop", "NetworkPolicy.spec.podSelector")),
    Case("workloads.replicas", app(), [deployment(replicas=1)], (API, "spec.replicas")),
    Case("workloads.resources", app(), [with_container(resources__limits__memory=DELETE)], (API, f"{C}.resources.limits.memory")),
    Case("workloads.health-probes", app(), [with_container(readinessProbe=DELETE)], (API, f"{C}.readinessProbe")),
    Case("workloads.disruption-budgets", app(), [deployment()], (API, "spec.template.metadata.labels")),
    Case("workloads.pod-spread", app(), [setp(deployment(), "spec.template.spec.affinity", DELETE)], (API, "spec.template.spec.affinity.podAntiAffinity")),
    Case("workloads.oom-kills", [healthy_pod()], [oom_pod()], ("shop/Pod/api-7d9f-abcde", "status.containerStatuses[app].lastState.terminated.reason"), live=True),
    Case("images.pinned-tags", app(), [with_container(image="acme.azurecr.io/shop/api:latest")], (API, f"{C}.image")),
    Case("images.pull-secrets", app(), [setp(deployment(), "spec.template.spec.imagePullSecrets", DELETE)], (API, "spec.template.spec.imagePullSecrets")),
    Case("images.private-registry", app(), [with_container(image="docker.io/library/nginx:1.27.0")], (API, f"{C}.image")),
    Case("security.non-root", app(), [with_container(securityContext__runAsUser=0)], (API, f"{C}.securityContext.runAsUser")),
    Case("security.security-context", app(), [with_container(securityContext__allowPrivilegeEscalation=True)], (API, f"{C}.securityContext.allowPrivilegeEscalation")),
    Case("security.read-only-root-fs", app(), [with_container(securityContext__readOnlyRootFilesystem=False)], (API, f"{C}.securityContext.readOnlyRootFilesystem")),
    Case("security.pod-security-admission", app(), [namespace_obj(labels={"pod-security.kubernetes.io/enforce": "baseline"}), deployment()], ("Namespace/shop", "metadata.labels.pod-security.kubernetes.io/enforce")),
    Case("security.no-inline-secrets", app(), [with_container(env=[{"name": "API_TOKEN", "value": "s3cr3t"}])], (API, f"{C}.env[API_TOKEN].value")),
    Case("scaling.hpa-coverage", app(), [deployment()], (API, "HorizontalPodAutoscaler.spec.scaleTargetRef")),
    Case("scaling.hpa-cpu-target", app(), [hpa(cpu=90)], ("shop/HorizontalPodAutoscaler/api", "spec.metrics[cpu].resource.target.averageUtilization")),
    Case("scaling.hpa-bounds", app(), [hpa(min_replicas=None)], ("shop/HorizontalPodAutoscaler/api", "spec.minReplicas")),
    Case("scaling.metrics-server", [METRICS_API], [setp(METRICS_API, "status.conditions.0.status", "False")], ("APIService/v1beta1.metrics.k8s.io", "status.conditions[Available]"), exempted_status=("fail",), live=True),
    Case("observability.prometheus-storage", [prometheus()], [prometheus(), prometheus("small", storage="10Gi")], ("monitoring/Prometheus/small", "spec.storage.volumeClaimTemplate.spec.resources.requests.storage")),
    Case("observability.prometheus-retention", [prometheus()], [prometheus(), prometheus("short", retention="15d")], ("monitoring/Prometheus/short", "spec.retention")),
    Case("observability.servicemonitors", [service(), service_monitor()], [service(), service_monitor(), service_monitor("stale", {"app": "gone"})], ("shop/ServiceMonitor/stale", "spec.selector")),
    Case("observability.metrics-scraped", [service(), service_monitor()], [service(), service_monitor(), service("worker")], ("shop/Service/worker", "metadata.labels")),
    Case("observability.alertmanager", [prometheus(), obj("monitoring.coreos.com/v1", "Alertmanager", "main", "monitoring", {"replicas": 3})], [prometheus(), prometheus("lonely", alerting=False), obj("monitoring.coreos.com/v1", "Alertmanager", "main", "monitoring", {})], ("monitoring/Prometheus/lonely", "spec.alerting.alertmanagers")),
    Case("observability.alert-rules", [rules(ALERTS)], [rules([a for a in ALERTS if a != "DiskSpaceLow"])], ("cluster", "PrometheusRule.spec.groups[].rules[].alert"), exempt="monitoring/PrometheusRule/app-alerts", exempted_status=("fail",)),
    Case("observability.grafana", [platform_deployment("grafana", "docker.io/grafana/grafana:11.1.0", volumes=[{"name": "storage", "persistentVolumeClaim": {"claimName": "grafana"}}])], [platform_deployment("grafana", "docker.io/grafana/grafana:11.1.0", env=[{"name": "GF_DATABASE_TYPE", "value": "postgres"}]), platform_deployment("team-grafana", "docker.io/grafana/grafana:11.1.0", volumes=[{"name": "storage", "emptyDir": {}}])], ("monitoring/Deployment/team-grafana", "spec.template.spec.volumes")),
    Case("observability.tracing", [platform_deployment("otel-collector", "docker.io/otel/opentelemetry-collector-contrib:0.104.0")], [], None, summary="no OpenTelemetry Collector or Jaeger in the bundle", exempt="monitoring/Deployment/otel-collector", exempt_in="good", exempted_status=("fail",)),
    Case("logs.loki", [LOKI, loki_config()], [LOKI, loki_config(store="filesystem")], ("monitoring/StatefulSet/loki", "schema_config.configs[].object_store"), exempted_status=("fail",)),
    Case("logs.loki-retention", [LOKI, loki_config()], [LOKI, loki_config(retention="7d")], ("monitoring/StatefulSet/loki", "limits_config.retention_period"), exempted_status=("fail",)),
    Case("logs.log-shipper", [shipper(3), node("n1"), node("n2"), node("n3")], [shipper(2), node("n1"), node("n2"), node("n3")], ("logging/DaemonSet/promtail", "status.numberReady"), exempted_status=("fail",), live=True),
    Case("dapr.control-plane", dapr_plane(), dapr_plane("1.11.3"), ("dapr-system/Deployment/dapr-operator", "spec.template.spec.containers[operator].image"), exempted_status=("fail",)),
    Case("dapr.sidecars", app(), [deployment(pod_annotations={"dapr.io/enabled": "false"})], (API, "spec.template.metadata.annotations.dapr.io/enabled")),
    Case("dapr.pubsub", [component("pubsub", "pubsub.kafka"), kafka()], [component("pubsub", "pubsub.kafka"), kafka(replication=1)], ("kafka/Kafka/events", "spec.kafka.config.default.replication.factor")),
    Case("dapr.statestore", [component("statestore", "state.postgresql")], [component("statestore", "state.postgresql"), component("cache", "state.redis")], ("shop/Component/cache", "spec.type")),
    Case("dapr.secretstore", [component("secrets", "secretstores.kubernetes")], [component("secrets", "secretstores.kubernetes"), component("files", "secretstores.local.file")], ("shop/Component/files", "spec.type")),
    Case("dapr.components", [component("pubsub", "pubsub.kafka"), kafka(), component("statestore", "state.postgresql"), component("secrets", "secretstores.kubernetes")],
         [component("pubsub", "pubsub.kafka"), kafka(), component("statestore", "state.redis"), component("secrets", "secretstores.kubernetes")], ("shop/Component/statestore", "spec.type"), exempted_status=("fail",)),
    Case("dapr.mtls", [dapr_config()], [dapr_config(mtls=False)], ("dapr-system/Configuration/daprsystem", "spec.mtls.enabled"), exempted_status=("fail",)),
    Case("dapr.metrics", [deployment(), POD_MONITOR], [deployment(), deployment("worker", pod_annotations={"dapr.io/enable-metrics": "false"}), POD_MONITOR], ("shop/Deployment/worker", "spec.template.metadata.annotations.dapr.io/enable-metrics")),
    Case("backups.schedules", [pvc("data", "premium-rwo"), velero_schedule()], [pvc("data", "premium-rwo"), velero_schedule(namespaces=("team-a",))], ("Namespace/shop", "velero.io/v1/Schedule.spec.template.includedNamespaces"), exempt="velero/Schedule/daily", exempted_status=("fail",)),
    Case("backups.retention", [velero_schedule()], [velero_schedule(), velero_schedule("hourly", ttl="168h0m0s")], ("velero/Schedule/hourly", "spec.template.ttl")),
    Case("security.host-access", [hardened()], [hardened(hostNetwork=True)], (API, "spec.template.spec.hostNetwork")),
    Case("security.seccomp", [hardened()], [deployment()], (API, "spec.template.spec.securityContext.seccompProfile.type")),
    Case("security.service-account-token", [hardened()], [deployment()], (API, "spec.template.spec.automountServiceAccountToken")),
    Case("references.dangling", [namespace_obj(), deployment(), hpa()], [namespace_obj(), deployment(), hpa(), hpa("worker")], ("shop/HorizontalPodAutoscaler/worker", "spec.scaleTargetRef")),
    Case("scaling.replicas-vs-hpa", [namespace_obj(), setp(deployment(), "spec.replicas", DELETE), hpa()], [namespace_obj(), deployment(), hpa()], (API, "spec.replicas")),
    Case("kafka.topic-partitions", [topic()], [topic(), topic("audit", partitions=12)], ("kafka/KafkaTopic/audit", "spec.partitions")),
    Case("kafka.topic-replicas", [topic()], [topic(), topic("audit", replicas=1)], ("kafka/KafkaTopic/audit", "spec.replicas")),
    Case("kafka.topic-retention", [topic()], [topic(), topic("audit", retention=3600000)], ("kafka/KafkaTopic/audit", "spec.config.retention.ms")),
]
