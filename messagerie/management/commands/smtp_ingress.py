"""``manage.py smtp_ingress``: the SMTP server of the MSS ingress, until SIGTERM or SIGINT."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from messagerie.smtp import ingress_controller


class Command(BaseCommand):
    help = (
        "Lance le serveur SMTP d’entrée de la messagerie de santé (adresses <INS>@"
        f"{settings.MSS_PATIENT_DOMAIN}), jusqu’à SIGTERM ou SIGINT."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=None, help="Adresse d’écoute (défaut : MSS_SMTP_HOST).")
        parser.add_argument("--port", type=int, default=None, help="Port d’écoute (défaut : MSS_SMTP_PORT).")

    def handle(self, *args, host: str | None, port: int | None, **options) -> None:
        if port is not None and not 0 <= port <= 65535:
            raise CommandError("Le port doit être compris entre 0 et 65535.")
        stop = threading.Event()
        # Set before the server starts, so that a signal during the start-up is not lost.
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_args: stop.set())
        controller = ingress_controller(host=host, port=port)
        try:
            controller.start()
        except OSError as error:
            controller.handler.close()
            raise CommandError(f"Le serveur SMTP n’a pas pu démarrer : {error}") from error
        tls = "avec STARTTLS obligatoire" if controller.SMTP_kwargs.get("tls_context") else "sans TLS"
        self.stdout.write(
            f"Serveur SMTP de la messagerie de santé à l’écoute sur {controller.hostname}:{controller.port} ({tls}, "
            f"messages jusqu’à {settings.MSS_MAX_MESSAGE_BYTES} octets).",
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
        self.stdout.write("Serveur SMTP arrêté.")
