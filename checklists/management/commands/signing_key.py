from django.core.management.base import BaseCommand

from readiness import signing


class Command(BaseCommand):
    help = ("Print the server's Ed25519 public key (PEM) and its key id: publish it, so that anyone can check "
            "a report or an evidence bundle offline (verify_report --public-key, verify_bundle.py --public-key).")

    def add_arguments(self, parser):
        parser.add_argument("--public", action="store_true", help="the public key as PEM (the default)")
        parser.add_argument("--key-id", action="store_true", help="only the key id")

    def handle(self, public, key_id, **options):
        key = signing.server_public_key()
        if key_id:
            self.stdout.write(signing.key_id(key))
            return
        self.stdout.write(signing.public_pem(key), ending="")
        self.stderr.write(f"key id {signing.key_id(key)}"
                          + (" (the published DEVELOPMENT key: set READINESS_SIGNING_KEY)"
                             if signing.key_id(key) == signing.key_id(signing.development_key().public_key()) else ""))
