from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand
from django.db import transaction

from mes.comptes.secrets_at_rest import mfa_secrets_reencrypt


class Command(BaseCommand):
    help = (
        "Rechiffre les secrets de double authentification sous la première clé de MFA_ENCRYPTION_KEYS "
        "(rotation : ajoutez la nouvelle clé en tête, lancez cette commande, puis retirez l’ancienne)."
    )

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            rewritten = mfa_secrets_reencrypt(Authenticator)
        self.stdout.write(f"{rewritten} secret(s) rechiffré(s).")
