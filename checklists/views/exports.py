"""Downloads of a release's checklist, for anyone who may see the release."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from checklists import exports, permissions


def _download(body: str, content_type: str, release, ext: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    name = "".join(c if c.isalnum() or c in ".-_" else "-" for c in f"{release.service}-{release.version}")
    response["Content-Disposition"] = f'attachment; filename="{name}-checklist.{ext}"'
    return response


@require_GET
@login_required
def release_export_csv(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    return _download(exports.release_csv(release), "text/csv; charset=utf-8", release, "csv")


@require_GET
@login_required
def release_export_markdown(request, pk):
    release = permissions.get_release_for_user(request.user, pk)
    return _download(exports.release_markdown(release), "text/markdown; charset=utf-8", release, "md")
