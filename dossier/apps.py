from django.apps import AppConfig


class DossierConfig(AppConfig):
    name = "dossier"
    verbose_name = "Dossier médical"

    def ready(self) -> None:
        from dossier import signals  # noqa: F401 - connects the receivers
