"""One lock order for every transaction that writes audit events, under a real mixed load.

Probe runs requested and stored, comments, report requests and status changes run at once in
threads, each on its own PostgreSQL connection. Every writer takes the rows it changes, then the
release row, then the audit chain's advisory lock (inside `audit.record`), and row locks are
FOR NO KEY UPDATE so the foreign-key checks PostgreSQL runs at COMMIT (KEY SHARE on the release and
item rows) never wait behind them: no deadlock is possible, and none may be seen.
"""
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection

from checklists.audit import verify_chain
from checklists.models import Release, ReleaseItem
from checklists.services import comments, items
from reports import services as reports
from probes import bundles, services
from probes.models import ProbeRun, RunState

pytestmark = pytest.mark.django_db(transaction=True)

BUNDLE = Path(__file__).resolve().parents[1] / "probes" / "bundles" / "good"
SECONDS = 12


def _deadlock(exc: BaseException) -> bool:
    return "deadlock detected" in str(exc)


class Load:
    def __init__(self):
        self.stop = threading.Event()
        self.deadlocks = 0
        self.errors: list[BaseException] = []
        self.done: dict[str, int] = {}
        self.lock = threading.Lock()

    def loop(self, name, step):
        try:
            while not self.stop.is_set():
                try:
                    step()
                except items.ItemConflict:
                    pass  # two writers of one item: the optimistic lock refuses the second, as it should
                except OperationalError as exc:
                    with self.lock:
                        if _deadlock(exc):
                            self.deadlocks += 1
                        else:
                            self.errors.append(exc)
                except Exception as exc:  # noqa: BLE001 - reported to the test thread
                    with self.lock:
                        self.errors.append(exc)
                else:
                    with self.lock:
                        self.done[name] = self.done.get(name, 0) + 1
        finally:
            connection.close()


def test_mixed_load_on_one_release_has_no_deadlock(release, people):
    bundle = bundles.read_paths([BUNDLE])
    manual = release.items.filter(probe_id="").order_by("order")
    status_item, comment_item = manual[0], manual[1]
    load = Load()

    def request_run():  # the web request of "Run probes"
        services.run_create(release=release, bundle=bundle, bundle_name="good", by=people["engineer"], queue=False)

    def store_results():  # a worker: claim the oldest queued run, evaluate, store in one transaction
        run = ProbeRun.objects.filter(state=RunState.QUEUED).order_by("pk").first()
        if run is None:
            time.sleep(0.05)
            return
        services.run_execute(run_id=run.pk)

    def comment():
        comments.comment_add(item=comment_item, body="Looked at it again.", by=people["manager"])

    def request_report():
        reports.report_request(release=release, fmt="md", by=people["auditor"])

    def change_status():
        item = ReleaseItem.objects.get(pk=status_item.pk)
        status = ReleaseItem.Status.IN_PROGRESS if item.status != ReleaseItem.Status.IN_PROGRESS else ReleaseItem.Status.OPEN
        items.item_set_status(item=item, status=status, by=people["manager"], expected_version=item.version)

    steps = {"run requested": request_run, "results stored": store_results, "store (2nd worker)": store_results,
             "comment": comment, "report requested": request_report, "status changed": change_status}
    threads = [threading.Thread(target=load.loop, args=(name, step)) for name, step in steps.items()]
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    load.stop.set()
    for thread in threads:
        thread.join(60)

    print(f"\nmixed load for {SECONDS} s: {load.done}; deadlocks: {load.deadlocks}; other errors: {len(load.errors)}")
    assert load.deadlocks == 0
    assert load.errors == []
    # Every kind of writer got through, more than once.
    assert all(load.done.get(name, 0) >= 2 for name in steps if name != "store (2nd worker)"), load.done
    assert ProbeRun.objects.filter(state=RunState.DONE).exists()
    assert verify_chain().ok
    assert Release.objects.get(pk=release.pk).audit_events.exists()
