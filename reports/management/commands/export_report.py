import sys

from django.core.management.base import BaseCommand, CommandError

from checklists.models import Release
from reports import services as reports


class Command(BaseCommand):
    help = ("Export a release's sign-off report as PDF, JSON (the canonical content) or Markdown. With -o the "
            "file is written there, otherwise the report is archived under MEDIA_ROOT (and JSON/Markdown "
            "also printed).")

    def add_arguments(self, parser):
        parser.add_argument("release_id", type=int)
        parser.add_argument("--format", choices=sorted(reports.FORMATS), default="pdf")
        parser.add_argument("-o", "--output", help="write the report to this file ('-' for standard output)")

    def handle(self, release_id, format, output, **options):
        release = Release.objects.filter(pk=release_id).first()
        if release is None:
            raise CommandError(f"No release #{release_id}.")
        report = reports.report_generate(release=release, fmt=format)
        with report.file.open("rb") as handle:
            data = handle.read()
        if output == "-" or (output is None and format != "pdf"):
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        elif output:
            with open(output, "wb") as handle:
                handle.write(data)
        if output != "-" and not (output is None and format != "pdf"):
            self.stdout.write(f"{format.upper()} report for {release}: {output or report.file.path} "
                              f"({len(data)} bytes), archived as report #{report.pk}.")
            self.stdout.write(f"Manifest SHA-256: {report.manifest_sha256}")
        else:
            self.stderr.write(f"Manifest SHA-256: {report.manifest_sha256} (archived as report #{report.pk})")
