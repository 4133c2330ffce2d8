from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from checklists import anchors
from reports import anchor_files
from checklists.audit import verify_chain
from readiness import signing


class Command(BaseCommand):
    help = ("Check the hash chain of the audit log and report the first broken link; then compare the chain with "
            "its signed anchors (READINESS_AUDIT_ANCHOR_FILE and every --anchor) and name any gap.")

    def add_arguments(self, parser):
        parser.add_argument("--anchor", action="append", metavar="FILE", default=[],
                            help="an anchor file (JSON lines), a signed PDF report or an evidence bundle (zip or "
                                 "folder); repeatable")
        parser.add_argument("--public-key", action="append", metavar="FILE",
                            help="trust anchors signed by this Ed25519 public key instead of the server's own")

    def handle(self, anchor, public_key, **options):
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event #{report.broken_at}: {report.reason}. "
                f"{report.checked} events before it are intact."
            )
        try:
            trusted = ([signing.load_public_key(Path(f).read_text()) for f in public_key] if public_key
                       else [signing.server_public_key()])
        except (OSError, signing.SigningKeyError) as exc:
            raise CommandError(f"--public-key: {exc}") from None
        sources = [Path(f) for f in anchor]
        if settings.READINESS_AUDIT_ANCHOR_FILE and Path(settings.READINESS_AUDIT_ANCHOR_FILE).is_file():
            sources.insert(0, Path(settings.READINESS_AUDIT_ANCHOR_FILE))
        found = []
        for source in sources:
            try:
                found += anchor_files.anchors_read(source)
            except anchors.AnchorFileError as exc:
                raise CommandError(str(exc)) from None
            except FileNotFoundError:
                raise CommandError(f"No file {source}.") from None
        comparison = anchors.anchors_compare(report, found, trusted)
        if comparison.problems:
            for problem in comparison.problems:
                self.stdout.write(f"FAILED {problem}")
            raise CommandError(f"Audit chain cut: {comparison.problems[0]}.")
        self.stdout.write(f"Audit chain intact: {report.checked} events verified.")
        latest = comparison.latest
        if latest is None:
            self.stdout.write(self.style.WARNING(
                "WARNING: no anchor to compare with, so events cut from the end of the chain would go unnoticed: "
                "set READINESS_AUDIT_ANCHOR_FILE or pass --anchor REPORT.pdf|BUNDLE.zip|ANCHORS.jsonl."))
            return
        self.stdout.write(f"Consistent with {len(comparison.checked)} signed anchor(s); the latest, the "
                          f"{latest.describe()}, names event {latest.payload['event_id']} of "
                          f"{latest.payload['events']}.")
