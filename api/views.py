"""API tokens in the browser: list, create (the secret is shown once), revoke; service tokens for admins."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from api import services
from checklists import permissions
from checklists.models import Role, Team


class TokenForm(forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX, help_text="Where it is used, e.g. “github-actions deploy”.")
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Leave empty for no expiry.")

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("The expiry must be after today.")
        return day

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))


class ServiceTokenForm(TokenForm):
    team = forms.ModelChoiceField(queryset=Team.objects.all())
    role = forms.ChoiceField(choices=[c for c in Role.choices if c[0] != Role.ADMIN])


def _require_member(user):
    if not permissions.roles_of(user):
        raise PermissionDenied("Only members of a team use API tokens.")


@require_GET
@login_required
def token_list(request):
    _require_member(request.user)
    return render(request, "api/tokens.html", {
        "tokens": services.tokens_for(request.user), "form": TokenForm(),
        "service_form": ServiceTokenForm() if permissions.is_admin(request.user) else None,
        "now": timezone.now(),
    })


def _created(request, token, secret):
    # Shown on this one response and never again: only its hash is stored.
    response = render(request, "api/token_created.html", {"token": token, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def token_create(request):
    _require_member(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.token_create(name=form.cleaned_data["name"], expires_at=form.expires_at(),
                                                  by=request.user)
        except services.TokenError as exc:
            form.add_error("name", str(exc))
        else:
            return _created(request, token, secret)
    return render(request, "api/token_form.html", {"form": form, "action": "tokens:token-create",
                                                   "title": "New personal token"}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@login_required
def service_token_create(request):
    if not permissions.is_admin(request.user):
        raise PermissionDenied("Only admins create service tokens.")
    form = ServiceTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            token, secret = services.service_token_create(name=data["name"], team=data["team"], role=data["role"],
                                                          expires_at=form.expires_at(), by=request.user)
        except services.TokenError as exc:
            form.add_error("name", str(exc))
        else:
            return _created(request, token, secret)
    return render(request, "api/token_form.html", {"form": form, "action": "tokens:service-token-create",
                                                   "title": "New service token"}, status=400 if form.errors else 200)


@require_POST
@login_required
def token_revoke(request, pk):
    token = get_object_or_404(services.tokens_for(request.user), pk=pk)
    services.token_revoke(token=token, by=request.user)
    messages.success(request, f"Token {token.name} revoked: calls with it now answer 401.")
    return redirect("tokens:token-list")


