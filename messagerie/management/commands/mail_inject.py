"""``manage.py mail_inject FILE.eml --to ADDRESS``: store a message as if it had come by SMTP (administrators)."""

from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messagerie.services._mime import address_normalise
from messagerie.services.ingest import IngestRefused, message_ingest


def _header_from(raw: bytes) -> str | None:
    """The first address of the From header, to stand for the envelope sender when none is given."""
    try:
        header = BytesHeaderParser(policy=policy.default).parsebytes(raw).get("From")
        addresses = getattr(header, "addresses", ()) or ()
    except (ValueError, TypeError, IndexError, AttributeError):
        return None
    return next((address.addr_spec for address in addresses if address_normalise(address.addr_spec)), None)


class Command(BaseCommand):
    help = (
        "Injecte un message électronique (.eml) dans la messagerie de santé des destinataires, par le même "
        "traitement que les messages reçus par SMTP (mêmes contrôles de l’expéditeur, des destinataires et du "
        "contenu)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Fichier .eml (le message tel qu’il serait reçu par SMTP).")
        parser.add_argument(
            "--to",
            action="append",
            required=True,
            dest="recipients",
            metavar="ADRESSE",
            help=f"Adresse du destinataire, <INS>@{settings.MSS_PATIENT_DOMAIN} (répétable).",
        )
        parser.add_argument(
            "--from",
            dest="envelope_from",
            default=None,
            metavar="ADRESSE",
            help="Expéditeur de l’enveloppe (défaut : l’adresse de l’en-tête From du message).",
        )

    def handle(self, *args, file: str, recipients: list[str], envelope_from: str | None, **options) -> None:
        path = Path(file)
        try:
            size = path.stat().st_size
            if size > settings.MSS_MAX_MESSAGE_BYTES:
                raise CommandError(
                    f"Message refusé : le fichier fait {size} octets, au-delà de la taille maximale acceptée "
                    f"({settings.MSS_MAX_MESSAGE_BYTES} octets)."
                )
            raw = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Le fichier {file} ne peut pas être lu : {error.strerror or error}.") from error
        envelope_from = envelope_from or _header_from(raw)
        if not envelope_from:
            raise CommandError(
                "Le message n’a pas d’en-tête From lisible : indiquez l’expéditeur de l’enveloppe avec --from."
            )
        try:
            messages = message_ingest(raw=raw, envelope_from=envelope_from, recipients=recipients)
        except IngestRefused as refusal:
            raise CommandError(f"Message refusé ({refusal.code} {refusal.status}) : {refusal.message}") from refusal
        for message in messages:
            address = message.citizen.mss_address
            if message.newly_stored:
                self.stdout.write(
                    f"Message enregistré pour {address} (conversation {message.conversation.public_id}, "
                    f"{message.attachments.count()} pièce(s) jointe(s))."
                )
            else:
                self.stdout.write(f"Message déjà reçu par {address} (même Message-ID) : rien n’a été ajouté.")
