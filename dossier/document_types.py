"""The types of documents a citizen may choose, with their code, French label and simplified category.

The codes are those of the CI-SIS referential of document types (TRE_A04-TypeDocument-LOINC, the LOINC terms the
« Nomenclature des Objets de Santé » lists for XDS ``typeCode``), restricted to the active terms that a person is
likely to hold on paper. ``display`` is the referential's label (sent as ``coding.display`` in FHIR); ``label`` is
the plainer wording shown to citizens. The category of a document is derived from its type, so the two never
disagree. « Autre document » uses LOINC 51855-5 (Patient Note), for what the person adds without a better type.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from dossier.models.documents import DocumentCategory

LOINC_SYSTEM = "http://loinc.org"


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str | Promise  # shown to the citizen
    display: str  # the label of the referential (TRE_A04), kept as is
    category: str  # a DocumentCategory value
    system: str = LOINC_SYSTEM

    @property
    def category_label(self) -> str:
        return str(DocumentCategory(self.category).label)


OTHER_TYPE_CODE = "51855-5"

_C = DocumentCategory
DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    # Ordonnances et soins
    DocumentType(
        "57833-6",
        _("Ordonnance de médicaments ou de produits de santé"),
        "Prescription de produits de santé",
        _C.PRESCRIPTIONS,
    ),
    DocumentType("57832-8", _("Prescription de soins"), "Prescription de soins", _C.PRESCRIPTIONS),
    DocumentType("55115-0", _("Demande d’examen d’imagerie"), "Demande d'actes d'imagerie", _C.PRESCRIPTIONS),
    DocumentType("57828-6", _("Autre prescription"), "Prescription (autre)", _C.PRESCRIPTIONS),
    DocumentType(
        "60593-1", _("Dispensation de médicaments (pharmacie)"), "Dispensation médicamenteuse", _C.PRESCRIPTIONS
    ),
    DocumentType("18776-5", _("Plan personnalisé de soins"), "Plan personnalisé de soins", _C.PRESCRIPTIONS),
    DocumentType(
        "11506-3",
        _("Compte rendu de soins infirmiers ou paramédicaux"),
        "CR ou fiche de suivi de soins par auxiliaire médical",
        _C.PRESCRIPTIONS,
    ),
    # Résultats d'examens
    DocumentType("11502-2", _("Résultats d’analyses de biologie médicale"), "CR d'examens biologiques", _C.RESULTS),
    DocumentType(
        "11526-1",
        _("Compte rendu d’anatomie et de cytologie pathologiques"),
        "CR d'anatomie et de cytologie pathologiques",
        _C.RESULTS,
    ),
    DocumentType("51969-4", _("Compte rendu de génétique moléculaire"), "CR de génétique moléculaire", _C.RESULTS),
    DocumentType(
        "70004-7", _("Compte rendu d’un autre examen (ECG, endoscopie…)"), "CR d'acte diagnostique (autre)", _C.RESULTS
    ),
    # Imagerie médicale
    DocumentType(
        "18748-4",
        _("Compte rendu d’imagerie médicale (radio, échographie, IRM…)"),
        "CR d'imagerie médicale",
        _C.IMAGING,
    ),
    DocumentType(
        "52040-3",
        _("Image médicale (photo, cliché)"),
        "Document encapsulant une image d'illustration non DICOM",
        _C.IMAGING,
    ),
    # Comptes rendus
    DocumentType("11488-4", _("Compte rendu de consultation"), "CR ou fiche de consultation ou de visite", _C.REPORTS),
    DocumentType(
        "11490-0",
        _("Lettre de liaison à la sortie de l’hôpital (lettre de sortie)"),
        "Lettre de liaison à la sortie d'un établissement de soins",
        _C.REPORTS,
    ),
    DocumentType("34112-3", _("Compte rendu d’hospitalisation"), "CR hospitalier (séjour)", _C.REPORTS),
    DocumentType("34133-9", _("Synthèse d’un épisode de soins"), "Synthèse d'épisode de soins", _C.REPORTS),
    DocumentType("60591-5", _("Synthèse médicale (volet de synthèse)"), "Synthèse du dossier médical", _C.REPORTS),
    DocumentType("34874-8", _("Compte rendu opératoire"), "CR opératoire", _C.REPORTS),
    DocumentType("15507-7", _("Compte rendu de passage aux urgences"), "CR de passage aux urgences", _C.REPORTS),
    DocumentType("15508-5", _("Compte rendu d’accouchement"), "CR d'accouchement", _C.REPORTS),
    DocumentType(
        "34794-8",
        _("Compte rendu de réunion de concertation pluridisciplinaire"),
        "CR de réunion de concertation pluridisciplinaire",
        _C.REPORTS,
    ),
    DocumentType("11505-5", _("Compte rendu d’acte thérapeutique"), "CR d'acte thérapeutique (autre)", _C.REPORTS),
    DocumentType("85208-7", _("Compte rendu de téléconsultation"), "CR de télémédecine", _C.REPORTS),
    # Certificats
    DocumentType("89601-9", _("Certificat médical"), "Certificat médical", _C.CERTIFICATES),
    DocumentType("86531-1", _("Attestation de sortie d’hospitalisation"), "Attestation de sortie", _C.CERTIFICATES),
    # Vaccinations
    DocumentType("87273-9", _("Certificat ou note de vaccination"), "Note de vaccination", _C.VACCINATIONS),
    DocumentType("11369-6", _("Historique des vaccinations (carnet)"), "Historique des vaccinations", _C.VACCINATIONS),
    DocumentType(
        "96874-3", _("Attestation de vaccination COVID-19"), "COVID-19 Attestation de vaccination", _C.VACCINATIONS
    ),
    # Prévention
    DocumentType(
        "68817-6",
        _("Bilan de santé et de prévention de l’enfant"),
        "Bilan de santé et de prévention de l'enfant",
        _C.PREVENTION,
    ),
    DocumentType("59283-2", _("Compte rendu d’examen de l’enfant"), "CR d'examen de l'enfant", _C.PREVENTION),
    DocumentType(
        "75492-9",
        _("Compte rendu de dépistage ou d’examen de prévention"),
        "CR d'acte diagnostique à visée préventive ou de dépistage",
        _C.PREVENTION,
    ),
    DocumentType("96173-0", _("Attestation de dépistage"), "Attestation de dépistage", _C.PREVENTION),
    # Autres
    DocumentType(OTHER_TYPE_CODE, _("Autre document"), "Patient Note", _C.OTHER),
)

_BY_CODE: dict[str, DocumentType] = {document_type.code: document_type for document_type in DOCUMENT_TYPES}
if len(_BY_CODE) != len(DOCUMENT_TYPES):  # a code twice would make the category of a type ambiguous
    raise RuntimeError("Code de type de document en double dans le référentiel.")


def document_type_get(code: str) -> DocumentType | None:
    return _BY_CODE.get(code)


def document_type_label(code: str) -> str:
    """The citizen's label of a type; a code outside the referential (sent by a professional's software) shows
    as such rather than disappearing."""
    document_type = _BY_CODE.get(code)
    return str(document_type.label) if document_type else str(_("Type %(code)s") % {"code": code})


def document_type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices grouped by category, in the order of the categories, for a ``<select>`` with ``<optgroup>``."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for category in DocumentCategory:
        options = [(t.code, str(t.label)) for t in DOCUMENT_TYPES if t.category == category.value]
        if options:
            groups.append((str(category.label), options))
    return groups
