"""Benchmark the live collector against a simulated cluster served on loopback.

    python bench/probe_collect.py [--runs 5] [--page-size 500]

The cluster (200 nodes, 2,000 Deployments, 10,000 Pods, with namespaces, Services, HPAs, PDBs,
NetworkPolicies and monitoring objects) is served by tests/probes/k8s_server.py in a child process,
so the server's CPU and fixture memory stay out of the figures, as with a real API server.

Prints the API calls, wall time, peak memory, and the ratio of the full collection time to the time
of the bare list calls alone (the same paginated GETs over one keep-alive connection, no JSON
parsing, nothing kept); then the catalogue's evaluation of the snapshot (median of as many runs) and
the ratio of collection plus evaluation to the bare list calls.
"""
import argparse
import http.client
import json
import re
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.probes.k8s_server import DEFAULT_TOKEN, KubeApiServer, kubeconfig_text  # noqa: E402
from probes import cluster_collector as live  # noqa: E402
from probes.engine.kinds import KINDS  # noqa: E402
from probes.engine.snapshot import Snapshot  # noqa: E402

NODES, DEPLOYMENTS, PODS_PER_DEPLOYMENT, NAMESPACES = 200, 2_000, 5, 40
ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
# Everything the catalogue may ask for, except Secrets: no probe needs their values, and the
# collector's service account should not be able to read them.
BENCH_KINDS = [k for k in KINDS if k != "v1/Secret"]
_CONTINUE = re.compile(rb'"continue":"([^"]+)"')


def evaluate(snapshot: Snapshot, runs: int) -> tuple[int, float] | None:
    """Run every probe of the catalogue (default params) over `snapshot` `runs` times; return how
    many ran and the median seconds of a run. The catalogue is imported first, as a worker has it
    loaded before its first run.

    Returns None when probes/evaluate.py is not available (a checkout without the catalogue).
    """
    try:
        from probes.engine.evaluate import catalogue_bindings
        from probes.engine.evaluate import evaluate as evaluate_all
    except ImportError:
        return None
    bindings, times = catalogue_bindings(), []
    for _ in range(runs):
        started = time.perf_counter()
        results = evaluate_all(snapshot, bindings)
        times.append(time.perf_counter() - started)
    statuses = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error", "skip")}
    print(f"outcomes       {', '.join(f'{n} {s}' for s, n in statuses.items())}")
    slowest = sorted(results, key=lambda r: r.duration_ms, reverse=True)[:3]
    print("slowest probes " + ", ".join(f"{r.probe_id} {r.duration_ms / 1000:.2f}s" for r in slowest))
    return len(results), statistics.median(times)


# --- the simulated cluster ---------------------------------------------------------------------
def cluster() -> dict[str, list[dict]]:
    namespaces = [f"team-{i:02d}" for i in range(NAMESPACES)]
    deployments = [_deployment(i, namespaces[i % NAMESPACES]) for i in range(DEPLOYMENTS)]
    return {
        "v1/Node": [_node(i) for i in range(NODES)],
        "v1/Namespace": [_namespace(n) for n in namespaces + ["kube-system", "monitoring"]],
        "apps/v1/Deployment": deployments,
        "v1/Pod": [_pod(d, r) for d in deployments for r in range(PODS_PER_DEPLOYMENT)],
        "v1/Service": [_service(d) for d in deployments],
        "autoscaling/v2/HorizontalPodAutoscaler": [_hpa(d) for i, d in enumerate(deployments) if i % 4],
        "policy/v1/PodDisruptionBudget": [_pdb(d) for d in deployments[::2]],
        "networking.k8s.io/v1/NetworkPolicy": [_netpol(n) for n in namespaces],
        "networking.k8s.io/v1/Ingress": [_ingress(d) for d in deployments[::10]],
        "networking.k8s.io/v1/IngressClass": [_obj("networking.k8s.io/v1", "IngressClass", "nginx")],
        "storage.k8s.io/v1/StorageClass": [_obj("storage.k8s.io/v1", "StorageClass", "gp3")],
        "apiregistration.k8s.io/v1/APIService": [
            _obj("apiregistration.k8s.io/v1", "APIService", "v1beta1.metrics.k8s.io")],
        "monitoring.coreos.com/v1/Prometheus": [
            _obj("monitoring.coreos.com/v1", "Prometheus", "k8s", "monitoring",
                 spec={"retention": "15d", "storage": {"volumeClaimTemplate": {"spec": {
                     "resources": {"requests": {"storage": "100Gi"}}}}}})],
        "monitoring.coreos.com/v1/ServiceMonitor": [
            _obj("monitoring.coreos.com/v1", "ServiceMonitor", d["metadata"]["name"],
                 d["metadata"]["namespace"], spec={"endpoints": [{"port": "metrics"}]})
            for d in deployments[::5]],
        # dapr.io Components are left out: their CRD "is not installed" (a 404 list).
    }


