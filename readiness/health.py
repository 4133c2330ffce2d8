"""Liveness, readiness and metrics endpoints for load balancers, Kubernetes probes and Prometheus."""
import hmac

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus import exports


@require_GET
@never_cache
def healthz(request):
    """The process serves requests. No dependency checks: a database outage must not restart pods."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    """Ready for traffic: the database and Redis answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("readyz", "1", 5)
        checks["redis"] = "ok" if cache.get("readyz") == "1" else "error: no round trip"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


@require_GET
@never_cache
def metrics(request):
    """Prometheus metrics; with READINESS_METRICS_TOKEN set, only for scrapers that send it as a bearer token."""
    token = settings.READINESS_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return HttpResponse("A bearer token is required.", status=401, content_type="text/plain",
                                headers={"WWW-Authenticate": "Bearer"})
    return exports.ExportToDjangoView(request)
