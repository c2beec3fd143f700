"""``manage.py app_register``: register a referenced app (its OAuth2 client and its habilitation), or update it.

The app is known by its editor's OID: a new OID creates an OAuth2 client (authorization code + PKCE, id_token signed
RS256) and its habilitation; a known one updates the name, editor, redirect URIs and approved scopes given. A
confidential client's secret is generated here and printed once: django-oauth-toolkit stores it hashed, so nobody
can read it again (``--new-secret`` replaces a lost one). The habilitation goes through ``habilitation_grant``,
which writes the journal row.
"""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from mes.acces import scopes as app_scopes
from mes.acces.models import AppHabilitation
from mes.acces.services.pairings import habilitation_grant

ACTOR_LABEL = "Commande app_register"
CLIENT_TYPES = {"confidential": "confidential", "confidentiel": "confidential", "public": "public"}
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


def _redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI is refused (RFC 9700: https, compared exactly, no fragment), or ``None``."""
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.hostname:
        return f"« {uri} » : l’adresse de retour doit être une adresse https complète."
    if parts.fragment or "#" in uri:
        return f"« {uri} » : l’adresse de retour ne peut pas contenir de fragment (#)."
    if "*" in uri:
        return f"« {uri} » : l’adresse de retour est comparée exactement, sans caractère générique (*)."
    return None


class Command(BaseCommand):
    help = (
        "Enregistre (ou met à jour) un service référencé : son client OAuth2 et son habilitation (périmètres SMART "
        "approuvés). Le service est identifié par l’OID de son éditeur. Le secret d’un client confidentiel est "
        "affiché une seule fois."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--oid", required=True, help="OID de l’éditeur (identifie le service), ex. 1.2.250.1.999.12"
        )
        parser.add_argument("--name", help="Nom du service, tel que l’usager le voit")
        parser.add_argument("--editor", help="Nom de l’éditeur")
        parser.add_argument(
            "--redirect-uri",
            action="append",
            dest="redirect_uris",
            metavar="URI",
            help="Adresse de retour https (répéter l’option pour en donner plusieurs)",
        )
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            metavar="SCOPE",
            help="Périmètre SMART approuvé, ex. patient/Observation.crs (répéter l’option, ou séparer par des espaces)",
        )
        parser.add_argument(
            "--client-type",
            choices=sorted(CLIENT_TYPES),
            help="confidential (serveur capable de garder un secret, par défaut) ou public (application mobile)",
        )
        parser.add_argument(
            "--new-secret", action="store_true", help="Remplace le secret d’un client confidentiel existant"
        )

    def handle(self, *args, **options) -> None:
        oid = options["oid"].strip()
        if not _OID.match(oid):
            raise CommandError(f"OID invalide : « {oid} » (des nombres séparés par des points, ex. 1.2.250.1.999.12).")
        # The production app of the OID (the sandbox apps of référencement's technical tests may share it).
        habilitation = AppHabilitation.objects.select_related("application").filter(oid=oid, sandbox=False).first()
        scopes = self._scopes(options["scopes"])
        redirect_uris = self._redirect_uris(options["redirect_uris"])
        client_type = CLIENT_TYPES[options["client_type"]] if options["client_type"] else None
        if habilitation is None:
            missing = [
                flag
                for flag, value in (
                    ("--name", options["name"]),
                    ("--editor", options["editor"]),
                    ("--redirect-uri", redirect_uris),
                    ("--scope", scopes),
                )
                if not value
            ]
            if missing:
                raise CommandError(f"Nouveau service : indiquez aussi {', '.join(missing)}.")
            if options["new_secret"]:
                raise CommandError("--new-secret ne s’emploie que pour un service déjà enregistré.")
        elif client_type is not None and client_type != habilitation.application.client_type:
            raise CommandError(
                "Le type de client d’un service enregistré ne change pas : enregistrez un nouveau client."
            )
        secret, habilitation, created = self._save(
            habilitation=habilitation,
            oid=oid,
            name=(options["name"] or "").strip(),
            editor=(options["editor"] or "").strip(),
            redirect_uris=redirect_uris,
            scopes=scopes,
            client_type=client_type or "confidential",
            new_secret=options["new_secret"],
        )
        self._report(habilitation, created=created, secret=secret)

    def _scopes(self, values: list[str] | None) -> list[str]:
        scopes = [scope for value in values or [] for scope in value.split()]
        unknown = [scope for scope in scopes if scope != app_scopes.OPENID and app_scopes.parse(scope) is None]
        if unknown:
            served = ", ".join(
                f"patient/{resource}.{letters}" for resource, letters in app_scopes.RESOURCE_INTERACTIONS.items()
            )
            raise CommandError(f"Périmètre inconnu : {', '.join(unknown)}. Périmètres servis (au plus) : {served}.")
        # openid is always allowed: the habilitation holds the data scopes only.
        return app_scopes.normalise([scope for scope in scopes if scope != app_scopes.OPENID])

    def _redirect_uris(self, values: list[str] | None) -> list[str]:
        uris = list(dict.fromkeys(uri for value in values or [] for uri in value.split()))
        problems = [problem for uri in uris if (problem := _redirect_uri_problem(uri))]
        if problems:
            raise CommandError("\n".join(problems))
        return uris

    @transaction.atomic
    def _save(
        self,
        *,
        habilitation: AppHabilitation | None,
        oid: str,
        name: str,
        editor: str,
        redirect_uris: list[str],
        scopes: list[str],
        client_type: str,
        new_secret: bool,
    ) -> tuple[str, AppHabilitation, bool]:
        Application = get_application_model()
        created = habilitation is None
        application = Application() if created else habilitation.application
        secret = ""
        if created:
            application.client_type = client_type
            application.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
            application.skip_authorization = False
        if name:
            application.name = name
        if redirect_uris:
            application.redirect_uris = " ".join(redirect_uris)
        application.algorithm = Application.RS256_ALGORITHM
        if application.client_type == Application.CLIENT_CONFIDENTIAL and (created or new_secret):
            # Hashed by django-oauth-toolkit when saved: this value is shown once, below, and never again.
            secret = generate_client_secret()
            application.client_secret = secret
        elif new_secret:
            raise CommandError("Un client public n’a pas de secret.")
        # A public client keeps the random secret its row was created with, hashed and shown to nobody: it proves
        # nothing with it, PKCE alone protects its authorization codes.
        try:
            application.full_clean(exclude=["client_secret", "user"])
        except ValidationError as error:
            raise CommandError(f"Client OAuth2 refusé : {'; '.join(error.messages)}") from None
        application.save()
        try:
            habilitation = habilitation_grant(
                actor=None,
                actor_label=ACTOR_LABEL,
                application=application,
                name=name or habilitation.name,
                editor_name=editor or habilitation.editor_name,
                oid=oid,
                approved_scopes=scopes or habilitation.approved_scopes,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        return secret, habilitation, created

    def _report(self, habilitation: AppHabilitation, *, created: bool, secret: str) -> None:
        application = habilitation.application
        title = "Service enregistré" if created else "Service mis à jour"
        self.stdout.write(self.style.SUCCESS(f"{title} : {habilitation.name} (éditeur : {habilitation.editor_name})"))
        self.stdout.write(f"  OID de l’éditeur     : {habilitation.oid}")
        self.stdout.write(f"  Type de client       : {application.get_client_type_display()}")
        self.stdout.write(f"  client_id            : {application.client_id}")
        if secret:
            self.stdout.write(f"  client_secret        : {secret}")
            self.stdout.write(
                self.style.WARNING(
                    "  Ce secret est affiché une seule fois : il est conservé haché. Transmettez-le à l’éditeur par un "
                    "canal sûr ; s’il est perdu, relancez la commande avec --new-secret."
                )
            )
        self.stdout.write(f"  Adresses de retour   : {' '.join(application.redirect_uris.split())}")
        self.stdout.write(f"  Périmètres approuvés : {' '.join(habilitation.approved_scopes)}")
        if habilitation.suspended_at is not None:
            self.stdout.write(
                self.style.WARNING("  Ce service est suspendu : ses appels et ses appariements sont refusés.")
            )
