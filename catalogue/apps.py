from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue de services"

    def demo_create(self) -> None:
        """The fictional referenced services of the demo, called by ``manage.py demo``."""
        from catalogue.demo import demo_services_create

        demo_services_create()

    def ready(self) -> None:
        from catalogue import services, signals  # noqa: F401 - connects the receivers, registers the journal actions
