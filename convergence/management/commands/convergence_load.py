from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from convergence.referential import (
    REFERENTIAL_FILE,
    ReferentialError,
    referential_load,
    referentials_load_all,
    shipped_referentials_root,
)


class Command(BaseCommand):
    help = (
        "Charge le référentiel Convergence. Sans argument : chaque version de convergence/referentiels/, la plus "
        "récente devenant la version en vigueur. Avec DIR : ce dossier de version (ou chaque version qu’il contient)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("directory", nargs="?", help="dossier d’une version (contenant referentiel.yaml)")
        parser.add_argument(
            "--current", action="store_true", help="mettre en vigueur la version chargée (avec DIR d’une version)"
        )

    def handle(self, *args, directory: str | None = None, current: bool = False, **options) -> None:
        try:
            if directory and (Path(directory) / REFERENTIAL_FILE).is_file():
                loaded = [referential_load(Path(directory), make_current=current)]
            else:
                root = Path(directory) if directory else shipped_referentials_root()
                if not root.is_dir():
                    raise CommandError(f"Dossier introuvable : {root}")
                loaded = referentials_load_all(root)
                if not loaded:
                    raise CommandError(f"Aucune version de référentiel (dossier avec {REFERENTIAL_FILE}) dans {root}")
        except ReferentialError as exc:
            count = len(exc.issues)
            raise CommandError(f"Référentiel refusé ({count} erreur{'s' if count > 1 else ''}) :\n{exc}") from exc
        for referential in loaded:
            referential.refresh_from_db()
            state = " — en vigueur" if referential.is_current else ""
            self.stdout.write(
                self.style.SUCCESS(
                    f"Référentiel {referential.version} chargé : {referential.questionnaires.count()} questionnaires, "
                    f"{referential.criteria.count()} critères{state}."
                )
            )
