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

        # The mesures de santé of the FHIR API: the transaction Bundles about an Observation, and the
        # CapabilityStatement entries of Observation and Device.
        from dossier.api.observations import DEVICE_RESOURCE, OBSERVATION_RESOURCE, observation_transaction
        from mes.api.registry import register_fhir_resource
        from mes.api.transaction import register_transaction

        register_transaction("Observation", observation_transaction)
        register_fhir_resource(OBSERVATION_RESOURCE)
        register_fhir_resource(DEVICE_RESOURCE)

        # The documents (PDSm / IHE MHD ProvideDocumentBundle, DocumentReference and Binary) and the vaccinations.
        from dossier.api.documents import BINARY_RESOURCE, DOCUMENT_REFERENCE_RESOURCE, provide_document_bundle
        from dossier.api.immunizations import IMMUNIZATION_RESOURCE

        register_transaction("DocumentReference", provide_document_bundle)
        register_fhir_resource(DOCUMENT_REFERENCE_RESOURCE)
        register_fhir_resource(BINARY_RESOURCE)
        register_fhir_resource(IMMUNIZATION_RESOURCE)
