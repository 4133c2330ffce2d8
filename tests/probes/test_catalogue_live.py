"""What a live snapshot adds to the judgement of templates: running Pods, LimitRanges, cluster state."""
from tests.probes.catalogue_cases import pvc
from tests.probes.probe_builders import DELETE, deployment, exempt, obj, pod_spec, run, setp, snapshot

SIDECAR = {"name": "daprd", "image": "docker.io/daprio/daprd:1.13.2", "securityContext": {"runAsNonRoot": True}}


def running_pod(name="api-7d9f-abcde", owner="api-7d9f", containers=None):
    pod = obj("v1", "Pod", name, spec=pod_spec(*(containers or [])), status={"phase": "Running"})
    pod["metadata"]["labels"] = {"app": "api", "pod-template-hash": "7d9f"}
    pod["metadata"]["annotations"] = {"dapr.io/enabled": "true", "dapr.io/app-id": "api"}  # copied from the template
    pod["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "controller": True}]
    return pod


def test_injected_sidecars_are_judged_on_the_running_pod_only():
    template_container = deployment()["spec"]["template"]["spec"]["containers"][0]
    pods = [running_pod(f"api-7d9f-{n}", containers=[template_container, SIDECAR]) for n in ("a", "b")]
    outcome = run("workloads.resources", snapshot(deployment(), *pods, live=True))
    assert outcome.status == "fail"
    # One pod per workload, and only the container the template does not hold.
    assert {(f.object, f.field) for f in outcome.findings} == {
        ("shop/Pod/api-7d9f-a", f"spec.containers[daprd].resources.{r}") for r in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
    }


def test_limit_range_defaults_count_as_requests_and_limits():
    bare = setp(deployment(), "spec.template.spec.containers.app.resources", DELETE)
    limits = obj("v1", "LimitRange", "defaults", spec={"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"}}]})
    assert run("workloads.resources", snapshot(bare, live=True)).status == "fail"
    assert run("workloads.resources", snapshot(bare, limits, live=True)).status == "pass"


def test_an_exempted_workload_takes_its_running_pods_along():
    pod = running_pod(containers=[{"name": "app", "image": "x/y:latest"}])
    snap = snapshot(exempt(deployment(), "images.pinned-tags"), pod, live=True)
    outcome = run("images.pinned-tags", snap)
    assert outcome.status == "skip" and outcome.exempted == ["shop/Deployment/api: accepted risk, ticket OPS-1"]


def test_dapr_sidecar_missing_from_a_running_pod():
    outcome = run("dapr.sidecars", snapshot(deployment(), running_pod(), live=True))
    assert ("shop/Pod/api-7d9f-abcde", "spec.containers[daprd]") in {(f.object, f.field) for f in outcome.findings}


def test_autoscaler_bounds_from_the_status_configmap():
    status = "NodeGroups:\n  Name: pool-a\n  Health: Healthy (ready=3 minSize=3, maxSize=10)\n"
    cm = obj("v1", "ConfigMap", "cluster-autoscaler-status", "kube-system", None, data={"status": status})
    outcome = run("cluster.autoscaler-bounds", snapshot(cm, live=True))
    assert outcome.status == "pass" and outcome.observed["min"] == 3
    assert run("cluster.autoscaler-bounds", snapshot(live=True)).status == "skip"


def test_claims_without_a_class_use_the_default_class_which_must_exist():
    default = obj("storage.k8s.io/v1", "StorageClass", "premium-rwo", None)
    default["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    other = obj("storage.k8s.io/v1", "StorageClass", "standard", None)
    assert run("storage.production-classes", snapshot(default, pvc("data", None), live=True)).status == "pass"
    outcome = run("storage.production-classes", snapshot(other, pvc("data", "premium-rwo"), live=True))
    assert ("StorageClass/*", "metadata.annotations.storageclass.kubernetes.io/is-default-class") in {(f.object, f.field) for f in outcome.findings}


def test_missing_crd_is_reported_as_not_installed():
    outcome = run("observability.prometheus-storage", snapshot(live=True, missing={"monitoring.coreos.com/v1/Prometheus"}))
    assert outcome.status == "fail" and "CRD is not served" in outcome.summary


def test_log_shipper_must_cover_tainted_nodes_it_tolerates():
    from tests.probes.catalogue_cases import shipper
    from tests.probes.probe_builders import node

    tainted = node("gpu", taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}])
    ds = shipper(ready=2, desired=2)
    assert run("logs.log-shipper", snapshot(ds, node("a"), node("b"), tainted, live=True)).status == "pass"
    ds["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    assert run("logs.log-shipper", snapshot(ds, node("a"), node("b"), tainted, live=True)).status == "fail"
