from django.core.management.base import BaseCommand, CommandError

from checklists.models import ChecklistTemplate
from checklists.services.templates import template_export


class Command(BaseCommand):
    help = "Write the latest version of a template as Markdown to standard output."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, name, **options):
        template = ChecklistTemplate.objects.filter(name=name).first()
        if template is None or not template.versions.exists():
            raise CommandError(f"No template named {name!r}.")
        self.stdout.write(template_export(template=template), ending="")