def _obj(api_version: str, kind: str, name: str, namespace: str | None = None, **fields) -> dict:
    metadata = {"name": name, "uid": f"{kind}-{namespace}-{name}", "resourceVersion": "1",
                "creationTimestamp": "2025-01-01T00:00:00Z"}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def _node(i: int) -> dict:
    node = _obj("v1", "Node", f"ip-10-0-{i // 250}-{i % 250}.eu-west-1.compute.internal")
    node["metadata"]["labels"] = {"topology.kubernetes.io/zone": ZONES[i % 3],
                                  "node.kubernetes.io/instance-type": "m6i.2xlarge"}
    resources = {"cpu": "8", "memory": "32Gi", "pods": "110"}
    node["status"] = {"capacity": resources, "allocatable": resources,
                      "nodeInfo": {"kubeletVersion": "v1.30.4", "osImage": "Bottlerocket"},
                      "conditions": [{"type": "Ready", "status": "True"}]}
    return node


def _namespace(name: str) -> dict:
    ns = _obj("v1", "Namespace", name)
    ns["metadata"]["labels"] = {"pod-security.kubernetes.io/enforce": "restricted"}
    return ns


def _container(name: str) -> dict:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
    return {
        "name": name, "image": f"registry.example.com/{name}:1.4.2",
        "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": name, "key": "pw"}}}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                      "limits": {"cpu": "1", "memory": "512Mi"}},
        "livenessProbe": probe, "readinessProbe": probe,
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _pod_spec(app: str) -> dict:
    return {"containers": [_container(app)], "volumes": [{"name": "tmp", "emptyDir": {}}],
            "serviceAccountName": app, "imagePullSecrets": [{"name": "registry"}],
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                                           "whenUnsatisfiable": "DoNotSchedule",
                                           "labelSelector": {"matchLabels": {"app": app}}}]}


def _deployment(i: int, namespace: str) -> dict:
    app = f"svc-{i:04d}"
    labels = {"app": app, "app.kubernetes.io/part-of": "shop"}
    deployment = _obj("apps/v1", "Deployment", app, namespace, spec={
        "replicas": PODS_PER_DEPLOYMENT, "selector": {"matchLabels": {"app": app}},
        "template": {"metadata": {"labels": labels,
                                  "annotations": {"dapr.io/enabled": "true", "dapr.io/app-id": app}},
                     "spec": _pod_spec(app)}})
    deployment["metadata"]["labels"] = labels
    deployment["status"] = {"replicas": PODS_PER_DEPLOYMENT, "readyReplicas": PODS_PER_DEPLOYMENT}
    return deployment


def _pod(deployment: dict, replica: int) -> dict:
    meta = deployment["metadata"]
    pod = _obj("v1", "Pod", f"{meta['name']}-7d4b9c-{replica:05d}", meta["namespace"],
               spec={**_pod_spec(meta["name"]), "nodeName": f"node-{replica}"})
    pod["metadata"]["labels"] = dict(meta["labels"])
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                           "name": f"{meta['name']}-7d4b9c", "controller": True}]
    pod["status"] = {"phase": "Running", "podIP": "10.1.2.3", "qosClass": "Burstable",
                     "conditions": [{"type": t, "status": "True"} for t in
                                    ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                     "containerStatuses": [{"name": meta["name"], "ready": True, "restartCount": 0,
                                            "image": f"registry.example.com/{meta['name']}:1.4.2"}]}
    return pod


def _service(deployment: dict) -> dict:
    meta = deployment["metadata"]
    return _obj("v1", "Service", meta["name"], meta["namespace"], spec={
        "selector": {"app": meta["name"]}, "ports": [{"port": 80, "targetPort": "http"}]})


def _hpa(deployment: dict) -> dict:
    meta = deployment["metadata"]
    return _obj("autoscaling/v2", "HorizontalPodAutoscaler", meta["name"], meta["namespace"], spec={
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]},
        "minReplicas": 2, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]})


def _pdb(deployment: dict) -> dict:
    meta = deployment["metadata"]
    return _obj("policy/v1", "PodDisruptionBudget", meta["name"], meta["namespace"], spec={
        "minAvailable": 1, "selector": {"matchLabels": {"app": meta["name"]}}})


