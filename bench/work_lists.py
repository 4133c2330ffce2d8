""""My items", a team's items and the team rollup with 10 releases, then with 500 (490 of them approved).

    python -m readiness.stack exec -- python bench/work_lists.py [--repeat 15]

Runs in its own database, `readiness_bench_work` on the server DATABASE_URL names (created fresh,
dropped at the end). Ten open releases of the seed template come first, each with some work assigned,
failed and overdue; the pages are timed; then 490 approved releases join them, with the same kind
of work, and the pages are timed again. The work lists show open releases, so the second figures
should stay with the first: the ratio is the measure. Times are medians of requests through Django's
test Client, taken in turn.
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
from _db import drop_database, use_database  # noqa: E402

BENCH_DB = "readiness_bench_work"


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


def measure(pages, repeat: int) -> dict[str, float]:
    from django.test import Client

    clients = {}
    for label, user, url in pages:
        clients[label] = Client(HTTP_HOST="localhost")
        clients[label].force_login(user)
        clients[label].get(url, secure=True)
    times = {label: [] for label, _, _ in pages}
    for _ in range(repeat):
        for label, _, url in pages:
            started = time.perf_counter()
            response = clients[label].get(url, secure=True)
            times[label].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    original = use_database(BENCH_DB, fresh=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections
        from django.urls import reverse

        call_command("migrate", verbosity=0)
        from checklists.models import Membership, Release, Role, Team
        from checklists.seed import load_default_template

        version = load_default_template().version
        users = get_user_model().objects
        manager = users.create(username="bench-manager")
        engineer = users.create(username="bench-engineer")
        Membership.objects.create(user=manager, team=Team.objects.get(slug="release"), role=Role.RELEASE_MANAGER)
        Membership.objects.create(user=engineer, team=Team.objects.get(slug="platform"), role=Role.ENGINEER)
        pages = [
            ("my items, engineer", engineer, reverse("my-items")),
            ("team items (platform), engineer", engineer, reverse("team-items", args=["platform"])),
            ("team rollup, release manager", manager, reverse("team-rollup")),
            ("team rollup, engineer", engineer, reverse("team-rollup")),
        ]
        kw = {"manager": manager, "engineer": engineer, "version": version}
        add_releases(0, 10, state=Release.State.IN_PROGRESS, **kw)
        small = measure(pages, args.repeat)
        add_releases(10, 490, state=Release.State.APPROVED, **kw)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        large = measure(pages, args.repeat)
        print(f"{'page':<36} {'10 releases ms':>15} {'500 releases ms':>16} {'ratio':>7}")
        for label, _, _ in pages:
            print(f"{label:<36} {small[label]:>15.1f} {large[label]:>16.1f} {large[label] / small[label]:>7.2f}")
        connections.close_all()
    finally:
        drop_database(original, BENCH_DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
