"""A document of the dossier as a FHIR R4 DocumentReference and Binary, after the CI-SIS PDSm / IHE MHD mapping.

XDS metadata → DocumentReference (as far as the dossier records it):
- ``uniqueId`` → ``masterIdentifier`` (the document's UUID as a URN);
- ``typeCode`` → ``type`` (LOINC, with the label of the CI-SIS referential);
- ``classCode`` → ``category`` (here the simplified category shown to citizens);
- ``serviceStartTime`` → ``context.period.start`` (the date of the act); ``creationTime``/registration → ``date``;
- ``author`` → ``author`` (a display, and the Patient when the citizen added the document);
- ``title`` → ``description``; ``confidentialityCode`` → ``securityLabel``: ``N`` (normal) always, plus the DMP
  code ``MASQUE_PS`` when the citizen hid the document from professionals;
- ``mimeType``, ``size``, ``hash`` → ``content.attachment``; ``formatCode`` → ``content.format``.

``attachment.hash`` is, in R4, the base64 of the SHA-1 of the content: the exporter computes it while it streams the
file. The dossier itself identifies content by SHA-256 (recorded at upload, checked at export); that digest is given
too, in an extension, so a reader can check the file against what the dossier recorded.
"""

import uuid

from dossier.document_types import LOINC_SYSTEM, document_type_get
from dossier.fhir.bundle import CANONICAL_BASE, fhir_instant
from dossier.models import AuthorKind, Document, DocumentCategory

CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
DMP_CONFIDENTIALITY_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.13"
HIDDEN_FROM_PROFESSIONALS = "MASQUE_PS"
FORMAT_CODE_SYSTEM = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"
MIME_TYPE_SUFFICIENT = "urn:ihe:iti:xds:2017:mimeTypeSufficient"
CATEGORY_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/categorie-document"
SHA256_EXTENSION = f"{CANONICAL_BASE}/StructureDefinition/attachment-sha256"
SOURCE_EXTENSION = f"{CANONICAL_BASE}/StructureDefinition/document-source"


def binary_id(document: Document) -> uuid.UUID:
    """The Binary's id, derived from the document's so that two exports of the same document agree."""
    return uuid.uuid5(document.public_id, "Binary")


def binary_resource(document: Document, *, document_reference_url: str) -> dict:
    """The Binary without its ``data`` (the exporter streams it): the DocumentReference is its security context,
    so the document's confidentiality applies to its content too."""
    return {
        "resourceType": "Binary",
        "id": str(binary_id(document)),
        "contentType": document.content_type,
        "securityContext": {"reference": document_reference_url},
    }


def document_reference_resource(
    document: Document,
    *,
    patient_ref: str,
    patient_display: str,
    citizen_user_id: int | None,
    binary_url: str,
    sha1_base64: str,
    type_display: str | None = None,
) -> dict:
    """The DocumentReference of ``document``; ``sha1_base64`` is the digest of the bytes actually exported.

    ``citizen_user_id`` is the account of the citizen the document belongs to: a document the citizen added
    names the Patient as its author; one added by a legal representative names that person.
    """
    type_coding = {"system": LOINC_SYSTEM, "code": document.type_code}
    # The referential's label (TRE_A04-TypeDocument-LOINC); a code outside it (sent by a professional's software)
    # keeps its code alone: a display must come from the code system, never be made up.
    known = document_type_get(document.type_code)
    display = type_display or (known.display if known else None)
    if display:
        type_coding["display"] = display
    security = [{"system": CONFIDENTIALITY_SYSTEM, "code": "N", "display": "normal"}]
    if document.hidden_from_professionals:
        security.append(
            {
                "system": DMP_CONFIDENTIALITY_SYSTEM,
                "code": HIDDEN_FROM_PROFESSIONALS,
                "display": "Document masqué aux professionnels de santé",
            }
        )
    attachment = {
        "extension": [{"url": SHA256_EXTENSION, "valueString": document.sha256}],
        "contentType": document.content_type,
        "url": binary_url,
        "size": document.size_bytes,
        "hash": sha1_base64,
        "title": document.original_name or document.title,
    }
    resource = {
        "resourceType": "DocumentReference",
        "id": str(document.public_id),
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document.public_id}"},
        "status": "current",
        "type": {"coding": [type_coding]},
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": document.category,
                        "display": str(DocumentCategory(document.category).label),
                    }
                ]
            }
        ],
        "subject": {"reference": patient_ref},
        "date": fhir_instant(document.created_at),
        "author": [
            _author(document, patient_ref=patient_ref, patient_display=patient_display, user_id=citizen_user_id)
        ],
        "description": document.title,
        "securityLabel": [{"coding": [coding]} for coding in security],
        "content": [
            {
                "attachment": attachment,
                "format": {
                    "system": FORMAT_CODE_SYSTEM,
                    "code": MIME_TYPE_SUFFICIENT,
                    "display": "mimeType Sufficient",
                },
            }
        ],
        "context": {"period": {"start": document.act_date.isoformat()}},
    }
    if document.source_label:
        resource["extension"] = [{"url": SOURCE_EXTENSION, "valueString": document.source_label}]
    return resource


def _author(document: Document, *, patient_ref: str, patient_display: str, user_id: int | None) -> dict:
    if document.author_kind == AuthorKind.CITIZEN:
        if document.author_user_id is None or document.author_user_id == user_id:
            return {"reference": patient_ref, "display": patient_display}
        # Added by a legal representative for their child.
        return {"type": "RelatedPerson", "display": _user_name(document) or document.author_label}
    kind = "Practitioner" if document.author_kind == AuthorKind.PROFESSIONAL else "Device"
    return {"type": kind, "display": document.author_label}


def _user_name(document: Document) -> str:
    user = document.author_user
    return user.get_full_name() if user is not None else ""
