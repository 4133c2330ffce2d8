from django.apps import AppConfig


class ProbesConfig(AppConfig):
    name = "probes"
    verbose_name = "Probes"

    def ready(self):
        # Tell the checklists app which check ids a template binding may name (it never imports us).
        from checklists import deciders
        from probes.engine import registry

        deciders.register(check_id for checks in registry.REGISTRIES.values() for check_id in checks)
        # A file attached to an item bound to an artifact check is judged by a background task.
        deciders.on_file_evidence(_on_file_evidence)


def _on_file_evidence(**kwargs):
    # probes.services imports the job queue (Celery, Redis): half a second that processes which
    # never store evidence, such as the probe command on manifests, should not pay at start-up.
    from probes import services

    return services.on_file_evidence(**kwargs)
