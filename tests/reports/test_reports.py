"""The report (issue 5 §5-6): PDF read back, exports, verify_report, and the offline bundle."""
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from checklists.models import Comment, Report, ReleaseItem
from reports import content as report_content
from checklists.signoff import services as signoff, waivers
from reports import services as reports
from reports.tasks import generate_report
from tests.factories import add_file_evidence, add_note, approve_all, change_item

pytestmark = pytest.mark.django_db

ITEM_KEY = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def signed_release(ready_release, people, approvers, tomorrow):
    """An approved release with file and note evidence, a comment, a waiver and a superseded approval."""
    release = ready_release
    item = release.items.get(key=ITEM_KEY)
    add_file_evidence(item, by=people["engineer"], data=b"node list: 3 nodes\n", name="nodes.txt")
    add_note(release.items.all()[5], by=people["engineer"], text="Checked in the console.")
    Comment.objects.create(item=item, author=people["engineer"], body="Third node added on Monday.")
    waived = release.items.all()[7]
    ReleaseItem.objects.filter(pk=waived.pk).update(status=ReleaseItem.Status.OPEN)
    waiver = waivers.waiver_request(item=waived, by=people["engineer"], justification="Accepted until the migration.",
                                    expires_on=tomorrow)
    waivers.waiver_decide(waiver=waiver, by=people["manager"], grant=True, comment="ok")
    signoff.signoff_open(release=release, by=people["manager"])
    approve_all(release, approvers)
    change_item(release.items.all()[3], status=ReleaseItem.Status.NOT_APPLICABLE, by=people["engineer"])
    approve_all_live(release, approvers)
    release.refresh_from_db()
    return release


def approve_all_live(release, approvers):
    for requirement in release.requirements.all():
        if not requirement.approvals.filter(superseded_at__isnull=True).exists():
            signoff.approval_decide(requirement=requirement, by=approvers[requirement.name], decision="approved",
                                    comment="Re-approved after the change.")


def test_pdf_holds_the_release_every_item_evidence_approvals_and_manifest(signed_release, people, tmp_path):
    report, _ = reports.report_request(release=signed_release, fmt="pdf", by=people["auditor"])
    assert generate_report(report.pk) == "ready"  # the Celery task, run in this process
    report.refresh_from_db()
    with report.file.open("rb") as handle:
        data = handle.read()
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = _flat(text)
    r = signed_release
    for value in (r.service, r.version, r.environment, "Production Readiness Checklist, version 1", "Approved",
                  "Outcome: Approved: all 3 sign-off requirement(s) approved."):
        assert value in flat, value
    missing = [item.key for item in r.items.all() if _flat(item.text) not in flat]
    assert missing == []
    for item in r.items.all():
        assert item.key in flat.replace(" ", "") or item.key in text
    for evidence_hash in r.items.values_list("evidence__sha256", flat=True):
        if evidence_hash:
            assert evidence_hash in text
    assert "Accepted until the migration." in flat and "Third node added on Monday." in flat
    assert "SUPERSEDED" in flat and "Re-approved after the change." in flat
    for username in ("pat", "sam", "paula"):
        assert username in flat
    assert report.manifest_sha256 in text
    assert f"Manifest SHA-256 {report.manifest_sha256}" in flat  # printed in every footer
    assert flat.count(f"Manifest SHA-256 {report.manifest_sha256}") >= len(reader.pages)
    assert re.search(rf"Page 1 of {len(reader.pages)}", text)
    assert "checklists.signoff.approved" in re.sub(r"\s", "", text)  # the audit trail (cells wrap)
    assert reader.metadata["/readinessmanifest"] == report.manifest_sha256
    attached = reader.attachments["report.json"][0]
    assert hashlib.sha256(attached).hexdigest() == report.manifest_sha256
    assert "reflect the release as recorded at" in flat and "not when it was requested" in flat
    assert "for audrey (requested" in flat


