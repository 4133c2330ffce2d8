import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
application = get_asgi_application()
# Requests queue tasks: the Celery app loads with the server, not on the first request that sends one.
import readiness.celery  # noqa: E402, F401
