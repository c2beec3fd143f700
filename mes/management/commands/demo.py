from django.apps import apps
from django.core.management.base import BaseCommand

from mes.comptes.demo import demo_population_create
from mes.comptes.models import Role


class Command(BaseCommand):
    help = (
        "Crée (sans rien modifier de l'existant) la population fictive de démonstration et affiche un compte par rôle."
    )

    def handle(self, *args, **options) -> None:
        logins = demo_population_create()
        # Each brick fills its own part for the demo population (mes imports no brick: it asks their app configs).
        for config in apps.get_app_configs():
            if hasattr(config, "demo_create"):
                config.demo_create()
        labels = dict(Role.choices)
        self.stdout.write(self.style.SUCCESS("Données de démonstration prêtes. Comptes de démonstration :"))
        for login in logins:
            line = f"  {labels[login.role]:<26} {login.email}  mot de passe : {login.password}"
            if login.totp_secret:
                line += f"  clé TOTP : {login.totp_secret}"
            self.stdout.write(line)
        self.stdout.write(
            "Les rôles avec clé TOTP demandent un code à 6 chiffres : ajoutez la clé dans une application "
            "d'authentification (ou : python manage.py totp_code <e-mail>)."
        )
