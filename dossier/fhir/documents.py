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

The other way, for the paired apps (``document_reference_incoming``): a DocumentReference they send becomes the
arguments of ``document_add``, and its base64 content a file that is decoded as it is streamed
(``Base64Content``); ``document_reference_shared`` is the DocumentReference they read back, naming the person as
the app knows them.
"""

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pydantic
from django.utils.translation import gettext as _
from fhir.resources.R4B.documentreference import DocumentReference as FhirDocumentReference

from dossier.document_types import LOINC_SYSTEM, document_type_get
from dossier.fhir.bundle import CANONICAL_BASE, fhir_instant
from dossier.models import AuthorKind, Document, DocumentCategory
from dossier.models.documents import DocumentFormat
from dossier.uploads import FORMATS, DocumentRefused, refused_too_large

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


def document_reference_shared(
    document: Document, *, subject: dict, binary_url: str, citizen_user_id: int | None
) -> dict:
    """The DocumentReference as the API serves it to a paired app: the patient is ``subject`` (the person as the app
    knows them, never the INS), the content is at ``binary_url``; ``citizen_user_id`` as for
    ``document_reference_resource``.

    ``attachment.hash`` (R4: SHA-1 of the content) is left out: the dossier records the SHA-256 when the file is
    added, given in its extension, and reading every file to hash it again would make a search cost its files.
    """
    resource = document_reference_resource(
        document,
        patient_ref=subject.get("reference", ""),
        patient_display="",
        citizen_user_id=citizen_user_id,
        binary_url=binary_url,
        sha1_base64="",
    )
    resource["subject"] = subject
    del resource["content"][0]["attachment"]["hash"]
    for author in resource["author"]:
        if not author.get("display"):
            author.pop("display", None)
        if author.get("reference") == "":
            del author["reference"]
    return resource


# --- From a paired app: DocumentReference (and its content in base64) → the arguments of ``document_add`` ----------

# The declared ``contentType`` of each accepted format (IHE XDS and the CI-SIS give CDA documents text/xml).
DECLARED_CONTENT_TYPES: dict[str, str] = {
    "application/pdf": DocumentFormat.PDF,
    "image/jpeg": DocumentFormat.JPEG,
    "image/png": DocumentFormat.PNG,
    "text/xml": DocumentFormat.CDA,
    "application/xml": DocumentFormat.CDA,
    "application/hl7-v3+xml": DocumentFormat.CDA,
}
# DMP confidentiality codes that would hide the document from the person themselves: meaningless for a document
# a service adds to the person's own space, so refused rather than silently dropped.
REFUSED_CONFIDENTIALITY = frozenset({"INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"})
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class DocumentIssue:
    expression: str  # FHIRPath of the element, e.g. "DocumentReference.type"
    message: str  # in French


class DocumentReferenceInvalid(Exception):
    """The resource breaks a FHIR or a Mon espace santé rule; ``issues`` says which, where."""

    def __init__(self, issues: list[DocumentIssue]):
        self.issues = issues
        super().__init__(" ".join(f"{issue.expression} : {issue.message}" for issue in issues))


@dataclass(frozen=True)
class IncomingDocument:
    """A DocumentReference sent by an app, checked: the arguments of ``document_add``, and what the content must
    match."""

    title: str
    type_code: str
    act_date: date
    hidden: bool
    file_name: str
    content_type: str
    declared_format: str
    data: str | None  # the content in base64, when it is inline
    url: str | None  # else where it is: the fullUrl of a Binary of the same Bundle
    size: int | None
    sha1: bytes | None


def fhir_model_validate(model: type, resource: dict, root: str):
    """``resource`` as a ``fhir.resources`` R4B model; ``DocumentReferenceInvalid`` with every FHIR R4 structure
    problem, in French with its path, otherwise."""
    try:
        return model.model_validate(resource)
    except pydantic.ValidationError as error:
        issues = [
            DocumentIssue(path, _pydantic_message(detail, path))
            for detail in error.errors()
            for path in [_fhir_path(root, detail.get("loc", ()))]
        ]
        raise DocumentReferenceInvalid(list(dict.fromkeys(issues))) from None


def _fhir_path(root: str, loc: tuple) -> str:
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in {"__root__", "resource_type"}:
            path += f".{part}"
    return path


_DATE_ELEMENTS = (".date", ".start", ".end", "DateTime", "Date", ".creation")


def _pydantic_message(detail: dict, path: str) -> str:
    kind = detail.get("type", "")
    if kind == "missing" or kind.endswith(".missing"):
        return _("Élément obligatoire absent.")
    if kind == "extra_forbidden":
        return _("Élément inconnu dans une ressource FHIR R4.")
    if "date" in kind or "time" in kind or path.endswith(_DATE_ELEMENTS):
        return _("Date invalide (format attendu : AAAA-MM-JJ, ou date et heure avec fuseau horaire).")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return _("Type de valeur invalide pour cet élément.")
    if kind == "string_pattern_mismatch":
        return _("Format invalide pour cet élément.")
    return _("Valeur invalide.")


def _without_data(resource: dict) -> dict:
    """A copy of ``resource`` without the base64 contents: they are checked while decoded, not held twice."""
    copy = dict(resource)
    copy.pop("data", None)
    content = copy.get("content")
    if isinstance(content, list):
        copy["content"] = [_content_without_data(item) for item in content]
    return copy


def _content_without_data(item):
    if isinstance(item, dict) and isinstance(item.get("attachment"), dict) and "data" in item["attachment"]:
        attachment = {key: value for key, value in item["attachment"].items() if key != "data"}
        return {**item, "attachment": attachment}
    return item


def _media_type(value: str) -> str:
    return value.split(";")[0].strip().lower()


def document_reference_incoming(resource: object) -> IncomingDocument:
    """Check a DocumentReference sent by an app and return what ``document_add`` needs; raise
    ``DocumentReferenceInvalid`` with every problem found (the content itself is checked when it is stored).

    Mapping (PDSm / IHE MHD): ``type`` (LOINC) → type of document; ``context.period.start`` → date of the act
    (required: the dossier files documents by it); ``description`` → title (else ``attachment.title``, else the
    label of the type); ``securityLabel`` ``MASQUE_PS`` → hidden from professionals; ``content[0].attachment``:
    ``contentType`` (required), and either ``data`` (base64) or ``url`` (a Binary of the same Bundle); ``size`` and
    ``hash`` (SHA-1), when given, must match the content.
    """
    root = "DocumentReference"
    if not isinstance(resource, dict) or resource.get("resourceType") != root:
        raise DocumentReferenceInvalid(
            [DocumentIssue(f"{root}.resourceType", _("La ressource doit être de type « DocumentReference »."))]
        )
    model = fhir_model_validate(FhirDocumentReference, _without_data(resource), root)
    issues: list[DocumentIssue] = []
    if resource["status"] != "current":
        issues.append(DocumentIssue(f"{root}.status", _("Un document ajouté doit avoir le statut « current ».")))
    if resource.get("relatesTo"):
        issues.append(
            DocumentIssue(
                f"{root}.relatesTo",
                _("Le remplacement ou la transformation d’un document existant n’est pas pris en charge."),
            )
        )
    type_code = _type_code(resource, issues)
    act_date = _act_date(model, issues)
    hidden = _hidden(resource, issues)
    if not resource.get("subject"):
        # Who the person is (their idPe) is checked by the API, which knows the pairing.
        issues.append(DocumentIssue(f"{root}.subject", _("Le patient (subject, par son idPe) est obligatoire.")))
    content = resource.get("content") or []
    if len(content) != 1:
        issues.append(DocumentIssue(f"{root}.content", _("Un document porte exactement un contenu (content).")))
        raise DocumentReferenceInvalid(issues)
    attachment = content[0]["attachment"]
    path = f"{root}.content[0].attachment"
    content_type = _media_type(attachment.get("contentType", ""))
    declared_format = DECLARED_CONTENT_TYPES.get(content_type)
    if not content_type:
        issues.append(DocumentIssue(f"{path}.contentType", _("Le type MIME du contenu (contentType) est obligatoire.")))
    elif declared_format is None:
        issues.append(
            DocumentIssue(
                f"{path}.contentType",
                _("Type de contenu « %(type)s » non accepté. Formats acceptés : PDF, JPEG, PNG et CDA R2 (XML).")
                % {"type": content_type},
            )
        )
    data, url = attachment.get("data"), attachment.get("url")
    if (data is None) == (url is None):
        issues.append(
            DocumentIssue(
                path,
                _(
                    "Le contenu doit être donné soit en base64 dans « data », "
                    "soit par « url » vers un Binary du Bundle."
                ),
            )
        )
    elif data is not None and not isinstance(data, str):
        issues.append(DocumentIssue(f"{path}.data", _("Le contenu doit être une chaîne en base64.")))
    sha1 = None
    if attachment.get("hash") is not None:
        try:
            sha1 = base64.b64decode(attachment["hash"], validate=True)
        except (binascii.Error, ValueError):
            sha1 = b""
        if len(sha1) != hashlib.sha1(usedforsecurity=False).digest_size:
            issues.append(
                DocumentIssue(f"{path}.hash", _("L’empreinte (hash) doit être le SHA-1 du contenu, en base64."))
            )
    if issues:
        raise DocumentReferenceInvalid(issues)

    document_type = document_type_get(type_code)
    file_name = attachment.get("title") or f"document{FORMATS[declared_format].extensions[0]}"
    title = (
        resource.get("description") or attachment.get("title") or (str(document_type.label) if document_type else "")
    )
    return IncomingDocument(
        title=title,
        type_code=type_code,
        act_date=act_date,
        hidden=hidden,
        file_name=file_name,
        content_type=content_type,
        declared_format=declared_format,
        data=data,
        url=url,
        size=attachment.get("size"),
        sha1=sha1,
    )


def _type_code(resource: dict, issues: list[DocumentIssue]) -> str:
    codings = [
        coding
        for coding in (resource.get("type") or {}).get("coding") or []
        if coding.get("system") == LOINC_SYSTEM and coding.get("code")
    ]
    if not codings:
        issues.append(
            DocumentIssue(
                "DocumentReference.type",
                _("Le type de document est obligatoire, codé en LOINC (système %(system)s).")
                % {"system": LOINC_SYSTEM},
            )
        )
        return ""
    return codings[0]["code"]


def _act_date(model: FhirDocumentReference, issues: list[DocumentIssue]) -> date | None:
    path = "DocumentReference.context.period.start"
    period = model.context.period if model.context else None
    value = period.start if period else None
    if value is None:
        issues.append(DocumentIssue(path, _("La date de l’acte (context.period.start) est obligatoire.")))
        return None
    if isinstance(value, datetime):
        # A time says which day it was where the person lives.
        return value.astimezone(PARIS).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    issues.append(DocumentIssue(path, _("La date de l’acte doit être complète : jour, mois et année.")))
    return None


def _hidden(resource: dict, issues: list[DocumentIssue]) -> bool:
    hidden = False
    for index, label in enumerate(resource.get("securityLabel") or []):
        for coding in label.get("coding") or []:
            code = coding.get("code")
            if coding.get("system") not in (DMP_CONFIDENTIALITY_SYSTEM, None):
                continue
            if code == HIDDEN_FROM_PROFESSIONALS:
                hidden = True
            elif code in REFUSED_CONFIDENTIALITY:
                issues.append(
                    DocumentIssue(
                        f"DocumentReference.securityLabel[{index}]",
                        _(
                            "Le code de confidentialité « %(code)s » masquerait le document à la personne elle-même : "
                            "il n’est pas accepté."
                        )
                        % {"code": code},
                    )
                )
    return hidden


# --- Base64 content, decoded as it is read ----------------------------------------------------------------------


class InvalidBase64(DocumentRefused):
    def __init__(self) -> None:
        super().__init__(
            _(
                "Le contenu n’est pas du base64 valide (alphabet standard, sans espace ni saut de ligne, "
                "complété par « = »)."
            ),
            "base64",
        )


class Base64Content:
    """The content of an ``Attachment.data`` or a ``Binary.data``, as a file that ``document_add`` streams.

    The size is known from the length of the text before anything is decoded, so a content above ``max_bytes`` is
    refused at once; then each ``read`` decodes only the next block (the decoded file is never held whole), checking
    the alphabet strictly, and updates the SHA-1 that ``attachment.hash`` is compared with.
    """

    def __init__(self, data: str, *, name: str, max_bytes: int) -> None:
        length = len(data)
        if length % 4:
            raise InvalidBase64()
        padding = len(data) - len(data.rstrip("=")) if length else 0
        if padding > 2 or data.find("=", 0, length - padding) >= 0:
            raise InvalidBase64()
        self.size = length // 4 * 3 - padding
        if self.size > max_bytes:
            raise refused_too_large(max_bytes)
        self.name = name
        self._data = data
        self.seek(0)

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0:
            raise OSError("Seul le retour au début du contenu est possible.")
        self._position = 0
        self._buffer = b""
        self.sha1 = hashlib.sha1(usedforsecurity=False)  # FHIR R4's Attachment.hash, not a security control
        return 0

    def read(self, size: int = -1) -> bytes:
        wanted = self.size if size is None or size < 0 else size
        while len(self._buffer) < wanted and self._position < len(self._data):
            characters = max(4, -(-(wanted - len(self._buffer)) // 3) * 4)
            block = self._data[self._position : self._position + characters]
            self._position += len(block)
            try:
                self._buffer += base64.b64decode(block, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidBase64() from None
        data, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        self.sha1.update(data)
        return data

    def close(self) -> None:
        self._buffer = b""
