"""Evidence pages: attach a file, link or note to an item, and download a file (always as an
attachment, with a content type a browser may be told)."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET, require_POST

from checklists import permissions
from checklists.forms import EvidenceForm
from checklists.models import Evidence
from checklists.services import evidence as evidence_services
from checklists.services.items import ItemError
from checklists.views.items import detail_part, htmx_refusals, row_item

# Types a browser may be told; anything else (HTML, SVG, XML, scripts, text) goes out as bytes.
SAFE_DOWNLOAD_TYPES = {
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "application/pdf",
    "application/zip", "application/gzip", "application/x-tar", "application/x-bzip2", "application/x-xz",
    "application/x-7z-compressed", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@require_POST
@login_required
@htmx_refusals
def evidence_create(request, release_pk, pk):
    item = row_item(request, release_pk, pk, for_change=True)
    form = EvidenceForm(request.POST, request.FILES)
    status, text = 400, "Not saved: choose a file, a link or a note."
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == "file":
                if not data["file"] and getattr(request, "oversized_uploads", None):
                    raise ItemError(evidence_services.too_large_message())
                if not data["file"]:
                    raise ItemError("Choose a file to upload.")
                evidence = evidence_services.evidence_add_file(item=item, upload=data["file"], by=request.user)
                text = " ".join([f"File “{evidence.filename}” added (SHA-256 {evidence.sha256[:12]}…).",
                                 *getattr(evidence, "notes", [])])
            elif data["kind"] == "link":
                evidence = evidence_services.evidence_add_link(item=item, url=data["url"], by=request.user)
                text = f"Link {evidence.url} added."
            else:
                evidence_services.evidence_add_note(item=item, text=data["note"], by=request.user)
                text = "Note added."
            status = 200
            form = EvidenceForm()
        except ItemError as error:
            too_large = "limit" in str(error) or "larger than" in str(error)
            status, text = (413 if too_large else 400), f"Not saved: {error}"
    return detail_part(request, item, "evidence", status, text, evidence_form=form)


@require_GET
@login_required
def evidence_download(request, release_pk, pk, evidence_pk):
    """Serve a stored file only to people who may see the item, always as a download."""
    item = permissions.get_item_for_user(request.user, release_pk, pk)
    try:
        evidence = item.evidence.get(pk=evidence_pk, kind=Evidence.Kind.FILE)
    except Evidence.DoesNotExist:
        raise Http404("No such file.") from None
    content_type = evidence.content_type if evidence.content_type in SAFE_DOWNLOAD_TYPES else "application/octet-stream"
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    response = FileResponse(handle, as_attachment=True, filename=evidence.filename or f"evidence-{evidence.pk}",
                            content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["X-Evidence-SHA256"] = evidence.sha256
    return response
