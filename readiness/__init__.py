"""The project: settings, urls, the Celery app and what every app shares. Importing it costs nothing:
the pure probe engine uses readiness.safe_yaml without loading Celery or Django (the Celery app is
loaded by what sends tasks, by the web processes and by `celery -A readiness`, which finds
readiness.celery; see apps.py)."""
