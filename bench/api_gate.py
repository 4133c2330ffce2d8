"""The deploy gate's latency, and item status changes through the API: one 200-item bulk call against
200 single-item calls.

    python -m readiness.stack exec -- python bench/api_gate.py [--repeat 30] [--items 200]

Uses its own database, `readiness_bench_api` on the configured PostgreSQL server (created fresh and
dropped at the end), so it never touches real data. Requests go through Django's test Client with a
bearer token: authentication, the Redis rate limit, the view, its queries and the audit events, without
network or a web server. The gate writes one audit event per call, like in production.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BENCH_DB = "readiness_bench_api"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()

    from _db import drop_database, use_database

    original = use_database(BENCH_DB, fresh=True)
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(original, BENCH_DB)


def run(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", "--noinput", verbosity=0)
    settings.READINESS_API_RATE_PER_TOKEN = 0  # measure the work, not the limiter's refusals
    approved, open_release, bulk_release, single_release, secret = prepare()
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")

    def timed(call):
        started = time.perf_counter()
        response = call()
        return (time.perf_counter() - started) * 1000, response

    print(f"{'call':<52} {'median ms':>10} {'min ms':>8} {'queries':>8}")
    for label, release, status in [("gate, approved release (200)", approved, 200),
                                   ("gate, open release (409, every reason)", open_release, 409)]:
        url = f"/api/v1/gate/{release.service}/{release.version}?environment={release.environment}"
        client.get(url, secure=True)
        times = []
        for _ in range(args.repeat):
            ms, response = timed(lambda: client.get(url, secure=True))
            assert response.status_code == status, response.content
            times.append(ms)
        with CaptureQueriesContext(connection) as captured:
            client.get(url, secure=True)
        print(f"{label:<52} {statistics.median(times):>10.1f} {min(times):>8.1f} "
              f"{len(captured.captured_queries):>8}")

    keys = list(bulk_release.items.order_by("order").values_list("key", "version")[:args.items])
    body = {"status": "done", "items": [{"key": k, "version": v} for k, v in keys]}
    with CaptureQueriesContext(connection) as captured:
        ms, response = timed(lambda: client.post(f"/api/v1/releases/{bulk_release.pk}/items/bulk-status", body,
                                                 content_type="application/json", secure=True))
    assert response.status_code == 200 and response.json()["changed"] == len(keys), response.content
    bulk_rate = len(keys) / (ms / 1000)
    print(f"\nbulk status, one call of {len(keys)} items: {ms:.0f} ms, {bulk_rate:.0f} items/s, "
          f"{len(captured.captured_queries)} queries")

    keys = list(single_release.items.order_by("order").values_list("key", "version")[:args.items])
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        for key, version in keys:
            response = client.patch(f"/api/v1/releases/{single_release.pk}/items/{key}",
                                    {"version": version, "status": "done"}, content_type="application/json",
                                    secure=True)
            assert response.status_code == 200, response.content
    ms = (time.perf_counter() - started) * 1000
    single_rate = len(keys) / (ms / 1000)
    print(f"single-item PATCH, {len(keys)} calls:     {ms:.0f} ms, {single_rate:.0f} items/s, "
          f"{len(captured.captured_queries) / len(keys):.0f} queries per call")
    print(f"bulk is {bulk_rate / single_rate:.1f}x the single-item endpoint's throughput")
    return 0


def prepare():
    from django.contrib.auth import get_user_model

    from api.services import token_create
    from checklists.models import Membership, Role, Team
    from checklists.seed import load_default_template
    from checklists.signoff import services as signoff
    from checklists.services.releases import release_create

    version = load_default_template().version
    users = get_user_model().objects
    manager = users.create(username="bench-manager")
    Membership.objects.create(user=manager, team=Team.objects.get(slug="release"), role=Role.RELEASE_MANAGER)
    releases = [release_create(template_version=version, service="bench", version=f"1.0.{n}",
                               release_manager=manager, by=manager) for n in range(4)]
    approved = releases[0]
    approved.items.update(status="done")
    signoff.signoff_open(release=approved, by=manager)
    for n, requirement in enumerate(approved.requirements.all()):
        approver = users.create(username=f"bench-approver-{n}")
        team = requirement.team or Team.objects.get(slug="release")
        Membership.objects.create(user=approver, team=team, role=requirement.role or Role.APPROVER)
        signoff.approval_decide(requirement=requirement, by=approver, decision="approved")
    approved.refresh_from_db()
    assert approved.state == "approved", approved.state
    return approved, releases[1], releases[2], releases[3], token_create(name="bench", by=manager)[1]


if __name__ == "__main__":
    sys.exit(main())
