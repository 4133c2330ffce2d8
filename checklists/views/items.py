"""Item endpoints: the item page, its row on the release page, inline changes (evidence and comments
have theirs in evidence.py and comments.py).

Each endpoint serves a full page (or a redirect with a message) without JavaScript, and a fragment to
htmx. Refusals answer 403 with a message; conflicts 409 with the current value; bad input 400.
"""
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from checklists import permissions, selectors
from checklists.forms import CommentForm, EvidenceForm, ItemUpdateForm
from checklists.services import items as item_services
from checklists.services.items import ItemConflict, ItemError, VoidsApprovals

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


def row_item(request, release_pk, pk, *, for_change=False, page=False):
    """The item with its row annotations, after the permission check: two queries (release, item).
    With `page`, also who changed it last, which the item page names."""
    rows = (lambda release: selectors.release_items(release).select_related("changed_by")) if page \
        else selectors.release_items
    row = permissions.get_item_for_user(request.user, release_pk, pk, for_change=for_change, rows=rows)
    row.can_change = permissions.can_change_item(request.user, row)
    row.can_bulk = permissions.can_manage_release(request.user, row.release)
    return row


@require_GET
@login_required
def item_detail(request, release_pk, pk):
    item = row_item(request, release_pk, pk, page=True)
    return render(request, "checklists/item_detail.html", _detail_context(request, item))


# Each of the item page's lists (evidence, comments, history) shows its newest rows; `?all=<list>`
# shows the whole of one. The report and the exports always hold everything.
ITEM_PAGE_LATEST = 50


def _detail_context(request, item, **extra):
    user = request.user
    everything = request.GET.get("all")

    def latest(name, rows):
        return selectors.Latest(rows, None if everything == name else ITEM_PAGE_LATEST)

    return {
        "item": item, "release": item.release, "today": timezone.localdate(),
        "can_comment": permissions.can_comment_on_item(user, item),
        "can_set_params": bool(item.probe_id) and permissions.can_manage_release(user, item.release),
        "evidence": latest("evidence", item.evidence.select_related(
            "created_by", "carried_from__created_by", "carried_from__item__release").order_by("created_at", "pk")),
        "comments": latest("comments", item.comments.select_related("author").order_by("created_at", "pk")),
        "history": latest("history", selectors.item_history(item)),
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
    item = row_item(request, release_pk, pk)
    if not request.htmx:
        return redirect("item-detail", release_pk=release_pk, pk=pk)
    return render(request, "checklists/_item_row.html", {"item": item, "today": timezone.localdate()})


@require_http_methods(["GET", "POST"])
@login_required
@htmx_refusals
def item_update(request, release_pk, pk):
    item = row_item(request, release_pk, pk, for_change=True)
    if request.method == "GET":
        template = "checklists/_item_editor.html" if request.htmx else "checklists/item_form.html"
        form = _update_form(request.user, item)
        # Values handed over from an inline edit that needs a reason or a confirmation.
        form.initial.update({name: request.GET[name] for name in ItemUpdateForm.EDITABLE if name in request.GET})
        return render(request, template, {"item": item, "form": form, "release": item.release,
                                          "next": _next_url(request, "")})
    form = _update_form(request.user, item, request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label or name.title() if name in form.fields else ''}: {' '.join(e)}"
                           for name, e in form.errors.items())
        return _item_refused(request, item, f"Not saved. {errors}", status=400)
    changes = form.changes()
    try:
        item_services.item_update(item=item, changes=changes, by=request.user,
                                  expected_version=form.cleaned_data["version"], reason=form.cleaned_data["reason"],
                                  confirm_void=form.cleaned_data["confirm_void"])
    except ItemConflict as conflict:
        return _item_refused(request, _reload(request, conflict.item), str(conflict), status=409)
    except VoidsApprovals as voids:
        return _ask_on_the_form(request, item, changes, f"Not saved yet. {voids}", status=409)
    except ItemError as error:
        if error.code == "override_needs_reason":
            return _ask_on_the_form(request, item, changes, f"Not saved: {error}", status=400)
        return _item_refused(request, _reload(request, item), f"Not saved: {error}", status=400)
    text = _saved_text(item, changes)
    if request.htmx:
        return _row_response(request, _reload(request, item), [("success", text)])
    messages.success(request, text)
    return redirect(_next_url(request, reverse("release-detail", args=[item.release_id])
                                  + f"?section={item.section_id}#item-{item.pk}"))


def _ask_on_the_form(request, item, changes, text, *, status):
    """The change needs one more answer (a reason, or a confirmation that it voids approvals): the
    full item form asks it, with the submitted values kept. An inline (htmx) edit is sent there."""
    query = {name: getattr(value, "pk", value) or "" for name, value in changes.items()}
    url = reverse("item-update", args=[item.release_id, item.pk]) + "?" + urlencode(query)
    if request.htmx:
        messages.warning(request, text)
        return HttpResponseClientRedirect(url)
    form = _update_form(request.user, item, request.POST)
    form.is_valid()
    form.add_error(None, text)
    return render(request, "checklists/item_form.html", {"item": item, "form": form, "release": item.release,
                                                         "next": _next_url(request, "")}, status=status)


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
        "totals": (totals := selectors.release_totals(nodes)), "counts": totals,
    }, status=status)


def detail_part(request, item, part, status, text, **forms):
    level = "success" if status == 200 else "error"
    if request.htmx:
        context = _detail_context(request, item, flash=[(level, text)], **forms)
        return render(request, f"checklists/item_detail.html#{part}", context, status=status)
    (messages.success if status == 200 else messages.error)(request, text)
    return redirect(reverse("item-detail", args=[item.release_id, item.pk]) + f"#{part}")
