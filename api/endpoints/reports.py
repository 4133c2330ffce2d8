"""Reports: request one (a worker generates it), poll it, download it."""
import datetime
from typing import Literal

from django.http import FileResponse, Http404
from ninja import Router, Schema, Status

from api.auth import audited
from api.endpoints.releases import release_for
from api.errors import ApiError, responses
from api.pagination import Id
from checklists import permissions
from reports import services as reports

router = Router(tags=["reports"])


class ReportIn(Schema):
    format: Literal["pdf", "json", "md"] = "pdf"


class ReportOut(Schema):
    id: int
    release: int
    format: str
    state: str
    error: str
    manifest_sha256: str
    size: int
    created_at: datetime.datetime
    content_as_of: datetime.datetime | None
    finished_at: datetime.datetime | None
    download: str | None


def report_out(report) -> dict:
    ready = report.state == report.State.READY
    return {"id": report.pk, "release": report.release_id, "format": report.format, "state": report.state,
            "error": report.error, "manifest_sha256": report.manifest_sha256, "size": report.size,
            "created_at": report.created_at, "content_as_of": report.content_as_of,
            "finished_at": report.finished_at,
            "download": f"/api/v1/reports/{report.pk}/download" if ready else None}


@router.post("/releases/{release_id}/reports", response=responses({200: ReportOut, 202: ReportOut}),
             summary="Ask for a report (auditors, release managers, approvers); poll it until ready")
def report_request(request, release_id: Id, data: ReportIn):
    release = release_for(request, release_id)
    with audited(request):
        report, created = reports.report_request(release=release, fmt=data.format, by=request.user)
    if created:
        from reports.tasks import generate_report

        generate_report.delay_on_commit(report.pk)
    return Status(202 if created else 200, report_out(report))


@router.get("/reports/{report_id}", response=responses({200: ReportOut}), summary="Poll a report")
def report_read(request, report_id: Id):
    return report_out(permissions.get_report_for_user(request.user, report_id))


@router.get("/reports/{report_id}/download", response=responses({}), summary="Download a ready report",
            openapi_extra={"responses": {"200": {"description": "The report file", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {}},
                "text/markdown": {"schema": {"type": "string"}}}}}})
def report_download(request, report_id: Id):
    report = permissions.get_report_for_user(request.user, report_id)
    if report.state != report.State.READY:
        raise ApiError(409, "not_ready", f"The report is {report.state}" +
                       (f": {report.error}" if report.error else "; poll it until it is ready."))
    try:
        handle = report.file.open("rb")
    except FileNotFoundError:
        raise Http404("The report's file is missing.") from None
    with audited(request):
        reports.report_downloaded(report=report, by=request.user)
    return FileResponse(handle, as_attachment=True, filename=report.filename,
                        content_type=reports.FORMATS[report.format])