def test_json_is_the_canonical_content_and_markdown_ticks(signed_release):
    json_export = reports.report_render(release=signed_release, fmt="json")
    assert hashlib.sha256(json_export.data).hexdigest() == json_export.manifest
    content = json.loads(json_export.data)
    assert content == report_content.build(signed_release)  # deterministic
    waived = [i for i in content["items"] if i["status"] == "waived"]
    assert waived and waived[0]["waivers"][0]["decided_by"] == "manager"
    md = reports.report_render(release=signed_release, fmt="md").data.decode()
    assert md.count("- [x]") + md.count(". [x]") >= 150
    assert json_export.manifest in md
    assert "Waiver (granted): Accepted until the migration." in md


def test_verify_report_matches_then_names_the_change(signed_release, people, tmp_path):
    path = tmp_path / "report.pdf"
    call_command("export_report", signed_release.pk, "--format", "pdf", "-o", str(path))
    out = io.StringIO()
    call_command("verify_report", str(path), stdout=out)
    assert "MATCH" in out.getvalue()
    item = signed_release.items.get(key=ITEM_KEY)
    change_item(item, status=ReleaseItem.Status.FAILED, by=people["engineer"])
    out = io.StringIO()
    with pytest.raises(CommandError, match="MISMATCH"):
        call_command("verify_report", str(path), stdout=out)
    assert f"items[{ITEM_KEY}].status: \"done\" → \"failed\"" in out.getvalue()
    assert "release.state" in out.getvalue()


def test_bundle_verifies_offline_and_catches_tampering(signed_release, people, tmp_path):
    with pytest.raises(reports.ReportError, match="No PDF report is ready"):
        reports.report_bundle(release=signed_release, by=people["auditor"])
    pdf_report = reports.report_generate(release=signed_release, fmt="pdf", by=people["auditor"])
    bundled, data = reports.report_bundle(release=signed_release, by=people["auditor"])
    assert bundled == pdf_report  # the bundle packs the latest ready PDF, it does not render one
    folder = tmp_path / "bundle"
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)
    run = lambda: subprocess.run([sys.executable, "-I", "verify_bundle.py"], cwd=folder, capture_output=True,
                                 text=True, timeout=60)
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "report.pdf manifest" in result.stdout and "1 evidence file(s) checked" in result.stdout
    evidence = next((folder / "evidence").rglob("*nodes.txt"))
    evidence.write_bytes(b"node list: 2 nodes\n")
    result = run()
    assert result.returncode == 1 and "nodes.txt" in result.stdout
    evidence.write_bytes(b"node list: 3 nodes\n")
    assert run().returncode == 0
    (folder / "report.json").write_bytes((folder / "report.json").read_bytes().replace(b'"done"', b'"failed"', 1))
    result = run()
    assert result.returncode == 1 and "report.json has SHA-256" in result.stdout
    assert Report.objects.filter(release=signed_release, format="pdf").count() == 1


HOSTILE = [
    '#eval("1 + 1")', '#read("/etc/passwd")', '#image("/etc/hostname")', '#import "@preview/cetz:0.3.0"',
    '] *not bold* _nor italic_ $x^2$ @not-a-ref <not-a-label>', '`raw` // no comment /* nor this */ \\',
    '#{ panic("boom") }', '= Not a heading',
]


