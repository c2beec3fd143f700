from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue de services"

    def demo_create(self) -> None:
        """The fictional referenced services of the demo, their apps and two of them connected by the demo citizen,
        called by ``manage.py demo``."""
        from catalogue.demo import demo_apps_create, demo_services_create

        demo_services_create()
        demo_apps_create()

    def ready(self) -> None:
        from catalogue import services, signals  # noqa: F401 - connects the receivers, registers the journal actions
        from catalogue.selectors import app_showcases
        from mes.acces.selectors_apps import register_app_showcase

        # « Mes services connectés » shows each app's page and logo in the catalogue.
        register_app_showcase(app_showcases)
