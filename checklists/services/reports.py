"""Exports of a release: PDF, JSON and Markdown reports, their archive, and the evidence bundle.

Every generated report is archived (a Report row and its file under MEDIA_ROOT) with its manifest,
and audited as `checklists.report.*`; those events are left out of the report content itself.
"""
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from checklists import permissions
from checklists.audit import record
from checklists.models import Evidence, Release, Report
from checklists.report import content as report_content
from checklists.report import markdown_export, pdf

FORMATS = {"pdf": "application/pdf", "json": "application/json", "md": "text/markdown; charset=utf-8"}
VERIFY_SCRIPT = Path(pdf.__file__).resolve().parent / "verify_bundle.py"


class ReportError(ValueError):
    pass


@dataclass
class Export:
    data: bytes
    manifest: str
    format: str
    filename: str
    content: dict

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]


def _who(user) -> str | None:
    return user.get_username() if user is not None and user.is_authenticated else None


def report_render(*, release: Release, fmt: str = "pdf", by=None) -> Export:
    """Render without archiving (the export_report command with -o writes the file itself). Costs the
    content's ~15 queries; the PDF takes seconds for a large release."""
    if fmt not in FORMATS:
        raise ReportError(f"Unknown report format {fmt!r}: use pdf, json or md.")
    content = report_content.build(release)
    manifest = report_content.manifest_of(content)
    if fmt == "json":
        data = report_content.content_bytes(content)
    elif fmt == "md":
        data = markdown_export.render(content, manifest, release.template_version).encode()
    else:
        data = pdf.render_pdf(content, manifest, generated_by=_who(by))
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{release.service}-{release.version}-{release.environment}")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return Export(data, manifest, fmt, f"readiness-{slug}-{stamp}.{fmt}", content)


def _require_reader(by) -> None:
    if by is not None and not permissions.can_read_reports(by):
        raise PermissionDenied("Reports are for auditors, release managers and approvers.")


def report_generate(*, release: Release, fmt: str = "pdf", by=None) -> Report:
    """Render and archive a report. `by=None` is the command line (trusted)."""
    _require_reader(by)
    export = report_render(release=release, fmt=fmt, by=by)
    with transaction.atomic():
        report = Report(release=release, format=fmt, manifest_sha256=export.manifest, size=len(export.data),
                        created_by=by if by is not None and by.is_authenticated else None)
        report.file.save(export.filename, ContentFile(export.data), save=False)
        report.save()
        record("checklists.report.generated", actor=by, obj=report, release=release,
               after={"format": fmt, "manifest": export.manifest, "size": len(export.data)})
    return report


def report_downloaded(*, report: Report, by) -> None:
    record("checklists.report.downloaded", actor=by, obj=report, release=report.release,
           after={"format": report.format, "manifest": report.manifest_sha256})


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"


def report_bundle(*, release: Release, by=None) -> tuple[Report, bytes]:
    """The auditor's evidence bundle: a fresh archived PDF, its canonical JSON, every evidence file and
    the standalone verify_bundle.py. Reads every evidence file: cost grows with their total size."""
    _require_reader(by)
    report = report_generate(release=release, fmt="pdf", by=by)
    with report.file.open("rb") as handle:
        pdf_bytes = handle.read()
    content = report_content.build(release)
    manifest = report_content.manifest_of(content)
    if manifest != report.manifest_sha256:
        raise ReportError("The release changed while the bundle was being made; try again.")
    buffer = io.BytesIO()
    files = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.pdf", pdf_bytes)
        archive.writestr("report.json", report_content.content_bytes(content))
        archive.writestr("manifest.sha256", f"{manifest}  report.json\n")
        evidence = Evidence.objects.filter(item__release=release).exclude(file="").select_related("item")
        for e in evidence.order_by("pk").iterator():
            path = f"evidence/{_safe_name(e.item.key)}/{e.pk}-{_safe_name(e.filename or e.sha256)}"
            try:
                with e.file.open("rb") as handle:
                    archive.writestr(path, handle.read())
            except FileNotFoundError:
                continue  # verify_bundle.py reports it as missing
            files.append({"path": path, "evidence_id": e.pk, "item": e.item.key, "sha256": e.sha256})
        archive.writestr("files.json", json.dumps(files, indent=1))
        archive.write(VERIFY_SCRIPT, "verify_bundle.py")
        archive.writestr("README.txt", _readme(release, manifest))
    record("checklists.report.bundled", actor=by, obj=report, release=release,
           after={"manifest": manifest, "evidence_files": len(files)})
    return report, buffer.getvalue()


def _readme(release: Release, manifest: str) -> str:
    return (
        f"Readiness evidence bundle for release #{release.pk}: {release}\n"
        f"Manifest SHA-256: {manifest}\n\n"
        "report.pdf       the sign-off report; its cover and footers print the manifest\n"
        "report.json      the canonical report content; its SHA-256 is the manifest\n"
        "manifest.sha256  the manifest, in sha256sum format\n"
        "evidence/        every evidence file, by item key; files.json maps them to report.json\n"
        "verify_bundle.py checks all of the above with the Python standard library only:\n\n"
        "    python3 verify_bundle.py\n"
    )
