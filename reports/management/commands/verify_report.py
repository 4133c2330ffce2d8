from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.verify import ReportFileError, verify_pdf
from readiness.signing import SigningKeyError


class Command(BaseCommand):
    help = ("Check a PDF sign-off report: that Readiness issued it as it is (attachment, seal, signature), then "
            "against the database: recompute its manifest, check the audit chain and the report's anchor of it, "
            "and list what changed since the report was made. Exits non-zero unless everything holds.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--public-key", action="append", metavar="FILE",
                            help="trust signatures by this Ed25519 public key (PEM or base64; repeatable) instead "
                                 "of the server's own key")
        parser.add_argument("--offline", action="store_true",
                            help="check the file alone (attachment, seal, signature): no database is read")

    def handle(self, file, public_key, offline, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file}.")
        keys = []
        for key_file in public_key or []:
            try:
                keys.append(Path(key_file).read_text())
            except OSError as exc:
                raise CommandError(f"--public-key {key_file}: {exc.strerror}") from None
        try:
            result = verify_pdf(path.read_bytes(), public_keys=keys, offline=offline)
        except ReportFileError as error:
            raise CommandError(f"{file}: {error}") from None
        except SigningKeyError as error:
            raise CommandError(f"--public-key: {error}") from None
        checked = result.file
        self.stdout.write(f"Report for release #{checked.release_id}; manifest {checked.manifest} "
                          f"(read from the PDF's {checked.source}).")
        if checked.signed:
            payload = checked.seal.payload
            self.stdout.write(f"Signed at {payload.get('signed_at')} by key {checked.seal.envelope.get('key_id')}.")
        for warning in checked.warnings:
            self.stdout.write(self.style.WARNING(f"WARNING: {warning}"))
        if not result.authentic:
            for problem in checked.problems:
                self.stdout.write(f"FAILED {problem}")
            raise CommandError(f"REFUSED: {file} fails the check(s) {', '.join(checked.failed_checks)}: it is not "
                               f"a report Readiness issued, or it was altered since.")
        if offline:
            self.stdout.write(self.style.SUCCESS("AUTHENTIC: the attachment, the seal and the signature hold "
                                                 "(the database was not consulted)."))
            return
        if result.archived is not None:
            self.stdout.write(f"The file is archived report #{result.archived.pk}.")
        self.stdout.write(f"Database now: manifest {result.current_manifest}; {result.chain_message}.")
        for problem in result.anchor_problems:
            self.stdout.write(f"FAILED anchor: {problem}")
        if result.ok:
            self.stdout.write(self.style.SUCCESS("MATCH: the report still describes the release as it is."))
            return
        if not result.current:
            self.stdout.write("The release changed since this report was made:")
            for line in result.changes:
                self.stdout.write(f"  {line}")
        reasons = []
        if not result.current:
            reasons.append("the report no longer matches the database")
        if not result.chain_ok:
            reasons.append("the audit chain is broken")
        if result.anchor_problems:
            reasons.append("the audit chain lost events the report anchored")
        raise CommandError("MISMATCH: " + " and ".join(reasons) + ".")
