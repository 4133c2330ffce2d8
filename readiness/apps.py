from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Readiness"

    def ready(self):
        # Load the Celery app, so that shared tasks queued from web processes use its broker settings.
        from readiness import celery  # noqa: F401
