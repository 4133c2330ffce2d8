"""A worker's peak memory for the hostile bundles: the alias bomb and 25,000 Deployments.

Each run is executed by a fresh Python process on the test database (as a Celery worker would run
it), which reports its peak resident set (resource.getrusage) after Django is set up and again after
the run; the growth is asserted under a bound and printed.
"""
import json
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from probes import bundles, services
from probes.models import ProbeRun
from tests.celery_workers import ROOT, Workers
from tests.probes.test_views import deployments_yaml

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shared_media]

WORKER = """
import json, resource, django
django.setup()
from probes import services
from probes.models import ProbeRun
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
services.run_execute(run_id={run_id})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
run = ProbeRun.objects.get(pk={run_id})
print(json.dumps({{"before_kb": before, "after_kb": after, "state": run.state, "message": run.message}}))
"""


def _run_in_worker(run: ProbeRun) -> dict:
    env = {**Workers().env, "DJANGO_SETTINGS_MODULE": "readiness.settings"}
    done = subprocess.run([sys.executable, "-c", WORKER.format(run_id=run.pk)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _bundle_run(release, name: str, data: bytes) -> ProbeRun:
    bundle = bundles.read_uploads([SimpleUploadedFile(name, data)])
    return services.run_create(release=release, bundle=bundle, bundle_name=name, queue=False)


BOMB = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"  l{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 9))
        + "spec: {replicas: *a8}\n")


def test_the_alias_bomb_is_refused_in_little_memory(release):
    report = _run_in_worker(_bundle_run(release, "bomb.yaml", BOMB.encode()))
    grown_mb = (report["after_kb"] - report["before_kb"]) / 1024
    print(f"\nalias bomb ({len(BOMB)} bytes, 8 levels): worker grew {grown_mb:.1f} MB; {report['message']}")
    assert report["state"] == "error" and "aliases expand to more than 10,000 nodes" in report["message"]
    assert grown_mb < 20


def test_a_bundle_of_25000_deployments_runs_within_a_memory_bound(release):
    data = deployments_yaml(25_000)
    report = _run_in_worker(_bundle_run(release, "big.yaml", data))
    grown_mb = (report["after_kb"] - report["before_kb"]) / 1024
    print(f"\n{len(data) / 1e6:.1f} MB bundle of 25,000 Deployments: worker grew {grown_mb:.0f} MB; "
          f"{report['state']}: {report['message']}")
    assert report["state"] == "done"
    assert grown_mb < 512  # measured: about 200 MB
