"""`manage.py probe --manifests` on a 500-app bundle (2,000 objects), against Checkov on the same bundle.

    python -m readiness.stack exec -- python bench/probe_bundle.py [--apps 500] [--repeat 3] [--checkov PATH]

The bundle is one YAML file per app (a Deployment, Service, HorizontalPodAutoscaler and
PodDisruptionBudget, as `helm template` writes a chart) in a temporary folder. Each tool runs as a
fresh process, in turn, as a CI step would start it; the medians and their ratio are printed.

Checkov is not a dependency of the project: install it in a virtualenv of its own
(`python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov`) and name its
executable with --checkov or the CHECKOV environment variable. Without it the baseline is
`django.setup()` alone. Runs in its own database, `readiness_bench_bundle` on the server
DATABASE_URL names (migrated here, dropped at the end): the command reads the built-in template's
bindings from it. Every run must exit as the first did and write its report, or the benchmark stops
with the run's stderr.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from _db import migrated_database
from probe_cli import timed_probe, timed_setup

BENCH_DB = "readiness_bench_bundle"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True  # every value written out, as helm template writes it: no anchors, no aliases


def write_bundle(folder: Path, apps: int) -> int:
    """One file per app; returns the number of objects written."""
    for i in range(apps):
        documents = _app(f"svc-{i:04d}", f"team-{i % 20:02d}")
        text = yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False)
        (folder / f"svc-{i:04d}.yaml").write_text(text, encoding="utf-8")
    return apps * 4


def _app(name: str, namespace: str) -> list[dict]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop"}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    container = {
        "name": name, "image": f"acme.azurecr.io/shop/{name}:1.4.2",
        "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": name, "key": "password"}}}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "livenessProbe": probe, "readinessProbe": probe,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
        "spec": {"replicas": 3, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels, "annotations": {"dapr.io/enabled": "true", "dapr.io/app-id": name}},
            "spec": {"serviceAccountName": name, "automountServiceAccountToken": False,
                     "imagePullSecrets": [{"name": "acr"}], "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [container], "volumes": [{"name": "tmp", "emptyDir": {}}],
                     "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                    "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": labels}}]}}},
    }
    service = {"apiVersion": "v1", "kind": "Service", "metadata": meta,
               "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta,
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": 2, "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {
                        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}}
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
           "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}}
    return [deployment, service, hpa, pdb]


def timed_checkov(checkov: str, folder: Path) -> tuple[float, int]:
    # Kubernetes checks only (Checkov's fastest run on this bundle), nothing fetched from the network.
    started = time.perf_counter()
    done = subprocess.run([checkov, "-d", str(folder), "--framework", "kubernetes", "--quiet", "--compact",
                           "--skip-download", "-o", "cli"], capture_output=True, text=True,
                          env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"})
    return time.perf_counter() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkov", default=os.environ.get("CHECKOV"), help="the checkov executable (default: $CHECKOV)")
    args = parser.parse_args()
    with migrated_database(BENCH_DB), tempfile.TemporaryDirectory(prefix="readiness-bundle-") as tmp:
        folder = Path(tmp) / "bundle"
        folder.mkdir()
        objects = write_bundle(folder, args.apps)
        ours, theirs, loaded, code, their_code = measure(folder, Path(tmp) / "report.txt", args)
    probe, baseline = statistics.median(ours), statistics.median(theirs)
    print(f"bundle                          {args.apps} apps, {objects} objects, one file per app")
    print(f"probe --manifests               {probe:6.2f} s  loads {loaded or 'neither'} (exit {code})")
    if args.checkov:
        print(f"checkov -d (kubernetes)         {baseline:6.2f} s  (exit {their_code})")
    else:
        print(f"django.setup() alone            {baseline:6.2f} s  (no Checkov: --checkov PATH or CHECKOV)")
    print(f"ratio                           {probe / baseline:6.2f}x  (medians of {args.repeat})")
    return 0


def measure(folder: Path, report: Path, args) -> tuple[list[float], list[float], list[str], int, int]:
    """Each run checked as bench/probe_cli.py checks it (exit 0 or 1 as the first run, report written):
    a run that crashed early would otherwise pass for a fast one."""
    probe_args = ("probe", "--manifests", str(folder))
    _, _, code = timed_probe(report, probe_args)  # the first run imports the built-in template
    if args.checkov:
        timed_checkov(args.checkov, folder)  # Checkov's first run fills its caches
    ours, theirs, loaded, their_code = [], [], [], 0
    for _ in range(args.repeat):  # in turn, so a machine busy with other work slows both alike
        seconds, loaded, _ = timed_probe(report, probe_args, expected=code)
        ours.append(seconds)
        if args.checkov:
            seconds, their_code = timed_checkov(args.checkov, folder)
        else:
            seconds, _ = timed_setup()
        theirs.append(seconds)
    return ours, theirs, loaded, code, their_code


if __name__ == "__main__":
    sys.exit(main())
