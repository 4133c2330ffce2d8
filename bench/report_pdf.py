"""Benchmark the sign-off report on the seed release with 500 evidence entries and 300 comments.

    python -m readiness.stack exec -- python bench/report_pdf.py [--keep]

Runs against its own database, `readiness_bench_report`, on the server DATABASE_URL names: created
and migrated here, dropped at the end (unless --keep). Prints the time and size of the JSON and
Markdown exports and the time, page count and size of the signed PDF, with the PDF's time as a
multiple of the JSON export's (the baseline measured in the same run: the machine may be shared);
then where the PDF's time goes (page text, Typst) and its pages per chapter, from the PDF's outline.
"""
import argparse
import hashlib
import io
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _db import drop_database, use_database  # noqa: E402

BENCH_DB = "readiness_bench_report"
EVIDENCE, COMMENTS = 500, 300


def populate():
    from django.contrib.auth import get_user_model

    from checklists.models import Comment, Evidence, Release, ReleaseItem, Role
    from checklists.seed import load_default_template
    from checklists.services.releases import release_create
    from checklists.models import Membership, Team

    rng = random.Random(5)
    version = load_default_template().version
    users = get_user_model().objects
    manager, _ = users.get_or_create(username="bench-manager", defaults={"first_name": "Bench", "last_name": "Manager"})
    Membership.objects.get_or_create(user=manager, team=Team.objects.get(slug="release"),
                                     defaults={"role": Role.RELEASE_MANAGER})
    engineer, _ = users.get_or_create(username="bench-engineer")
    Release.objects.filter(service="bench").delete()
    release = release_create(template_version=version, service="bench", version=f"1.0.{int(time.time())}",
                             release_manager=manager, by=manager)
    items = list(release.items.all())
    statuses = [ReleaseItem.Status.DONE] * 6 + [ReleaseItem.Status.NOT_APPLICABLE, ReleaseItem.Status.OPEN]
    for item in items:
        item.status = rng.choice(statuses)
    ReleaseItem.objects.bulk_update(items, ["status"])
    evidence = []
    for n in range(EVIDENCE):
        item = items[n % len(items)]
        if n % 3 == 0:
            url = f"https://ci.example.com/pipelines/{n}/artifacts/report-{n}.html"
            evidence.append(Evidence(item=item, kind=Evidence.Kind.LINK, url=url, created_by=engineer,
                                     sha256=hashlib.sha256(url.encode()).hexdigest()))
        else:
            note = f"Checked by hand, run {n}: " + " ".join(rng.choice(["ok", "verified", "dashboards", "alert",
                                                                        "replicas", "limits"]) for _ in range(20))
            evidence.append(Evidence(item=item, kind=Evidence.Kind.NOTE, note=note, created_by=engineer,
                                     sha256=hashlib.sha256(note.encode()).hexdigest()))
    Evidence.objects.bulk_create(evidence)
    Comment.objects.bulk_create([
        Comment(item=items[(n * 7) % len(items)], author=engineer,
                body=f"Comment {n}: followed up with the owning team; see the linked evidence for details.")
        for n in range(COMMENTS)
    ])
    return release


def breakdown(content: dict, manifest: str) -> None:
    """Time of each stage of the PDF, and its pages per chapter (top level of the PDF's own outline)."""
    from pypdf import PdfReader

    from reports import pdf
    from reports.content import content_bytes
    from reports.layout import layout

    started = time.perf_counter()
    page = pdf.page_data(content, manifest)
    data_s = time.perf_counter() - started
    started = time.perf_counter()
    data = layout(page, content_bytes(content))
    typst_s = time.perf_counter() - started
    reader = PdfReader(io.BytesIO(data))
    print(f"pdf stages: page text {data_s:.2f} s ({len(json.dumps(page)) / 1024:.0f} KiB of JSON), "
          f"Typst layout and PDF (its own process) {typst_s:.2f} s; {len(reader.pages)} pages")
    chapters = [(entry.title, reader.get_destination_page_number(entry)) for entry in reader.outline
                if not isinstance(entry, list)]
    starts = [first for _, first in chapters] + [len(reader.pages)]
    for (label, first), end in zip(chapters, starts[1:]):  # each chapter starts on a new page
        print(f"  {label[:50]:<50} pages {first + 1:>3}-{end:<3} ({end - first})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    original = os.environ.get("DATABASE_URL")
    if not original:
        sys.exit("DATABASE_URL is not set: run through `python -m readiness.stack exec -- python bench/report_pdf.py`.")
    use_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from pypdf import PdfReader

        from reports import content as report_content
        from reports import services as reports

        release = populate()
        print(f"release: seed template, {release.items.count()} items, {EVIDENCE} evidence, {COMMENTS} comments")
        started = time.perf_counter()
        content = report_content.build(release)
        build_s = time.perf_counter() - started
        seconds = {}
        for fmt in ("json", "md", "pdf"):
            started = time.perf_counter()
            export = reports.report_render(release=release, fmt=fmt)
            seconds[fmt] = time.perf_counter() - started
            line = f"{fmt:4} {seconds[fmt]:6.2f} s  {len(export.data) / 1024:8.1f} KiB"
            if fmt == "pdf":
                line += (f"  {len(PdfReader(io.BytesIO(export.data)).pages)} pages; "
                         f"{seconds['pdf'] / seconds['json']:.1f}x the JSON export's time")
            print(line)
        print(f"content build alone: {build_s:.2f} s; manifest {report_content.manifest_of(content)}")
        breakdown(content, report_content.manifest_of(content))
        from django.db import connections

        connections.close_all()
    finally:
        if not args.keep:
            drop_database(original, BENCH_DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
