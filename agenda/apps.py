from django.apps import AppConfig


class AgendaConfig(AppConfig):
    name = "agenda"
    verbose_name = "Agenda"

    def demo_create(self) -> None:
        """The agenda of the demo citizen, called by ``manage.py demo``."""
        from agenda.demo import agenda_demos_create

        agenda_demos_create()

    def ready(self) -> None:
        from django.core import checks

        from agenda import signals  # noqa: F401 - connects the receivers
        from agenda.prevention import table_check
        from mes.api.registry import FHIRResource, register_fhir_resource

        # A broken prevention table stops ``manage.py check`` (and the deployment), not the nightly job.
        checks.register(table_check, "agenda")
        # The paired apps' Appointment API (agenda.api), in the server's CapabilityStatement.
        register_fhir_resource(
            FHIRResource(
                type="Appointment",
                interactions=("create", "read", "update", "delete", "search-type"),
                search_params=(("patient", "reference"), ("date", "date")),
            )
        )
