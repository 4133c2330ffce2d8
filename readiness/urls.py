from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from people.urls import oidc_urlpatterns
from readiness import health
from readiness.login import ThrottledLoginView

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    *oidc_urlpatterns,
    path("", include("people.urls")),
    path("", include("notices.urls")),
    path("", include("checklists.signoff_urls")),
    path("", include("probes.urls")),
    path("", include("checklists.urls")),
]
