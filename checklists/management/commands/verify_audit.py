from django.core.management.base import BaseCommand, CommandError

from checklists.audit import verify_chain


class Command(BaseCommand):
    help = "Check the hash chain of the audit log and report the first broken link."

    def handle(self, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event #{report.broken_at}: {report.reason}. "
                f"{report.checked} events before it are intact."
            )
        self.stdout.write(f"Audit chain intact: {report.checked} events verified.")
