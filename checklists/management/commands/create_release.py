import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from checklists.models import ChecklistTemplate
from checklists.services.releases import ReleaseError, release_create


class Command(BaseCommand):
    help = "Create a release from the latest version of a template and print its id."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Our --version names the release's version; Django's own --version gives way.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--template", required=True)
        parser.add_argument("--service", required=True)
        parser.add_argument("--version", required=True, dest="release_version")
        parser.add_argument("--environment", default="production")
        parser.add_argument("--target-date", type=datetime.date.fromisoformat)
        parser.add_argument("--manager", help="username of the release manager")

    def handle(self, template, service, release_version, environment, target_date, manager, **options):
        found = ChecklistTemplate.objects.filter(name=template).first()
        version = found.latest_version() if found else None
        if version is None:
            raise CommandError(f"No template named {template!r}.")
        user = None
        if manager:
            user = get_user_model().objects.filter(username=manager).first()
            if user is None:
                raise CommandError(f"No user named {manager!r}.")
        try:
            release = release_create(template_version=version, service=service, version=release_version,
                                     environment=environment, target_date=target_date, release_manager=user, by=user)
        except ReleaseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(release.pk))
