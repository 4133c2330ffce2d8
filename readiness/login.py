"""Login with a brake on password guessing: failures are counted per username and client address."""
import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache

from people import oidc


def _key(request) -> str:
    username = request.POST.get("username", "").strip().lower()
    client = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{username}\0{client}".encode()).hexdigest()
    return f"login-failures:{digest}"


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        local = settings.READINESS_LOCAL_LOGIN
        context.update(sso_enabled=oidc.enabled(), sso_label=settings.READINESS_OIDC_LABEL, local_login=local,
                       show_password_form=local or not oidc.enabled() or "local" in self.request.GET)
        return context

    def post(self, request, *args, **kwargs):
        key = _key(request)
        if cache.get(key, 0) >= settings.READINESS_LOGIN_MAX_FAILURES:
            form = self.get_form()
            minutes = settings.READINESS_LOGIN_LOCKOUT_SECONDS // 60
            form.add_error(None, f"Too many failed attempts for this account from your address. "
                                 f"Try again in {minutes} minutes.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            cache.delete(key)
        else:
            # add() starts the window on the first failure; incr() counts the rest inside it.
            if not cache.add(key, 1, settings.READINESS_LOGIN_LOCKOUT_SECONDS):
                cache.incr(key)
        return response