def test_text_a_person_wrote_is_printed_as_written_never_run(people, tmp_path):
    """Item titles, comments, filenames, names: Typst receives them as data, so markup and code in
    them are printed character for character; nothing is evaluated, and no file is read."""
    from checklists.services import evidence as evidence_services
    from checklists.services.releases import release_create
    from checklists.services.templates import template_import

    lines = "\n".join(f"- [ ] {text}" for text in HOSTILE)
    version = template_import(data=f"# Hostile\n\n## Section $1 #eval\n{lines}\n".encode(), name="Hostile").version
    manager = people["manager"]
    manager.first_name, manager.last_name = '#read("/etc/passwd")', "<label> $x$"
    manager.save()
    release = release_create(template_version=version, service="svc", version="#eval(1)", release_manager=manager,
                             by=manager)
    item = release.items.order_by("order").first()
    for text in HOSTILE:
        Comment.objects.create(item=item, author=manager, body=f"Body {text}")
    upload = add_file_evidence(item, by=manager, data=b"x", name="_not_italic_.txt")
    link = evidence_services.evidence_add_link(item=item, by=manager, url="https://example.com/*a*/$b$?c=<d>#@e")
    add_note(item, by=manager, text='Note #eval("2 * 21") *x*')
    report = reports.report_generate(release=release, fmt="pdf", by=people["auditor"])
    with report.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    flat = _flat("\n".join(page.extract_text() for page in reader.pages))
    for text in HOSTILE:
        assert _flat(text) in flat and _flat(f"Body {text}") in flat, text
    for text in ('Section $1 #eval', upload.filename, str(link), 'Note #eval("2 * 21") *x*', "svc #eval(1)",
                 '#read("/etc/passwd") <label> $x$ (manager)'):
        assert text in flat, text
    assert "root:x:0:0" not in flat  # /etc/passwd was not read (a panic() run would have failed the report)


def test_long_runs_are_cut_into_pieces_that_join_back_and_hashes_stay_whole():
    from reports.layout import cut_runs

    url = "https://grafana.example.com/d/nodes-overview-with-a-very-long-unbroken-path?orgId=1"
    cut = cut_runs({"rows": [[f"see {url} now", "a" * 64, "short words only"]]})["rows"][0]
    before, pieces, after = cut[0]["cut"]
    assert (before, after) == ("see ", " now") and "".join(pieces) == url
    assert pieces[:3] == ["https://", "grafana.", "example."]  # cut after punctuation
    assert all(len(piece.rstrip("/.-_?&=:,;")) <= 16 for piece in pieces)
    assert cut[1:] == ["a" * 64, "short words only"]


def test_the_audit_trail_reads_on_paper(signed_release, people):
    """Issue 14 §10: every cell wraps (no change text lost, even to text extraction), objects and people
    by name, times to the second with the zone, enum values as labels."""
    from reports import presentation
    from checklists.services import items as item_services
    from checklists.services import evidence as evidence_services

    engineer = people["engineer"]
    engineer.first_name, engineer.last_name = "Alice", "Engineer"
    engineer.save()
    item = signed_release.items.get(key=ITEM_KEY)
    na = signed_release.items.exclude(pk=item.pk).filter(status=ReleaseItem.Status.DONE).order_by("order").last()
    item_services.item_set_status(item=na, status=ReleaseItem.Status.NOT_APPLICABLE, by=people["manager"],
                                  expected_version=na.version)
    evidence_services.evidence_add_link(item=item, by=people["manager"], url="https://grafana.example.com/d/"
                                    + "nodes-overview-with-a-very-long-unbroken-path-" * 3 + "?orgId=1")
    item.refresh_from_db()
    item_services.item_assign(item=item, assignee=engineer, by=people["manager"], expected_version=item.version)
    report = reports.report_generate(release=signed_release, fmt="pdf", by=people["auditor"])
    with report.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    squeezed = re.sub(r"\s", "", text)  # the audit trail may start on one page and go on for several
    content = json.loads(reader.attachments["report.json"][0])
    rows = presentation.audit_rows(content, presentation.labels_for(signed_release, content))
    assert len(rows) >= 8
    lost = [row["change"] for row in rows if re.sub(r"\s", "", row["change"]) not in squeezed]
    assert lost == []
    assert "status:Done→Notapplicable" in squeezed
    assert "assignee:none→AliceEngineer" in squeezed
    assert re.sub(r"\s", "", f"Item “{item.text}”") in squeezed or "Item“" in squeezed
    assert not re.search(r"\b(releaseitem|approval|waiver|signoffrequirement|proberun|report)\s*[:#]\s*\d+", text)
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", text), "microseconds"
    assert "not_applicable" not in text and "in_progress" not in text
    assert re.search(r"\d{4}-\d{2}-\d{2}\s\d{2}:\d{2}:\d{2}\sUTC", text)  # the date may wrap
