"""Password logins, which an organisation on single sign-on switches off for all but break-glass accounts."""
from django.conf import settings
from django.contrib.auth.backends import ModelBackend


def local_login_allowed(username: str | None) -> bool:
    if settings.READINESS_LOCAL_LOGIN:
        return True
    return bool(username) and username in settings.READINESS_BREAK_GLASS_USERS


class LocalPasswordBackend(ModelBackend):
    """Django's username/password check, refused outright when READINESS_LOCAL_LOGIN=false unless the
    username is one of READINESS_BREAK_GLASS_USERS (an admin who can still get in when the identity
    provider is down)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if not local_login_allowed(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
