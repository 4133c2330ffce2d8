"""Server time and query count of the dashboard (500 releases) and the seed release page (211 items).

    python -m readiness.stack exec -- python bench/web_pages.py [--releases 500] [--repeat 15]

Uses its own database, `readiness_bench` on the configured PostgreSQL server (created and migrated
if missing; the releases are kept for the next run), so it never touches real data. Times are the
median of several requests through Django's test Client: middleware, views, queries and templates,
without network or a web server.
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
    from _db import use_database

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

    from django.urls import reverse

    rows = [
        ("dashboard, release manager", manager, reverse("dashboard")),
        ("dashboard, engineer", engineer, reverse("dashboard")),
        ("seed release page (211 items), release manager", manager, reverse("release-detail", args=[seed.pk])),
        ("seed release page (211 items), engineer", engineer, reverse("release-detail", args=[seed.pk])),
        ("live changes, nothing new", manager,
         reverse("release-changes", args=[seed.pk]) + f"?since={int(time.time() * 1_000_000)}"),
    ]
    from checklists.models import Release, ReleaseItem

    print(f"database {BENCH_DB}: {Release.objects.count()} releases, {ReleaseItem.objects.count()} items")
    print(f"{'page':<50} {'median ms':>10} {'min ms':>8} {'queries':>8}")
    for label, user, url in rows:
        median, fastest, queries = measure(user, url, args.repeat)
        print(f"{label:<50} {median:>10.1f} {fastest:>8.1f} {queries:>8}")
    return 0


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
    return manager, engineer, Release.objects.order_by("pk").first()


def measure(user, url: str, repeat: int):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    client.get(url, secure=True)  # warm caches (templates, compiled Markdown) and the connection
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, secure=True)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 204):
            raise SystemExit(f"{url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True)
    return statistics.median(times), min(times), len(captured.captured_queries)


if __name__ == "__main__":
    sys.exit(main())
