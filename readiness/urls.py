from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from api.urls import api_urls
from people.urls import oidc_urlpatterns
from readiness import health
from readiness.login import ThrottledLoginView

urlpatterns = [
    # Browsers and bookmarks ask for /favicon.ico whatever the page says.
    path("favicon.ico", lambda request: redirect(static("favicon.svg"), permanent=True)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    *api_urls,
    path("", include("api.urls")),
    *oidc_urlpatterns,
    path("", include("people.urls")),
    path("", include("notices.urls")),
    path("", include("checklists.signoff.urls")),
    path("", include("reports.urls")),
    path("", include("probes.urls")),
    path("", include("checklists.urls")),
]
