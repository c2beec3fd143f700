import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mes.comptes.demo import DEMO_DOMAIN, demo_totp_secret


class Command(BaseCommand):
    help = "Affiche le code TOTP courant d'un compte de démonstration (jamais en production)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")

    def handle(self, *args, email: str, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("Commande réservée au développement (DEBUG activé).")
        if not email.endswith(f"@{DEMO_DOMAIN}"):
            raise CommandError(f"Seuls les comptes de démonstration (@{DEMO_DOMAIN}) ont une clé connue.")
        counter = int(time.time()) // 30
        self.stdout.write(format_hotp_value(hotp_value(demo_totp_secret(email), counter)))
