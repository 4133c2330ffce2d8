"""Item endpoints: the item page, its row on the release page, inline changes, evidence and comments.

Each endpoint serves a full page (or a redirect with a message) without JavaScript, and a fragment to
htmx. Refusals answer 403 with a message; conflicts 409 with the current value; bad input 400.
"""
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from checklists import permissions, selectors
from checklists.forms import CommentForm, EvidenceForm, ItemUpdateForm
from checklists.models import Evidence
from checklists.services import items as item_services
from checklists.services.items import ItemConflict, ItemError

# Types a browser may be told; anything else (HTML, SVG, XML, scripts, text) goes out as bytes.
SAFE_DOWNLOAD_TYPES = {
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "application/pdf",
    "application/zip", "application/gzip", "application/x-tar", "application/x-bzip2", "application/x-xz",
    "application/x-7z-compressed", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def htmx_refusals(view):
    """A refused htmx request gets its reason in the page's message area instead of a swapped-in 403 page."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as refusal:
            if not request.htmx:
                raise
            return _message_response(request, str(refusal) or "You may not do that.", status=403)
    return wrapper


def _message_response(request, text, *, status, level="error"):
    response = render(request, "checklists/_messages.html", {"flash": [(level, text)]}, status=status)
    return reswap(retarget(response, "#messages"), "innerHTML")


def _next_url(request, default):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _row_item(request, release_pk, pk, *, for_change=False):
    """The item with its row annotations, after the permission check. Costs one more query."""
    item = permissions.get_item_for_user(request.user, release_pk, pk, for_change=for_change)
    row = selectors.release_items(item.release).get(pk=pk)
    row.release = item.release
    row.can_change = permissions.can_change_item(request.user, row)
    row.can_bulk = permissions.can_manage_release(request.user, row.release)
    return row


@require_GET
@login_required
def item_detail(request, release_pk, pk):
    item = _row_item(request, release_pk, pk)
    return render(request, "checklists/item_detail.html", _detail_context(request, item))


def _detail_context(request, item, **extra):
    user = request.user
    return {
        "item": item, "release": item.release, "today": timezone.localdate(),
        "can_comment": permissions.can_comment_on_item(user, item),
        "evidence": item.evidence.select_related("created_by", "carried_from__created_by",
                                                 "carried_from__item__release").order_by("created_at"),
        "comments": item.comments.select_related("author").order_by("created_at"),
        "history": selectors.item_history(item),
        "waivers": item.waivers.select_related("requested_by", "decided_by"),
        "update_form": _update_form(user, item) if item.can_change else None,
        "evidence_form": extra.pop("evidence_form", None) or EvidenceForm(),
        "comment_form": extra.pop("comment_form", None) or CommentForm(),
        "max_upload": settings.READINESS_MAX_UPLOAD_BYTES,
        **extra,
    }


def _update_form(user, item, data=None):
    initial = {"version": item.version, "status": item.status, "owner_team": item.owner_team_id,
               "assignee": item.assignee_id, "due_date": item.due_date}
    # The choices offered are the people `user` may assign; a submitted name is checked by the service,
    # which says why it refuses one.
    assignees = permissions.assignable_users(user, item) if data is None else None
    return ItemUpdateForm(data, initial=initial, item=item, assignees=assignees)


@require_GET
@login_required
def item_row(request, release_pk, pk):
    """The item's row on the release page (htmx: cancelling an edit)."""
    item = _row_item(request, release_pk, pk)
    if not request.htmx:
        return redirect("item-detail", release_pk=release_pk, pk=pk)
    return render(request, "checklists/_item_row.html", {"item": item, "today": timezone.localdate()})


@require_http_methods(["GET", "POST"])
@login_required
@htmx_refusals
def item_update(request, release_pk, pk):
    item = _row_item(request, release_pk, pk, for_change=True)
    if request.method == "GET":
        template = "checklists/_item_editor.html" if request.htmx else "checklists/item_form.html"
        return render(request, template, {"item": item, "form": _update_form(request.user, item),
                                          "release": item.release, "next": _next_url(request, "")})
    form = _update_form(request.user, item, request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label or name.title() if name in form.fields else ''}: {' '.join(e)}"
                           for name, e in form.errors.items())
        return _item_refused(request, item, f"Not saved. {errors}", status=400)
    changes = form.changes()
    try:
        with transaction.atomic():  # all the fields of one submit, or none
            expected = form.cleaned_data["version"]
            for name, value in changes.items():
                _SETTERS[name](item=item, by=request.user, expected_version=expected, **{_ARG[name]: value})
                expected = item.version
    except ItemConflict as conflict:
        return _item_refused(request, _reload(request, conflict.item), str(conflict), status=409)
    except ItemError as error:
        return _item_refused(request, _reload(request, item), f"Not saved: {error}", status=400)
    text = _saved_text(item, changes)
    if request.htmx:
        return _row_response(request, _reload(request, item), [("success", text)])
    messages.success(request, text)
    return redirect(_next_url(request, reverse("release-detail", args=[item.release_id]) + f"#item-{item.pk}"))


