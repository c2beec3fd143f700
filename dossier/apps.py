from django.apps import AppConfig


class DossierConfig(AppConfig):
    name = "dossier"
    verbose_name = "Dossier médical"

    def demo_create(self) -> None:
        """The dossier of the demo citizen, called by ``manage.py demo``."""
        from dossier.demo import demo_dossiers_create

        demo_dossiers_create()

    def ready(self) -> None:
        from dossier import signals  # noqa: F401 - connects the receivers
