from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mes.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # The OpenAPI security scheme of the paired apps' authentication (registered by being imported).
        from mes.api import schema  # noqa: F401

        # The contact data of the person (Patient), served by this package itself.
        from mes.api.patient import PATIENT_RESOURCE
        from mes.api.registry import register_fhir_resource

        register_fhir_resource(PATIENT_RESOURCE)
