"""Time to import the seed checklist and to create 100 releases from it.

    python -m readiness.stack exec -- python bench/import_seed.py

Runs in its own database (readiness_bench_import), emptied first, so it never touches real data.
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")


def use_bench_database() -> None:
    from _db import use_database

    use_database("readiness_bench_import", fresh=True)


def main() -> None:
    use_bench_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from checklists.seed import load_default_template
    from checklists.services.releases import release_create

    started = time.perf_counter()
    version = load_default_template().version
    import_seconds = time.perf_counter() - started

    timings = []
    for n in range(100):
        started = time.perf_counter()
        release_create(template_version=version, service=f"service-{n % 10}", version=f"1.{n}.0")
        timings.append(time.perf_counter() - started)
    print(f"seed import: {import_seconds * 1000:.0f} ms for {version.items.count()} items")
    print(f"100 releases: {sum(timings):.2f} s total, median {statistics.median(timings) * 1000:.1f} ms, "
          f"max {max(timings) * 1000:.1f} ms per release (211 items each)")


if __name__ == "__main__":
    main()