_SETTERS = {
    "status": item_services.item_set_status,
    "owner_team": item_services.item_set_owner_team,
    "assignee": item_services.item_assign,
    "due_date": item_services.item_set_due_date,
}
_ARG = {"status": "status", "owner_team": "team", "assignee": "assignee", "due_date": "due_date"}


def _saved_text(item, changes) -> str:
    if not changes:
        return f"Nothing to save: “{_short(item.text)}” already had those values."
    parts = []
    for name in changes:
        value = item.get_status_display() if name == "status" else (getattr(item, name) or "none")
        parts.append(f"{ItemUpdateForm.base_fields[name].label or name.replace('_', ' ').capitalize()} → {value}")
    return f"Saved “{_short(item.text)}”: " + ", ".join(parts) + "."


def _short(text, limit=60):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _reload(request, item):
    row = selectors.release_items(item.release).get(pk=item.pk)
    row.release = item.release
    row.can_change = permissions.can_change_item(request.user, row)
    row.can_bulk = permissions.can_manage_release(request.user, row.release)
    return row


def _item_refused(request, item, text, *, status):
    if request.htmx:
        return _row_response(request, item, [("error", text)], status=status, row_message=text)
    messages.error(request, text)
    return redirect(_next_url(request, reverse("item-detail", args=[item.release_id, item.pk])))


def _row_response(request, item, flash, *, status=200, row_message=""):
    """The row, plus out-of-band updates of the progress it moved and the message area."""
    roots, nodes = selectors.section_tree(item.release)
    sections = []
    node = nodes.get(item.section_id)
    while node is not None:
        sections.append(node)
        node = nodes.get(node.section.parent_id)
    return render(request, "checklists/_item_row_response.html", {
        "item": item, "release": item.release, "today": timezone.localdate(), "flash": flash,
        "row_message": row_message, "row_level": flash[0][0], "sections": sections,
        "totals": selectors.release_totals(nodes), "counts": selectors.release_counts(item.release),
    }, status=status)


@require_POST
@login_required
@htmx_refusals
def evidence_create(request, release_pk, pk):
    item = _row_item(request, release_pk, pk, for_change=True)
    form = EvidenceForm(request.POST, request.FILES)
    status, text = 400, "Not saved: choose a file, a link or a note."
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == "file":
                if not data["file"] and getattr(request, "oversized_uploads", None):
                    raise ItemError(item_services.too_large_message())
                if not data["file"]:
                    raise ItemError("Choose a file to upload.")
                evidence = item_services.evidence_add_file(item=item, upload=data["file"], by=request.user)
                text = f"File “{evidence.filename}” added (SHA-256 {evidence.sha256[:12]}…)."
            elif data["kind"] == "link":
                evidence = item_services.evidence_add_link(item=item, url=data["url"], by=request.user)
                text = f"Link {evidence.url} added."
            else:
                item_services.evidence_add_note(item=item, text=data["note"], by=request.user)
                text = "Note added."
            status = 200
            form = EvidenceForm()
        except ItemError as error:
            too_large = "limit" in str(error) or "larger than" in str(error)
            status, text = (413 if too_large else 400), f"Not saved: {error}"
    return _detail_part(request, item, "evidence", status, text, evidence_form=form)


@require_POST
@login_required
@htmx_refusals
def comment_create(request, release_pk, pk):
    item = permissions.get_item_for_user(request.user, release_pk, pk)
    permissions.require_comment(request.user, item)
    item = _row_item(request, release_pk, pk)
    form = CommentForm(request.POST)
    status, text = 400, "Not saved: a comment needs some text."
    if form.is_valid():
        try:
            item_services.comment_add(item=item, body=form.cleaned_data["body"], by=request.user)
            status, text, form = 200, "Comment added.", CommentForm()
        except ItemError as error:
            text = f"Not saved: {error}"
    return _detail_part(request, item, "comments", status, text, comment_form=form)


def _detail_part(request, item, part, status, text, **forms):
    level = "success" if status == 200 else "error"
    if request.htmx:
        context = _detail_context(request, item, flash=[(level, text)], **forms)
        return render(request, f"checklists/item_detail.html#{part}", context, status=status)
    (messages.success if status == 200 else messages.error)(request, text)
    return redirect(reverse("item-detail", args=[item.release_id, item.pk]) + f"#{part}")


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
