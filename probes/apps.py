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
        from probes import services

        deciders.on_file_evidence(services.on_file_evidence)
