""""My items", a team's items and the team rollup with 10 releases, and with 500 (490 of them approved).

    python -m readiness.stack exec -- python bench/work_lists.py [--repeat 15] [--rounds 3]

Runs in two databases of its own on the server DATABASE_URL names, `readiness_bench_work_10` and
`readiness_bench_work_500` (created fresh, dropped at the end). Both hold ten open releases of the
seed template, each with some work assigned, failed and overdue; the second also 490 approved
releases with the same kind of work. The work lists show open releases, so the 500-release figures
should stay with the 10-release ones: the ratio is the measure.

The two databases are measured in alternating rounds (requests through Django's test Client, taken
in turn), so a machine that slows down or speeds up between them (another process, PostgreSQL's
autovacuum after a large insert) moves both alike. Each figure is the median over all rounds.
"""
import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _db import bench_name, drop_database, use_database  # noqa: E402

BENCH_DB = "readiness_bench_work"
SIZES = (10, 500)  # releases in each database: ten open, the rest approved


def add_releases(first: int, count: int, *, state: str, manager, engineer, version):
    from django.db import transaction

    from checklists.models import Release, ReleaseItem
    from checklists.services.releases import release_create

    past = datetime.date(2020, 1, 1)
    with transaction.atomic():
        for n in range(first, first + count):
            release = release_create(template_version=version, service=f"service-{n % 40}", version=f"1.{n}",
                                     by=manager, target_date=past + datetime.timedelta(days=n))
            ids = list(release.items.order_by("order").values_list("pk", flat=True))
            ReleaseItem.objects.filter(pk__in=ids[:8]).update(assignee=engineer)
            ReleaseItem.objects.filter(pk__in=ids[8:12]).update(status="failed")
            ReleaseItem.objects.filter(pk__in=ids[12:40]).update(status="done")
            if state != Release.State.IN_PROGRESS:
                Release.objects.filter(pk=release.pk).update(state=state)


def use(name: str) -> None:
    """Point Django's connection at the database `name` (the next query reconnects)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def build(name: str, closed: int) -> list:
    """Migrate `name` and fill it: the seed template, a release manager and an engineer, ten open
    releases and `closed` approved ones. Returns the pages as (label, logged-in client, url)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from checklists.models import Membership, Release, Role, Team
    from checklists.seed import load_default_template

    use(name)
    call_command("migrate", verbosity=0)
    version = load_default_template().version
    users = get_user_model().objects
    manager = users.create(username="bench-manager")
    engineer = users.create(username="bench-engineer")
    Membership.objects.create(user=manager, team=Team.objects.get(slug="release"), role=Role.RELEASE_MANAGER)
    Membership.objects.create(user=engineer, team=Team.objects.get(slug="platform"), role=Role.ENGINEER)
    kw = {"manager": manager, "engineer": engineer, "version": version}
    add_releases(0, 10, state=Release.State.IN_PROGRESS, **kw)
    add_releases(10, closed, state=Release.State.APPROVED, **kw)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the statistics a database in use has; no autovacuum later
    pages = []
    for label, user, url in [
        ("my items, engineer", engineer, reverse("my-items")),
        ("team items (platform), engineer", engineer, reverse("team-items", args=["platform"])),
        ("team rollup, release manager", manager, reverse("team-rollup")),
        ("team rollup, engineer", engineer, reverse("team-rollup")),
    ]:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)  # its session is stored in this database
        pages.append((label, client, url))
    return pages


def measure(name: str, releases: int, pages, repeat: int, times: dict[str, list[float]]) -> None:
    """One round on database `name`: a warm-up request per page, then `repeat` of each, in turn."""
    from checklists.models import Release

    use(name)
    assert Release.objects.count() == releases, f"{name} is not the database measured"
    for _, client, url in pages:
        client.get(url, secure=True)
    for _ in range(repeat):
        for label, client, url in pages:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            times[label].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, url, response.status_code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="requests of each page per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds on each database, alternating")
    args = parser.parse_args()
    original = os.environ["DATABASE_URL"]
    names = {}
    for size in SIZES:
        use_database(f"{BENCH_DB}_{size}", fresh=True)
        names[size] = bench_name(f"{BENCH_DB}_{size}", original)
        os.environ["DATABASE_URL"] = original
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    try:
        import django

        django.setup()
        from django.db import connections

        pages = {size: build(names[size], size - 10) for size in SIZES}
        times = {size: {label: [] for label, _, _ in pages[size]} for size in SIZES}
        for _ in range(args.rounds):
            for size in SIZES:
                measure(names[size], size, pages[size], args.repeat, times[size])
        small, large = ({label: statistics.median(values) for label, values in times[size].items()}
                        for size in SIZES)
        print(f"{'page':<36} {'10 releases ms':>15} {'500 releases ms':>16} {'ratio':>7}"
              f"   ({args.rounds} rounds of {args.repeat}, alternating)")
        for label in small:
            print(f"{label:<36} {small[label]:>15.1f} {large[label]:>16.1f} {large[label] / small[label]:>7.2f}")
        connections.close_all()
    finally:
        for size in SIZES:
            drop_database(original, f"{BENCH_DB}_{size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
