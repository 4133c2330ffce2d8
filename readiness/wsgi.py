import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readiness.settings")
application = get_wsgi_application()
# Requests queue tasks: the Celery app loads with the server, not on the first request that sends one.
import readiness.celery  # noqa: E402, F401
