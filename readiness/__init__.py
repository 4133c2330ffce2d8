"""The project: settings, urls, the Celery app and what every app shares. Importing it costs nothing:
the pure probe engine uses readiness.safe_yaml without loading Celery or Django (the Celery app is
loaded when Django starts, in apps.py, and by `celery -A readiness`, which finds readiness.celery)."""
