"""Creating a release from the seed template (211 items) against a raw INSERT … SELECT of the same rows.

    python -m readiness.stack exec -- python bench/create_release.py [--repeat 15]

Runs in its own database, `readiness_bench_create` on the server DATABASE_URL names (migrated here,
dropped at the end). Each round times `release_create` (the duplicate check, the release, its items,
its sign-off requirements and the audit event) and, right after it, the bare statement that copies
the seed's template items into release items; every round is rolled back so all rounds see the same
tables. Prints the medians and their ratio.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _db import drop_database, use_database  # noqa: E402

BENCH_DB = "readiness_bench_create"

# The floor: template items to release items, every column, in the database, nothing else.
RAW = """
INSERT INTO checklists_releaseitem (release_id, template_item_id, section_id, key, parent_key, text, guidance,
    "order", required, severity, probe_id, probe_params, status, owner_team_id, due_date, version,
    decided_by_probe, probe_status, regressed, changed_at)
SELECT %s, t.id, t.section_id, t.key, COALESCE(p.key, ''), t.text, t.guidance, t."order", t.required, t.severity,
    t.probe_id, t.probe_params, 'open', t.default_team_id, NULL, 1, false, '', false, now()
FROM checklists_templateitem t LEFT JOIN checklists_templateitem p ON p.id = t.parent_id
WHERE t.version_id = %s ORDER BY t."order"
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    original = use_database(BENCH_DB, fresh=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections, transaction

        call_command("migrate", verbosity=0)
        from checklists.models import Release
        from checklists.seed import load_default_template
        from checklists.services.releases import release_create

        version = load_default_template().version
        service_s, raw_s = [], []
        for n in range(args.repeat + 1):
            with transaction.atomic():
                started = time.perf_counter()
                release = release_create(template_version=version, service="bench", version=f"1.{n}")
                service_s.append(time.perf_counter() - started)
                items = release.items.count()
                transaction.set_rollback(True)
            with transaction.atomic():
                shell = Release.objects.create(template_version=version, service="raw", version=f"1.{n}")
                with connection.cursor() as cursor:
                    started = time.perf_counter()
                    cursor.execute(RAW, [shell.pk, version.pk])
                    raw_s.append(time.perf_counter() - started)
                    assert cursor.rowcount == items, (cursor.rowcount, items)
                transaction.set_rollback(True)
        service_ms, raw_ms = statistics.median(service_s[1:]) * 1000, statistics.median(raw_s[1:]) * 1000
        print(f"seed template: {items} items, {args.repeat} rounds (medians)")
        print(f"release_create            {service_ms:8.2f} ms")
        print(f"raw INSERT … SELECT       {raw_ms:8.2f} ms")
        print(f"ratio                     {service_ms / raw_ms:8.2f}x")
        connections.close_all()
    finally:
        drop_database(original, BENCH_DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
