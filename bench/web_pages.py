"""Server time, query count and size of the dashboard (500 releases), the release page (211 items
and 2,000 items), its live poll, "my items" and the team rollup.

    python -m readiness.stack exec -- python bench/web_pages.py [--releases 500] [--repeat 15]

Uses its own database, `readiness_bench` on the configured PostgreSQL server (created and migrated
if missing; the releases are kept for the next run), so it never touches real data. Times are the
median of several requests through Django's test Client: middleware, views, queries and templates,
without network or a web server. The pages are measured in turn, round after round, so a machine
busy with other work slows them alike; the last column is each page's median over the median of
the poll with nothing new (the cheapest request a logged-in page makes), measured in the same rounds.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BENCH_DB = "readiness_bench"


def use_bench_database() -> None:
    from _db import bench_name, use_database

    use_bench_database.name = bench_name(BENCH_DB)
    use_database(BENCH_DB)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    use_bench_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    manager, engineer, seed = prepare(args.releases)
    from django.db import connection

    with connection.cursor() as db:
        # Fresh rows, stale statistics: without this the planner may misjudge the first runs (and
        # compile queries with its JIT, tens of milliseconds each).
        db.execute("ANALYZE")

    from django.urls import reverse

    from checklists.models import Release, ReleaseItem

    large = Release.objects.get(service="bench-large")
    page = reverse("release-detail", args=[seed.pk])
    rows = [
        ("dashboard, release manager", manager, reverse("dashboard")),
        ("dashboard, engineer", engineer, reverse("dashboard")),
        ("seed release page (211 items), release manager", manager, page),
        ("seed release page (211 items), engineer", engineer, page),
        ("release page (2,000 items), release manager", manager, reverse("release-detail", args=[large.pk])),
        ("live changes, nothing new", manager, reverse("release-changes", args=[seed.pk]) + "?since=" + cursor(manager, page)),
        ("my items, engineer", engineer, reverse("my-items")),
        ("team rollup, release manager", manager, reverse("team-rollup")),
    ]
    print(f"database {use_bench_database.name}: {Release.objects.count()} releases, {ReleaseItem.objects.count()} items")
    results = measure_rounds(rows, args.repeat)
    poll = results["live changes, nothing new"][0]
    print(f"{'page':<50} {'median ms':>10} {'min ms':>8} {'queries':>8} {'KiB':>8} {'x poll':>7}")
    for label, _, _ in rows:
        median, fastest, queries, size = results[label]
        print(f"{label:<50} {median:>10.1f} {fastest:>8.1f} {queries:>8} {size / 1024:>8.1f} {median / poll:>7.1f}")
    return 0


def cursor(user, page_url: str) -> str:
    """The live view's cursor as the release page hands it out (whatever its kind)."""
    import re

    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return re.search(r"changes/\?since=(\d+)", client.get(page_url, secure=True).content.decode()).group(1)


def prepare(count: int):
    """Users, the seed template and `count` releases of it; only what is missing is created."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from checklists.models import Comment, Membership, Release, ReleaseItem, Role, Team
    from checklists.seed import load_default_template
    from checklists.services.releases import release_create

    version = load_default_template().version
    users = get_user_model().objects
    manager, _ = users.get_or_create(username="bench-manager")
    engineer, _ = users.get_or_create(username="bench-engineer")
    Membership.objects.get_or_create(user=manager, team=Team.objects.get(slug="release"),
                                     defaults={"role": Role.RELEASE_MANAGER})
    Membership.objects.get_or_create(user=engineer, team=Team.objects.get(slug="platform"),
                                     defaults={"role": Role.ENGINEER})
    existing = Release.objects.count()
    if existing < count:
        started = time.perf_counter()
        with transaction.atomic():
            for n in range(existing, count):
                release = release_create(template_version=version, service=f"service-{n % 40}", version=f"1.{n}",
                                         environment=("production", "staging", "dev")[n % 3], by=manager)
                # Some activity, so counts and joins have something to find.
                first = list(release.items.order_by("order")[:5])
                Comment.objects.bulk_create([Comment(item=item, author=manager, body="bench") for item in first])
                ReleaseItem.objects.filter(pk__in=[i.pk for i in first[:2]]).update(status="done")
                ReleaseItem.objects.filter(pk=first[2].pk).update(status="failed")
        print(f"created {count - existing} releases in {time.perf_counter() - started:.1f} s")
    if not Release.objects.filter(service="bench-large").exists():
        from checklists.services.templates import template_import

        # 2,000 items in 40 sections of 50, each section with a nested one.
        lines = ["# Bench large"]
        for section in range(40):
            lines += ["", f"## Area {section}"] + [f"- [ ] check {section}.{i} is in place" for i in range(25)]
            lines += ["", f"### Area {section} details"] + [f"- [ ] detail {section}.{i} is in place" for i in range(25)]
        large = template_import(data="\n".join(lines).encode(), name="Bench large").version
        release_create(template_version=large, service="bench-large", version="1", by=manager)
    return manager, engineer, Release.objects.exclude(service="bench-large").order_by("pk").first()


def measure_rounds(rows, repeat: int) -> dict[str, tuple[float, float, int, int]]:
    """label -> (median ms, fastest ms, queries, bytes), the pages taken in turn `repeat` times."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    clients = {}
    for label, user, url in rows:
        client = clients[label] = Client(HTTP_HOST="localhost")
        client.force_login(user)
        client.get(url, secure=True)  # warm caches (templates, compiled Markdown) and the connection
    times = {label: [] for label, _, _ in rows}
    sizes = {}
    for _ in range(repeat):
        for label, _, url in rows:
            started = time.perf_counter()
            response = clients[label].get(url, secure=True)
            times[label].append((time.perf_counter() - started) * 1000)
            if response.status_code not in (200, 204):
                raise SystemExit(f"{url} answered {response.status_code}")
            sizes[label] = len(response.content)
    results = {}
    for label, _, url in rows:
        with CaptureQueriesContext(connection) as captured:
            clients[label].get(url, secure=True)
        results[label] = (statistics.median(times[label]), min(times[label]), len(captured.captured_queries),
                          sizes[label])
    return results


if __name__ == "__main__":
    sys.exit(main())
