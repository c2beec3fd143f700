from django.apps import AppConfig


class ComptesConfig(AppConfig):
    name = "mes.comptes"
    label = "comptes"
    verbose_name = "Comptes et rôles"

    def ready(self) -> None:
        from mes.comptes import signals  # noqa: F401 - connects the receivers
