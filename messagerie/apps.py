from django.apps import AppConfig


class MessagerieConfig(AppConfig):
    name = "messagerie"
    verbose_name = "Messagerie"

    def demo_create(self) -> None:
        """The inbox of the demo citizen, called by ``manage.py demo``."""
        from messagerie.demo import messagerie_demos_create

        messagerie_demos_create()

    def ready(self) -> None:
        from messagerie import signals  # noqa: F401 - connects the receivers

        # The journal's wording of every messagerie action, in every process (portal, ingress, Celery workers).
        from messagerie.services import inbox, ingest  # noqa: F401
