from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from checklists.markdown import ChecklistError
from checklists.services.templates import template_import


class Command(BaseCommand):
    help = "Create a new template version from a Markdown checklist (re-importing the same file changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", help="template name (default: the document's # title)")
        parser.add_argument("--metadata", type=Path, help="YAML with teams, severities, probe bindings, sign-off")

    def handle(self, path, name, metadata, **options):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        extra = yaml.safe_load(metadata.read_text()) if metadata else None
        try:
            result = template_import(data=data, name=name, source_name=path.name, metadata=extra)
        except ChecklistError as exc:
            raise CommandError(f"{path}: {exc}") from None
        version = result.version
        if result.created:
            self.stdout.write(f"Imported {version.template.name} v{version.number}: "
                              f"{result.sections} sections, {result.items} items.")
        else:
            self.stdout.write(f"Unchanged: {version.template.name} v{version.number} already holds this file.")
