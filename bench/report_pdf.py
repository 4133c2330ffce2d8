"""Benchmark the sign-off report on the seed release with 500 evidence entries and 300 comments.

    python -m readiness.stack exec -- python bench/report_pdf.py [--keep]

Runs against its own database, `readiness_bench_report`, on the server DATABASE_URL names: created
and migrated here, dropped at the end (unless --keep). Prints the time, page count and size of the
PDF, and the time and size of the JSON and Markdown exports; then where the PDF's time goes
(template, WeasyPrint layout, drawing) and its pages (per chapter, from the PDF's own outline).
"""
import argparse
import hashlib
import io
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


def _t(value) -> str:
    """Any value as a Typst string literal in markup (`#"…"`): nothing in it is markup."""
    text = "" if value is None else str(value)
    return '#"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def typst_source(content: dict, manifest: str) -> str:
    """The same content as the PDF template, as Typst markup: cover, progress, sign-off, every item
    with its facts, evidence and comments, and the audit trail."""
    from reports import pdf

    release = content["release"]
    out = [f"""#set page(paper: "a4", margin: (x: 16mm, top: 22mm, bottom: 20mm),
  header: context {{ if counter(page).get().first() > 1 [#set text(7.5pt); {_t(release["service"])} {_t(release["version"])} #h(1fr) Readiness sign-off report] }},
  footer: context [#set text(6pt); Manifest SHA-256 {_t(manifest)} #h(1fr) Page #counter(page).display() of #counter(page).final().first()])
#set text(font: "DejaVu Sans", size: 8.5pt)
= {_t(release["service"])} {_t(release["version"])}
Release no. {release["id"]} · {_t(release["environment"])} · {_t(content["template"]["name"])} · {_t(release["state_label"])}

Outcome: {_t(release["outcome"])}

Manifest SHA-256: #text(font: "DejaVu Sans Mono", size: 7.5pt, {_t(manifest)[1:]})
#pagebreak()
#outline()
#pagebreak()
== Progress by section and by team
#table(columns: 6, [Section], [Items], [Complete], [%], [Failed], [Waived],"""]
    for row in content["progress"]["by_section"]:
        out.append(", ".join(_t(row[k]).join("[]") for k in ("name", "total", "complete", "percent", "failed",
                                                              "waived")) + ",")
    out.append(")\n#pagebreak()\n== Items, evidence and comments")
    for section in pdf.sections_with_items(content):
        out.append(("=== " if section["level"] == 2 else "==== ") + _t(section["title"]))
        for item in section["items"]:
            out.append(f"*{_t(item['status_label'])}* {_t(item['text'])} \\")
            facts = (f"{item['key']} · {'required' if item['required'] else 'optional'} · {item['severity']} · owner "
                     f"{item['owner_team'] or 'none'} · assignee {item['assignee'] or 'none'} · changed "
                     f"{item['changed_at']} · v{item['version']}")
            out.append(f"#text(size: 6.5pt, {_t(facts)[1:]})")
            for e in item["evidence"]:
                out.append(f"\n#pad(left: 6pt)[Evidence ({_t(e['kind'])}) {_t(e['name'])} · {_t(e['by'])}, "
                           f"{_t(e['at'])} · #text(font: \"DejaVu Sans Mono\", size: 6.5pt, "
                           f"{_t('sha256 ' + e['sha256'])[1:]})" + (f" \\ {_t(e['note'])}" if e["note"] else "") + "]")
            for c in item["comments"]:
                out.append(f"\n#pad(left: 6pt)[*{_t(c['author'])}*, {_t(c['at'])}: {_t(c['body'])}]")
            out.append("")
    out.append("#pagebreak()\n== Audit trail\n#table(columns: 5, [No.], [When], [Who], [Action], [Hash],")
    for e in content["audit"]:
        out.append(", ".join(_t(e[k]).join("[]") for k in ("id", "at", "actor", "action", "hash")) + ",")
    out.append(")")
    return "\n".join(out)


def typst_side_by_side(content: dict, manifest: str) -> None:
    """The same report through Typst (the `typst` package, when installed), for comparison."""
    try:
        import typst
    except ImportError:
        print("typst: not installed (pip install typst to compare)")
        return
    from pypdf import PdfReader

    source = typst_source(content, manifest).encode()
    started = time.perf_counter()
    data = typst.compile(source, font_paths=["/usr/share/fonts/truetype/dejavu"])
    seconds = time.perf_counter() - started
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages[:3])
    print(f"typst {seconds:6.2f} s  {len(data) / 1024:8.1f} KiB  {len(reader.pages)} pages "
          f"(same content; manifest in its text: {manifest in ''.join(text.split())})")


def breakdown(content: dict, manifest: str) -> None:
    """Time of each stage of the PDF, and pages per chapter (level-2 headings of its outline)."""
    from weasyprint import HTML

    from reports import pdf

    started = time.perf_counter()
    html = pdf.render_html(content, manifest)
    template_s = time.perf_counter() - started
    fetcher = pdf._fetcher_class()(allowed_protocols=["https"])
    started = time.perf_counter()
    document = HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=fetcher).render()
    layout_s = time.perf_counter() - started
    started = time.perf_counter()
    document.write_pdf()
    draw_s = time.perf_counter() - started
    print(f"pdf stages: template {template_s:.2f} s ({len(html) / 1024:.0f} KiB of HTML), "
          f"layout {layout_s:.2f} s, drawing {draw_s:.2f} s; {len(document.pages)} pages")
    def walk(nodes, depth=0):
        for label, target, children, *_ in nodes:
            yield depth, label, target[0]
            yield from walk(children, depth + 1)

    flat = list(walk(document.make_bookmark_tree()))
    depth = 1 if any(d == 1 for d, _, _ in flat) else 0  # the cover's <h1> holds the <h2> chapters
    chapters = [(label, page) for d, label, page in flat if d == depth]
    starts = [page for _, page in chapters] + [len(document.pages)]
    for (label, page), end in zip(chapters, starts[1:]):
        print(f"  {label[:50]:<50} pages {page + 1:>3}-{end:<3} ({end - page})")


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
        for fmt in ("json", "md", "pdf"):
            started = time.perf_counter()
            export = reports.report_render(release=release, fmt=fmt)
            seconds = time.perf_counter() - started
            line = f"{fmt:4} {seconds:6.2f} s  {len(export.data) / 1024:8.1f} KiB"
            if fmt == "pdf":
                line += f"  {len(PdfReader(io.BytesIO(export.data)).pages)} pages"
            print(line)
        print(f"content build alone: {build_s:.2f} s; manifest {report_content.manifest_of(content)}")
        breakdown(content, report_content.manifest_of(content))
        typst_side_by_side(content, report_content.manifest_of(content))
        from django.db import connections

        connections.close_all()
    finally:
        if not args.keep:
            drop_database(original, BENCH_DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
