from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "Notices"

    def ready(self):
        from notices import notifications

        notifications.connect()  # mail, notices and webhooks for what checklists announces
