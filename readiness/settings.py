"""Settings, read from the environment in one place.

Production is the default: DEBUG is off unless asked for, and a missing SECRET_KEY, DATABASE_URL or
REDIS_URL stops the process at start with a message naming the variable. `make run` and `make test`
set local values for all of them (see readiness/stack.py).
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from readiness.env import env_bool, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set (or SECRET_KEY_FILE): it signs sessions and CSRF tokens."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-true"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set, e.g. ALLOWED_HOSTS=readiness.example.com")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = Path(env_str("READINESS_DATA_DIR") or BASE_DIR / "var").resolve()
MEDIA_ROOT = DATA_DIR / "uploads"  # never served by URL: downloads go through permission-checked views
MEDIA_URL = "/uploads/"
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_prometheus",
    "checklists",
    "probes",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "readiness.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "readiness.htmx_login.HtmxLoginRedirectMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "readiness.urls"
WSGI_APPLICATION = "readiness.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

database_url = env_required("DATABASE_URL", "a PostgreSQL URL, e.g. postgresql://user@host:5432/readiness")
DATABASES = {"default": dj_database_url.parse(database_url, conn_max_age=60, conn_health_checks=True)}
DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_required("REDIS_URL", "a Redis URL for the Celery broker and the cache")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "readiness",
    }
}

# Celery: a task is acknowledged only after it finished, so a killed worker's task is redelivered;
# the broker's visibility timeout must outlast the longest hard time limit or Redis redelivers a
# task that is still running.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT * 4),
    # How often a worker looks for messages whose worker died (unacked past the visibility timeout):
    # every interval × throttle seconds. Tests with a short visibility timeout set both to 1.
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 10),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    # Drift watch: probe open and recently approved releases again on their last cluster.
    "probes-reprobe-releases": {
        "task": "probes.tasks.reprobe_releases",
        "schedule": env_int("READINESS_REPROBE_MINUTES", 60) * 60.0,
    },
    # Runs left "running" by a worker that died past its hard time limit: requeue or fail them.
    "probes-sweep-stuck-runs": {"task": "probes.tasks.sweep_stuck_runs", "schedule": 120.0},
    # Granted waivers past their date reopen their items (and flag approved releases as drifted).
    "expire-waivers": {"task": "checklists.tasks.expire_waivers", "schedule": 3600.0},
    # Reports asked for in the browser whose task message was lost (a broker restart): queue them again.
    "requeue-unclaimed-reports": {"task": "checklists.tasks.requeue_unclaimed_reports", "schedule": 300.0},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
READINESS_LOGIN_MAX_FAILURES = env_int("READINESS_LOGIN_MAX_FAILURES", 10)
READINESS_LOGIN_LOCKOUT_SECONDS = env_int("READINESS_LOGIN_LOCKOUT_MINUTES", 15) * 60
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE") or "UTC"
USE_I18N = True
USE_TZ = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if env_bool("READINESS_PLAIN_STATIC", False):
    # Tests and the live server run without collectstatic.
    STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"

# Security. Everything secure by default; `make run` relaxes only what plain-HTTP localhost needs.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])
if SECURE_SSL_REDIRECT is False and not DEBUG:
    # Plain-HTTP deployments (local `make run`, TLS ended elsewhere) say so explicitly.
    SILENCED_SYSTEM_CHECKS += ["security.W008"]

# Uploads: the limit the upload views enforce with a clear message (bytes).
READINESS_MAX_UPLOAD_BYTES = env_int("READINESS_MAX_UPLOAD_MB", 25) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "readiness.uploads.SizeLimitUploadHandler",  # first: drops an oversized file before it is stored
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_PERMISSIONS = 0o640

# Probes and sign-off.
READINESS_SECRETS_KEYS = env_list("READINESS_SECRETS_KEYS", [])
READINESS_ALLOW_EXEMPTIONS = env_bool("READINESS_ALLOW_EXEMPTIONS", True)
READINESS_EVIDENCE_MAX_AGE_HOURS = env_int("READINESS_EVIDENCE_MAX_AGE_HOURS", 24)
# A release started from an earlier one carries over the evidence people added within this many days.
READINESS_CARRY_EVIDENCE_DAYS = env_int("READINESS_CARRY_EVIDENCE_DAYS", 30)
# A run that was started this many times without finishing (its worker killed each time) ends failed.
READINESS_PROBE_MAX_ATTEMPTS = env_int("READINESS_PROBE_MAX_ATTEMPTS", 5)
# Approved releases stay under drift watch for this many days after their last change.
READINESS_REPROBE_APPROVED_DAYS = env_int("READINESS_REPROBE_APPROVED_DAYS", 30)
# Manifest bundle uploads: caps on the extracted content (archives are unpacked by us, never run).
READINESS_BUNDLE_MAX_FILES = env_int("READINESS_BUNDLE_MAX_FILES", 500)
READINESS_BUNDLE_MAX_BYTES = env_int("READINESS_BUNDLE_MAX_MB", 20) * 1024 * 1024
READINESS_DEFAULT_TEMPLATE = "Production Readiness Checklist"

# Notifications: SMTP in production (EMAIL_HOST...), the console with DEBUG or when EMAIL_BACKEND says so.
EMAIL_BACKEND_PATH = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST") or "localhost",
        "port": env_int("EMAIL_PORT", 587),
        "username": env_str("EMAIL_HOST_USER") or "",
        "password": env_str("EMAIL_HOST_PASSWORD") or "",
        "use_tls": env_bool("EMAIL_USE_TLS", True),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "readiness@localhost"
READINESS_BASE_URL = env_str("READINESS_BASE_URL") or ""  # absolute links in emails, e.g. https://readiness.example.com

PROMETHEUS_EXPORT_MIGRATIONS = False
# When set, /metrics answers only scrapers that send it as a bearer token (the ingress reaches /metrics too).
READINESS_METRICS_TOKEN = env_str("READINESS_METRICS_TOKEN") or ""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "readiness.request_id.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "timestamp", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
