"""The bell and inbox of in-app notices, notification preferences, and the admins' team webhooks."""
import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from checklists import permissions
from notices import services
from notices.forms import PreferenceForm, WebhookForm
from notices.models import Notice, Webhook


def _cursor(moment) -> int:
    return int(moment.timestamp() * 1_000_000)


@require_GET
@login_required
def bell(request):
    """The bell's fragment, polled like the release page's live changes: 204 (nothing to swap) while
    nothing arrived since the cursor; two queries."""
    since_raw = request.GET.get("since")
    if since_raw:
        try:
            since = datetime.datetime.fromtimestamp(int(since_raw) / 1_000_000, tz=datetime.UTC)
        except (ValueError, OverflowError, OSError):
            return HttpResponseBadRequest("since must be a cursor from the bell.")
        newest = Notice.objects.filter(user=request.user).order_by("-created_at").values_list("created_at", flat=True)
        newest = newest.first()
        read = Notice.objects.filter(user=request.user, read_at__gte=since).exists()
        if (newest is None or newest <= since) and not read:
            return HttpResponse(status=204)
    unread = Notice.objects.filter(user=request.user, read_at=None)
    return render(request, "notices/_bell.html", {
        "unread": unread.count(), "latest": list(unread.select_related("release")[:5]),
        "cursor": _cursor(timezone.now()), "poll": settings.READINESS_NOTICE_POLL_SECONDS})


@require_GET
@login_required
def inbox(request):
    show = request.GET.get("show", "")
    notices = Notice.objects.filter(user=request.user).select_related("release")
    if show != "all":
        notices = notices.filter(read_at=None)
    page = Paginator(notices, 50).get_page(request.GET.get("page"))
    return render(request, "notices/inbox.html", {"page": page, "show": show})


@require_POST
@login_required
def mark_read(request):
    ids = request.POST.getlist("notice")
    try:
        ids = [int(pk) for pk in ids] if ids else None
    except ValueError:
        return HttpResponseBadRequest("notice must be the id of a notice.")
    changed = services.notices_mark_read(user=request.user, notice_ids=ids)
    notice = Notice.objects.filter(user=request.user, pk=ids[0]).first() if ids and len(ids) == 1 else None
    # Our own paths only (no host allowed): a notice never becomes an open redirect.
    if notice is not None and request.POST.get("open") and url_has_allowed_host_and_scheme(notice.url, None):
        return redirect(notice.url)
    messages.success(request, f"{changed} notice{'s' if changed != 1 else ''} marked read.")
    return redirect("notices:inbox")


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request):
    current = services.preference_of(request.user)
    initial = {"digest_email": current.digest_email, "waiver_reminder_email": current.waiver_reminder_email,
               "event_email": current.event_email}
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.preference_set(user=request.user, by=request.user, **form.cleaned_data)
        messages.success(request, "Your notification preferences are saved.")
        return redirect("notices:preferences")
    return render(request, "notices/preferences.html", {"form": form})


# --- team webhooks (admins) -------------------------------------------------------------------------
def _require_admin_page(user) -> None:
    if not permissions.is_admin(user):
        raise Http404("No such page.")


@require_GET
@login_required
def webhook_list(request):
    _require_admin_page(request.user)
    webhooks = Webhook.objects.select_related("team").order_by("team__name", "name")
    return render(request, "notices/webhook_list.html", {"webhooks": webhooks})


@require_http_methods(["GET", "POST"])
@login_required
def webhook_create(request):
    _require_admin_page(request.user)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            webhook, secret = services.webhook_create(team=data["team"], name=data["name"], url=data["url"],
                                                      format=data["format"], events=data["events"], by=request.user)
        except services.WebhookError as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "notices/webhook_created.html", {"webhook": webhook, "secret": secret})
    return render(request, "notices/webhook_form.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
@login_required
def webhook_detail(request, pk):
    _require_admin_page(request.user)
    webhook = get_object_or_404(Webhook.objects.select_related("team"), pk=pk)
    page = Paginator(webhook.deliveries.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    return render(request, "notices/webhook_detail.html", {"webhook": webhook, "page": page})


@require_POST
@login_required
def webhook_action(request, pk):
    _require_admin_page(request.user)
    webhook = get_object_or_404(Webhook.objects.select_related("team"), pk=pk)
    action = request.POST.get("action")
    if action == "test":
        services.webhook_test(webhook=webhook, by=request.user)
        messages.success(request, f"A test message to {webhook.name} is queued; its outcome appears below.")
    elif action in ("pause", "resume"):
        services.webhook_set_active(webhook=webhook, active=action == "resume", by=request.user)
        messages.success(request, f"Webhook {webhook.name} {'resumed' if action == 'resume' else 'paused'}.")
    elif action == "delete":
        services.webhook_delete(webhook=webhook, by=request.user)
        messages.success(request, f"Webhook {webhook.name} deleted.")
        return redirect("notices:webhook-list")
    else:
        return HttpResponseBadRequest("action must be test, pause, resume or delete.")
    return redirect("notices:webhook-detail", webhook.pk)
