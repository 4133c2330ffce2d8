"""The Kubernetes resource kinds probes may ask for, and how to list each one.

A kind id is "group/version/Kind" ("v1/Node" for the core group). Collectors list exactly the kinds
the bound probes declare, one paginated list call per kind, so API calls grow with kinds, not objects.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    id: str
    group: str  # "" for the core API group
    version: str
    kind: str
    plural: str
    namespaced: bool
    custom: bool = False  # served by a CRD: may be absent from a cluster

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _k(group, version, kind, plural, namespaced=True, custom=False):
    kind_id = f"{group}/{version}/{kind}" if group else f"{version}/{kind}"
    return Kind(kind_id, group, version, kind, plural, namespaced, custom)


KINDS = {
    k.id: k
    for k in [
        _k("", "v1", "Node", "nodes", namespaced=False),
        _k("", "v1", "Namespace", "namespaces", namespaced=False),
        _k("", "v1", "Pod", "pods"),
        _k("", "v1", "Service", "services"),
        _k("", "v1", "Secret", "secrets"),
        _k("", "v1", "ConfigMap", "configmaps"),
        _k("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
        _k("", "v1", "LimitRange", "limitranges"),
        _k("", "v1", "ServiceAccount", "serviceaccounts"),
        _k("apps", "v1", "Deployment", "deployments"),
        _k("apps", "v1", "StatefulSet", "statefulsets"),
        _k("apps", "v1", "DaemonSet", "daemonsets"),
        _k("apps", "v1", "ReplicaSet", "replicasets"),
        _k("batch", "v1", "CronJob", "cronjobs"),
        _k("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
        _k("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
        _k("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
        _k("networking.k8s.io", "v1", "Ingress", "ingresses"),
        _k("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False),
        _k("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False),
        _k("apiregistration.k8s.io", "v1", "APIService", "apiservices", namespaced=False),
        _k("monitoring.coreos.com", "v1", "Prometheus", "prometheuses", custom=True),
        _k("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", custom=True),
        _k("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules", custom=True),
        _k("monitoring.coreos.com", "v1", "Alertmanager", "alertmanagers", custom=True),
        _k("monitoring.coreos.com", "v1", "PodMonitor", "podmonitors", custom=True),
        _k("dapr.io", "v1alpha1", "Component", "components", custom=True),
        _k("dapr.io", "v1alpha1", "Configuration", "configurations", custom=True),
        _k("kafka.strimzi.io", "v1beta2", "KafkaTopic", "kafkatopics", custom=True),
        _k("kafka.strimzi.io", "v1beta2", "Kafka", "kafkas", custom=True),
        _k("velero.io", "v1", "Schedule", "schedules", custom=True),
    ]
}
