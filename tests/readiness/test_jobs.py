"""Background jobs (readiness.jobs) when the broker is down: nothing raises, the row says it waits, and
the sweeper sends it once the broker is back."""
import dataclasses
import json
import time

import pytest
from celery import Celery

from probes import bundles, services
from probes.models import ProbeRun
from readiness import jobs
from readiness.stack import free_port
from tests.probes.test_services import BUNDLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def down_app():
    """A real Celery app whose broker is a loopback port nothing listens on."""
    app = Celery("down", broker=f"redis://127.0.0.1:{free_port()}/0", set_as_current=False)
    app.conf.broker_connection_timeout = 1

    @app.task(name="down.run_probes", shared=False)
    def run_probes(run_id):  # never runs: the message cannot be sent
        raise AssertionError("sent to a broker that is down")

    yield app
    app.close()


def test_enqueue_on_commit_with_the_broker_down_tells_the_caller_quickly(down_app, django_capture_on_commit_callbacks):
    called = []
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = jobs.enqueue_on_commit(down_app.tasks["down.run_probes"], 1,
                                        on_unavailable=lambda: called.append(True))
        assert ticket.sent is None  # not before the commit
    assert ticket.sent is False and ticket.waiting_for_queue and ticket.error
    assert called == [True]
    assert time.monotonic() - started < 5  # a web request does not hang on a broker that is down


def test_a_run_asked_for_while_the_broker_is_down_is_sent_by_the_next_sweep(
        release, down_app, broker, django_capture_on_commit_callbacks):
    run = services.run_create(release=release, bundle=bundles.read_paths([BUNDLES / "good"]), queue=False)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = jobs.job_enqueue(dataclasses.replace(services.RUNS, app=down_app, task="down.run_probes"), run.pk)
    assert ticket.waiting_for_queue
    run.refresh_from_db()
    assert (run.state, run.message) == (ProbeRun.State.QUEUED, jobs.QUEUE_DOWN)

    # The broker (this test's Redis) is up: the sweep sends it at once, however recent the run.
    assert services.runs_sweep_stuck() == {"requeued": [run.pk], "failed": []}
    [message] = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
    assert message["headers"]["task"] == "probes.tasks.run_probes"
    assert message["headers"]["argsrepr"] == f"({run.pk},)"
    run.refresh_from_db()
    assert run.state == ProbeRun.State.QUEUED and run.message == "Queued again once the queue was back."
    # Sent: the next sweep leaves it to the worker.
    assert services.runs_sweep_stuck() == {"requeued": [], "failed": []}


def test_a_queued_run_whose_message_was_sent_is_not_sent_twice(release, broker):
    run = services.run_create(release=release, bundle=bundles.read_paths([BUNDLES / "good"]))
    assert run.enqueued.sent is None  # inside the test's transaction: nothing commits, nothing is sent
    assert services.runs_sweep_stuck() == {"requeued": [], "failed": []}
