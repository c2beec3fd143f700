from django.apps import AppConfig


class ConvergenceConfig(AppConfig):
    name = "convergence"
    verbose_name = "Convergence"

    def demo_create(self) -> None:
        """Load the shipped referential versions and the demo editor's products, called by ``manage.py demo``
        (idempotent)."""
        from convergence.demo import demo_products_create
        from convergence.referential import referentials_load_all

        referentials_load_all()
        demo_products_create()

    def ready(self) -> None:
        # The journal's wording of every Convergence action, in every process.
        from convergence import referential, services  # noqa: F401
