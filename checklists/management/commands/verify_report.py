from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checklists.report.verify import ReportFileError, verify_pdf


class Command(BaseCommand):
    help = ("Check a PDF sign-off report against the database: recompute its manifest, check the audit chain, "
            "and list what changed since the report was made. Exits non-zero unless everything matches.")

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file}.")
        try:
            result = verify_pdf(path.read_bytes())
        except ReportFileError as error:
            raise CommandError(f"{file}: {error}") from None
        claims = result.claims
        self.stdout.write(f"Report for release #{claims.release_id}; manifest {claims.manifest} "
                          f"(read from the PDF {claims.source}).")
        if claims.embedded_matches is False:
            self.stdout.write("The report.json attached to the PDF does not match its manifest: the PDF was altered.")
        self.stdout.write(f"Database now: manifest {result.current_manifest}; {result.chain_message}.")
        if result.ok:
            self.stdout.write(self.style.SUCCESS("MATCH: the report still describes the release as it is."))
            return
        if claims.manifest != result.current_manifest:
            self.stdout.write("The release changed since this report was made:")
            for line in result.changes:
                self.stdout.write(f"  {line}")
        raise CommandError("MISMATCH: the report no longer matches the database" +
                           ("" if result.chain_ok else " and the audit chain is broken") + ".")