def _netpol(namespace: str) -> dict:
    return _obj("networking.k8s.io/v1", "NetworkPolicy", "default-deny", namespace,
                spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def _ingress(deployment: dict) -> dict:
    meta = deployment["metadata"]
    host = f"{meta['name']}.example.com"
    return _obj("networking.k8s.io/v1", "Ingress", meta["name"], meta["namespace"], spec={
        "ingressClassName": "nginx", "tls": [{"hosts": [host], "secretName": f"{meta['name']}-tls"}],
        "rules": [{"host": host}]})


# --- the server, in a child process --------------------------------------------------------------
def serve() -> None:
    """Child process: serve the simulated cluster until stdin closes."""
    with KubeApiServer(cluster(), token=DEFAULT_TOKEN) as server:
        print(server.url, flush=True)
        sys.stdin.read()


def start_server() -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    return child, child.stdout.readline().strip()


# --- measurements --------------------------------------------------------------------------------
def bare_lists(url: str, page_size: int) -> tuple[float, int]:
    """The same paginated GETs with http.client: bytes read, continue token found, nothing kept."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Accept": "application/json"}
    started, calls = time.perf_counter(), 1
    connection.request("GET", "/version", headers=headers)
    connection.getresponse().read()
    for kind in (KINDS[k] for k in BENCH_KINDS):
        group = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        path = f"{group}/{kind.plural}"
        token = None
        while True:
            query = f"?limit={page_size}" + (f"&continue={token}" if token else "")
            connection.request("GET", path + query, headers=headers)
            body = connection.getresponse().read()
            calls += 1
            found = _CONTINUE.search(body, 0, 400)  # list metadata comes before the items
            token = found and found.group(1).decode()
            if not token:
                break
    connection.close()
    return time.perf_counter() - started, calls


def full_collect(url: str, page_size: int) -> tuple[float, live.CollectStats, Snapshot]:
    stats = live.CollectStats()
    started = time.perf_counter()
    with live.kubeconfig_client(kubeconfig_text(url, DEFAULT_TOKEN)) as api:
        snapshot = live.collect(api, BENCH_KINDS, source="cluster:bench", page_size=page_size,
                                stats=stats)
    return time.perf_counter() - started, stats, snapshot


def timed_runs(url: str, page_size: int, runs: int) -> tuple[list[float], live.CollectStats]:
    """Collect `runs` times, dropping each snapshot before the next, as one worker run would."""
    times, stats = [], live.CollectStats()
    for _ in range(runs):
        elapsed, stats, snapshot = full_collect(url, page_size)
        times.append(elapsed)
        del snapshot  # else it stays alive through the next run and doubles the peak
    return times, stats


def traced_peak(url: str, page_size: int) -> tuple[int, Snapshot]:
    """Peak Python allocation during one collection (tracemalloc slows it: timed separately)."""
    tracemalloc.start()
    _, _, snapshot = full_collect(url, page_size)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, snapshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()

    child, url = start_server()
    try:
        base_rss = _max_rss_mib()
        full_collect(url, args.page_size)  # warm up imports and the connection path
        # In turn, so a machine busy with other work slows both alike.
        bare, full = [], []
        for _ in range(args.runs):
            bare.append(bare_lists(url, args.page_size))
            times, stats = timed_runs(url, args.page_size, 1)
            full += times
        run_rss = _max_rss_mib()  # before tracemalloc, whose own bookkeeping is large
        peak, snapshot = traced_peak(url, args.page_size)
    finally:
        child.stdin.close()
        child.wait(timeout=30)

    bare_time, full_time = statistics.median(t for t, _ in bare), statistics.median(full)
    print(f"cluster        {NODES} nodes, {DEPLOYMENTS} deployments, "
          f"{DEPLOYMENTS * PODS_PER_DEPLOYMENT} pods; {len(BENCH_KINDS)} kinds, "
          f"page size {args.page_size}")
    print(f"objects        {sum(stats.objects.values())} collected; missing: "
          + ", ".join(k.rsplit("/", 1)[1] for k in sorted(snapshot.missing)))
    print(f"API calls      {stats.calls} (bare loop: {bare[-1][1]}); retries {stats.retries}")
    paged = [f"{k.rsplit('/', 1)[1]}={n}" for k, n in stats.pages.items() if n > 1]
    print(f"pages by kind  {', '.join(paged)}; every other kind 1")
    print(f"wall time      full collection {full_time:.3f}s (median of {args.runs})")
    print(f"               bare list calls {bare_time:.3f}s; ratio {full_time / bare_time:.2f}x")
    print(f"peak memory    {peak / 2**20:.1f} MiB allocated by one collection (tracemalloc); "
          f"process max RSS {run_rss:.0f} MiB ({base_rss:.0f} MiB before collecting)")
    json_size = sum(len(json.dumps(o)) for objs in snapshot.objects.values() for o in objs)
    print(f"snapshot       {json_size / 2**20:.1f} MiB as compact JSON")
    evaluated = evaluate(snapshot, args.runs)
    if evaluated is not None:
        outcomes, evaluation = evaluated
        print(f"evaluation     {outcomes} probes in {evaluation:.3f}s (median of {args.runs})")
        print(f"full run       collect + evaluate {full_time + evaluation:.3f}s; "
              f"ratio to bare list calls {(full_time + evaluation) / bare_time:.2f}x")


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


if __name__ == "__main__":
    main()
