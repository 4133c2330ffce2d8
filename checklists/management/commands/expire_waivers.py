from django.core.management.base import BaseCommand

from checklists.signoff.waivers import waivers_expire_due


class Command(BaseCommand):
    help = "Expire every granted waiver past its date (Celery beat runs the same sweep hourly)."

    def handle(self, **options):
        count = waivers_expire_due()
        self.stdout.write(f"{count} waiver(s) expired.")
