"""Settings, read from the environment in one place.

Production is the default: DEBUG is off unless asked for, and a missing SECRET_KEY, DATABASE_URL or
REDIS_URL stops the process at start with a message naming the variable. `make run` and `make test`
set local values for all of them (see readiness/stack.py).
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from readiness.env import env_bool, env_group_map, env_int, env_list, env_required, env_signing_key, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set (or SECRET_KEY_FILE): it signs sessions and CSRF tokens."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-true"

# Reports and audit-chain anchors are signed with this Ed25519 key (readiness/signing.py). Without it
# and with DEBUG on, a published development key signs; its key id is printed on what it signs.
READINESS_SIGNING_KEY = env_signing_key(
    "READINESS_SIGNING_KEY", required=not DEBUG,
    why="reports and audit anchors are signed with it (`openssl genpkey -algorithm ed25519`).")
if READINESS_SIGNING_KEY is None:
    from readiness.signing import development_key

    READINESS_SIGNING_KEY = development_key()

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
    "ninja",  # serves its Swagger UI from our static files, not a CDN
    "checklists",
    "probes",
    "reports",
    "readiness",  # the project's own commands (seed_demo needs every app)
    "api",
    "people",
    "notices",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "readiness.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "readiness.nul_bytes.RejectNulBytesMiddleware",  # before any view or form sees a field
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
    # The login brake, the API's rate limits and the identity provider's discovery document. Each
    # fails open without Redis; the timeouts make a Redis that does not answer (rather than one that
    # refuses) cost a second, not the request.
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "readiness",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    },
    # Rendered release-page rows and section headings, keyed on everything they show, so never stale
    # (checklists/row_cache.py): each process keeps them in memory, and rows are shared through
    # Redis; a Redis that does not answer within the timeouts leaves the rows to be drawn.
    "rows": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "readiness",
        "TIMEOUT": 24 * 3600,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "readiness-fragments",
        "TIMEOUT": 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": env_int("READINESS_FRAGMENT_CACHE_ENTRIES", 10000)},
    },
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
READINESS_SWEEP_SECONDS = env_int("READINESS_SWEEP_SECONDS", 30)
# Celery beat's periods. The schedule that uses them is built beside the Celery app (readiness/celery.py):
# its daily entries are Celery crontabs, and every process reads these settings, Celery or not.
READINESS_REPROBE_MINUTES = env_int("READINESS_REPROBE_MINUTES", 60)
READINESS_COLLECT_MINUTES = env_int("READINESS_COLLECT_MINUTES", 60)
READINESS_AUDIT_ANCHOR_MINUTES = env_int("READINESS_AUDIT_ANCHOR_MINUTES", 15)
READINESS_DIGEST_HOUR = env_int("READINESS_DIGEST_HOUR", 7)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
AUTHENTICATION_BACKENDS = ["people.auth.LocalPasswordBackend", "people.oidc.Backend"]
# Password logins: READINESS_LOCAL_LOGIN=false keeps them for the break-glass usernames only.
READINESS_LOCAL_LOGIN = env_bool("READINESS_LOCAL_LOGIN", True)
READINESS_BREAK_GLASS_USERS = env_list("READINESS_BREAK_GLASS_USERS", [])

# Single sign-on (OpenID Connect, mozilla-django-oidc): on when READINESS_OIDC_ISSUER is set. The
# endpoints come from the issuer's discovery document; the OIDC_* names are the library's settings.
READINESS_OIDC_ISSUER = env_str("READINESS_OIDC_ISSUER") or ""
OIDC_RP_CLIENT_ID = env_str("READINESS_OIDC_CLIENT_ID") or ""
OIDC_RP_CLIENT_SECRET = env_str("READINESS_OIDC_CLIENT_SECRET") or ""
if READINESS_OIDC_ISSUER and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise ImproperlyConfigured("READINESS_OIDC_ISSUER is set: READINESS_OIDC_CLIENT_ID and "
                               "READINESS_OIDC_CLIENT_SECRET (or READINESS_OIDC_CLIENT_SECRET_FILE) must be set too.")
OIDC_RP_SIGN_ALGO = env_str("READINESS_OIDC_SIGN_ALGO") or "RS256"
OIDC_RP_SCOPES = env_str("READINESS_OIDC_SCOPES") or "openid email profile groups"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_int("READINESS_OIDC_TIMEOUT_SECONDS", 10)
OIDC_LEEWAY_SECONDS = 30  # clock skew allowed on exp/iat
OIDC_CREATE_USER = True
LOGIN_REDIRECT_URL_FAILURE = "login"
READINESS_OIDC_GROUPS_CLAIM = env_str("READINESS_OIDC_GROUPS_CLAIM") or "groups"
READINESS_OIDC_USERNAME_CLAIM = env_str("READINESS_OIDC_USERNAME_CLAIM") or "preferred_username"
# Group → team and role mappings kept in configuration, applied with those admins keep on the People pages.
READINESS_OIDC_GROUP_MAP = env_group_map("READINESS_OIDC_GROUP_MAP")
READINESS_OIDC_LABEL = env_str("READINESS_OIDC_LABEL") or "your company account"
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
# How long an automated verdict stays fresh, per kind of check; older ones block sign-off like an open
# item. A probe or collector verdict is as old as its run; an artifact's as old as the file it judged.
READINESS_EVIDENCE_MAX_AGE_HOURS = env_int("READINESS_EVIDENCE_MAX_AGE_HOURS", 24)  # Kubernetes probes
READINESS_ARTIFACT_MAX_AGE_HOURS = env_int("READINESS_ARTIFACT_MAX_AGE_HOURS", 168)  # CI artifacts: a week
READINESS_COLLECTOR_MAX_AGE_HOURS = env_int("READINESS_COLLECTOR_MAX_AGE_HOURS", 24)  # observability APIs
# A release started from an earlier one carries over the evidence people added within this many days.
READINESS_CARRY_EVIDENCE_DAYS = env_int("READINESS_CARRY_EVIDENCE_DAYS", 30)
# A run that was started this many times without finishing (its worker killed each time) ends failed.
READINESS_PROBE_MAX_ATTEMPTS = env_int("READINESS_PROBE_MAX_ATTEMPTS", 5)
# Approved releases stay under drift watch for this many days after their last change.
READINESS_REPROBE_APPROVED_DAYS = env_int("READINESS_REPROBE_APPROVED_DAYS", 30)
# Manifest bundle uploads: caps on the extracted content (archives are unpacked by us, never run).
READINESS_BUNDLE_MAX_FILES = env_int("READINESS_BUNDLE_MAX_FILES", 500)
READINESS_BUNDLE_MAX_BYTES = env_int("READINESS_BUNDLE_MAX_MB", 20) * 1024 * 1024
# A .tar.gz is decompressed through every member to reach the next: all members count against this.
READINESS_BUNDLE_MAX_ARCHIVE_BYTES = env_int("READINESS_BUNDLE_MAX_ARCHIVE_MB", 100) * 1024 * 1024
# Parsing in the worker: objects per bundle, and the YAML budget (nesting depth, nodes added by aliases).
READINESS_BUNDLE_MAX_OBJECTS = env_int("READINESS_BUNDLE_MAX_OBJECTS", 50000)
READINESS_YAML_MAX_DEPTH = env_int("READINESS_YAML_MAX_DEPTH", 64)
READINESS_YAML_MAX_ALIAS_NODES = env_int("READINESS_YAML_MAX_ALIAS_NODES", 10000)
# The API's rate limits (calls per window, counted in Redis across every web process; 0 turns one off):
# per token, and per address for calls without a live token.
READINESS_API_RATE_PER_TOKEN = env_int("READINESS_API_RATE_PER_TOKEN", 600)
READINESS_API_RATE_ANONYMOUS = env_int("READINESS_API_RATE_ANONYMOUS", 60)
READINESS_API_RATE_WINDOW_SECONDS = env_int("READINESS_API_RATE_WINDOW_SECONDS", 60)
# Findings a probe run stores: per probe and in all (the rest is counted and shown as "and N more").
READINESS_FINDINGS_PER_PROBE = env_int("READINESS_FINDINGS_PER_PROBE", 100)
READINESS_FINDINGS_PER_RUN = env_int("READINESS_FINDINGS_PER_RUN", 2000)
READINESS_DEFAULT_TEMPLATE = "Production Readiness Checklist"
# Checklist imports: a release copies every item, so a template's size bounds every release page.
READINESS_CHECKLIST_MAX_ITEMS = env_int("READINESS_CHECKLIST_MAX_ITEMS", 5000)
READINESS_CHECKLIST_MAX_DEPTH = env_int("READINESS_CHECKLIST_MAX_DEPTH", 8)
# The audit chain's head, signed, is appended to this file (one JSON line per checkpoint) as well as
# written to the log; verify_audit compares the chain against it. Empty: the log only.
READINESS_AUDIT_ANCHOR_FILE = env_str("READINESS_AUDIT_ANCHOR_FILE") or ""
# Rows per page of a release (sections show the progress of all their items on every page).
READINESS_RELEASE_PAGE_ITEMS = env_int("READINESS_RELEASE_PAGE_ITEMS", 300)

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

# Team webhooks and reminders.
READINESS_WEBHOOK_TIMEOUT_SECONDS = env_int("READINESS_WEBHOOK_TIMEOUT_SECONDS", 5)
READINESS_WEBHOOK_MAX_ATTEMPTS = env_int("READINESS_WEBHOOK_MAX_ATTEMPTS", 6)
READINESS_WEBHOOK_BACKOFF_SECONDS = env_int("READINESS_WEBHOOK_BACKOFF_SECONDS", 30)
READINESS_DIGEST_DUE_SOON_DAYS = env_int("READINESS_DIGEST_DUE_SOON_DAYS", 3)
READINESS_WAIVER_REMINDER_DAYS = env_int("READINESS_WAIVER_REMINDER_DAYS", 3)
READINESS_NOTICE_POLL_SECONDS = env_int("READINESS_NOTICE_POLL_SECONDS", 20)

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
    },
}
