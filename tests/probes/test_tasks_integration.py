"""A real Redis broker and real `celery worker` subprocesses running probe runs.

The worker reaches the test database through DATABASE_URL (pytest-django's `test_<name>`), so these
tests commit (transaction=True), and the loopback Kubernetes API server of the test process. A short
visibility timeout lets a fresh worker pick up the message of a worker killed mid-run within seconds.
"""
import time
from pathlib import Path

import pytest

from checklists.models import ReleaseItem
from probes import services
from probes.engine.manifests import load_manifests
from probes.models import ProbeResult, ProbeRun, probe_bound
from probes.tasks import run_probes
from tests.celery_workers import wait_for

BUNDLES = Path(__file__).parent / "bundles"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster(k8s_server):
    k8s_server.objects = load_manifests(BUNDLES / "good").objects
    return services.cluster_create(name="loop", kubeconfig=k8s_server.kubeconfig())


def state_of(run) -> str:
    return ProbeRun.objects.values_list("state", flat=True).get(pk=run.pk)


def broker_idle(broker) -> bool:
    return broker.llen("celery") == 0 and broker.hlen("unacked") == 0


def test_a_queued_run_is_done_by_a_worker_and_items_change(release, cluster, workers):
    workers.start()
    run = services.run_create(release=release, cluster=cluster)  # queued on commit

    wait_for(lambda: state_of(run) == "done", what="the run to finish")

    run.refresh_from_db()
    assert run.attempts == 1 and run.results.count() == release.items.filter(probe_bound()).count()
    assert release.items.get(probe_id="workloads.replicas").status == ReleaseItem.Status.DONE


def test_a_task_delivered_twice_stores_one_set_of_results(release, cluster, workers, broker):
    run = services.run_create(release=release, cluster=cluster, queue=False)
    run_probes.delay(run.pk)
    run_probes.delay(run.pk)
    workers.start()

    wait_for(lambda: state_of(run) == "done", what="the run to finish")
    wait_for(lambda: broker_idle(broker), what="both messages to be handled")

    run.refresh_from_db()
    bound = release.items.filter(probe_bound()).count()
    assert ProbeResult.objects.filter(run=run).count() == bound
    assert run.attempts == 1  # the second delivery found the run done and did nothing


def test_a_worker_killed_during_collection_leaves_the_run_to_a_fresh_worker(release, cluster, workers, k8s_server):
    k8s_server.fault("/version", 200, delay=30)  # the first request stalls: the run sits in collection
    first = workers.start()
    run = services.run_create(release=release, cluster=cluster)
    wait_for(lambda: state_of(run) == "running", timeout=20, what="the worker to start the run")
    time.sleep(0.5)  # the worker is now inside the stalled /version call (the server logs it only once answered)
    assert k8s_server.calls("/version") == 0

    workers.kill(first)
    assert state_of(run) == "running"  # nothing can clean up after SIGKILL but a redelivery

    workers.start()
    wait_for(lambda: state_of(run) in ("done", "failed"), timeout=30, what="a fresh worker to take the run")

    run.refresh_from_db()
    assert run.state == "done" and run.attempts == 2
    assert release.items.get(probe_id="workloads.replicas").status == ReleaseItem.Status.DONE
