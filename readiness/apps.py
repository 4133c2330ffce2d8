from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    """The project's own commands. Django's start loads no Celery (a CI step judging manifests never
    queues a task): the Celery app is loaded by what sends tasks (readiness.jobs, each tasks module),
    by the web processes at start (wsgi.py, asgi.py), and by `celery -A readiness`."""

    name = "readiness"
    verbose_name = "Readiness"
