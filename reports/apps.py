from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The sign-off report: it shows items, sign-off and probe findings, so it sits above both apps."""

    name = "reports"
    default_auto_field = "django.db.models.BigAutoField"
