"""FHIR DocumentReference and Binary for the paired apps (CI-SIS PDSm, built on IHE MHD).

- Write, with ``patient/DocumentReference.c``: a ProvideDocumentBundle on ``POST /api/fhir/`` (a transaction with
  an optional List — the submission set, checked then not kept —, one DocumentReference and the Binary its
  ``attachment.url`` names by ``fullUrl``), or ``POST /api/fhir/DocumentReference`` with the content inline in
  ``attachment.data``. Both go through ``document_add``: the same file rules as the citizen's pages (format
  recognised by content, size limit, polyglots refused), the app as author and source, one journal row; nothing
  is left behind when anything is refused (the stored file goes with the rolled-back row).
- Read, with ``patient/DocumentReference.r``: the metadata (``GET DocumentReference/<id>``) and the content
  (``GET Binary/<id>``: the bytes with the document's own type, or a FHIR Binary in base64 when the client asks
  for ``application/fhir+json`` only); search, with ``.s``: by type, date of the act (``period``) and date added
  (``date``), newest act first, keyset pages linked by a signed ``next`` cursor, one query whatever the page size.
- The person is named by the app's idPe (``subject.identifier``, or ``Patient/<idPe>``), never by the INS. The
  citizen's own apps see the documents hidden from professionals; another citizen's document is a 404.
"""

import base64
import hashlib
import json
import re
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from fhir.resources.R4B.binary import Binary as FhirBinary
from fhir.resources.R4B.list import List as FhirList
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from dossier.fhir.bundle import BASE64_BLOCK, fhir_instant
from dossier.fhir.documents import (
    PARIS,
    Base64Content,
    DocumentIssue,
    DocumentReferenceInvalid,
    IncomingDocument,
    InvalidBase64,
    binary_resource,
    document_reference_incoming,
    document_reference_shared,
    fhir_model_validate,
)
from dossier.models import AuthorKind, Document
from dossier.selectors.documents import DocumentSearch, document_get, documents_search
from dossier.services.documents import DocumentRefused, document_add
from dossier.uploads import FORMATS, refused_too_large
from dossier.views.documents import file_response
from mes.api.app_views import IDPE_MISMATCH, IDPE_SYSTEM, FHIRAppView
from mes.api.exceptions import UnprocessableEntity
from mes.api.fhir import FHIR_JSON, FHIRJSONRenderer
from mes.api.registry import FHIRResource
from mes.api.search import (
    CURSOR_PARAM,
    DEFAULT_COUNT,
    INVALID_CURSOR,
    MAX_COUNT,
    InvalidSearch,
    cursor_dump,
    cursor_load,
    search_count,
)

DOCUMENT_REFERENCE = "DocumentReference"
ATTACHMENT = "DocumentReference.content[0].attachment"
MHD_MINIMAL_DOCUMENT_REFERENCE = (
    "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Minimal.DocumentReference"
)
# The arguments of ``document_add`` whose errors a ``ValidationError`` names, and the element each comes from.
FIELD_PATHS = {
    "type_code": "DocumentReference.type",
    "act_date": "DocumentReference.context.period.start",
    "title": "DocumentReference.description",
}
# A body a little larger than the base64 of the largest document is refused before it is parsed. JSON may escape
# « / » as « \/ »: twice the base64 length covers any encoder, plus room for the metadata.
BODY_METADATA_ALLOWANCE = 1024 * 1024

SEARCH_PARAMS = frozenset({"patient", "type", "date", "period", "_count", "_cursor"})
CURSOR_SALT = "dossier.api.documents.cursor"
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})$")
_DATE_PARAM = re.compile(r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?(?P<value>\d{4}.*)$")
_SUPPORTED_PREFIXES = ("eq", "ge", "gt", "le", "lt")


# --- The person, as the app names them -----------------------------------------------------------------------


def check_subject(view: FHIRAppView, subject: object, *, path: str) -> None:
    """The person a resource is about, as a paired app names them: its idPe, in ``identifier`` (system
    ``IDPE_SYSTEM``) and/or as the reference ``Patient/<idPe>``. Another person, or another identifier system (an
    app does not know the INS), is a 403; no identifier at all is a 422 at ``path``."""
    subject = subject if isinstance(subject, dict) else {}
    identifier, reference = subject.get("identifier"), subject.get("reference")
    if not identifier and not reference:
        raise UnprocessableEntity(
            _("Le patient doit être désigné par son idPe : identifier.system « %(system)s » et identifier.value.")
            % {"system": IDPE_SYSTEM},
            expressions=[[f"{path}.identifier"]],
        )
    if identifier:
        if not isinstance(identifier, dict) or identifier.get("system") != IDPE_SYSTEM:
            raise exceptions.PermissionDenied(IDPE_MISMATCH)
        view.check_idpe(identifier.get("value"))
    if reference:
        match = _PATIENT_REFERENCE.search(reference) if isinstance(reference, str) else None
        if match is None:
            raise exceptions.PermissionDenied(IDPE_MISMATCH)
        view.check_idpe(match.group(1))


def patient_subject(view: FHIRAppView) -> dict:
    """The person as the API shows them to the app: its idPe, and the Patient resource of the API that carries it."""
    idpe = view.access.pairing.idpe
    return {"reference": f"Patient/{idpe}", "identifier": {"system": IDPE_SYSTEM, "value": idpe}}


def _shared(view: FHIRAppView, document: Document) -> dict:
    return document_reference_shared(
        document,
        subject=patient_subject(view),
        binary_url=f"Binary/{document.public_id}",
        citizen_user_id=view.access.citizen.user_id,
    )


def _invalid(issues: list[DocumentIssue]) -> UnprocessableEntity:
    return UnprocessableEntity(
        [issue.message for issue in issues], expressions=[[issue.expression] for issue in issues]
    )


def _incoming(resource: object) -> IncomingDocument:
    try:
        return document_reference_incoming(resource)
    except DocumentReferenceInvalid as error:
        raise _invalid(error.issues) from None


# --- Writing ---------------------------------------------------------------------------------------------------


def _mismatches(incoming: IncomingDocument, document: Document, content: Base64Content) -> list[DocumentIssue]:
    """What the metadata said about the content and the content belies (checked once it has been read)."""
    issues = []
    if document.format != incoming.declared_format:
        issues.append(
            DocumentIssue(
                f"{ATTACHMENT}.contentType",
                _("Le contenu est un fichier %(real)s, alors que contentType annonce « %(declared)s ».")
                % {"real": FORMATS[document.format].label, "declared": incoming.content_type},
            )
        )
    if incoming.size is not None and incoming.size != document.size_bytes:
        issues.append(
            DocumentIssue(
                f"{ATTACHMENT}.size",
                _("La taille annoncée (%(declared)s octets) n’est pas celle du contenu (%(real)s octets).")
                % {"declared": incoming.size, "real": document.size_bytes},
            )
        )
    if incoming.sha1 is not None and incoming.sha1 != content.sha1.digest():
        issues.append(
            DocumentIssue(f"{ATTACHMENT}.hash", "L’empreinte SHA-1 annoncée (hash) n’est pas celle du contenu reçu.")
        )
    return issues


def document_store(view: FHIRAppView, incoming: IncomingDocument, *, data: object, data_path: str) -> Document:
    """Add the document the app sent, its content being ``data`` (base64, at ``data_path`` in the request).

    ``document_add`` streams the decoded content to the storage while it checks it; the checks against the declared
    metadata run after, inside the same transaction, so a refusal there takes the row and the stored file back.
    """
    if not isinstance(data, str):
        raise UnprocessableEntity("Le contenu doit être une chaîne en base64.", expressions=[[data_path]])
    app_name = view.access.pairing.habilitation.name
    try:
        content = Base64Content(data, name=incoming.file_name, max_bytes=settings.DOSSIER_DOCUMENT_MAX_BYTES)
        with transaction.atomic():
            document = document_add(
                access=view.access,
                upload=content,
                title=incoming.title,
                type_code=incoming.type_code,
                act_date=incoming.act_date,
                hidden=incoming.hidden,
                author_kind=AuthorKind.APP,
                author_label=app_name,
                source_label=app_name,
            )
            issues = _mismatches(incoming, document, content)
            if issues:
                raise DocumentReferenceInvalid(issues)
    except InvalidBase64 as error:
        raise UnprocessableEntity(error.message, expressions=[[data_path]]) from None
    except DocumentRefused as error:
        paths = [ATTACHMENT] if data_path.startswith(ATTACHMENT) else [ATTACHMENT, data_path]
        raise UnprocessableEntity(error.message, expressions=[paths]) from None
    except DjangoValidationError as error:
        pairs = [(message, field) for field, messages in error.message_dict.items() for message in messages]
        raise UnprocessableEntity(
            [message for message, _field in pairs],
            expressions=[[FIELD_PATHS.get(field, DOCUMENT_REFERENCE)] for _message, field in pairs],
        ) from None
    except DocumentReferenceInvalid as error:
        raise _invalid(error.issues) from None
    return document


def _version_headers(request: Request, document: Document) -> dict:
    path = reverse("fhir_document_reference", kwargs={"resource_id": str(document.public_id)})
    return {
        "Location": request.build_absolute_uri(f"{path}/_history/1"),
        "ETag": 'W/"1"',
        "Last-Modified": document.created_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }


def _max_body_bytes() -> int:
    return 2 * (-(-settings.DOSSIER_DOCUMENT_MAX_BYTES // 3) * 4) + BODY_METADATA_ALLOWANCE


def provide_document_bundle(view: FHIRAppView, request: Request, bundle: dict) -> Response:
    """``POST /api/fhir/`` with a ProvideDocumentBundle (IHE MHD ITI-65, PDSm): all of it, or nothing."""
    view.require(DOCUMENT_REFERENCE, "c")
    kinds: list[str] = []
    documents: list[dict] = []
    binaries: dict[str, dict] = {}
    submission_sets: list[dict] = []
    seen_urls: set[str] = set()
    for index, entry in enumerate(bundle["entry"]):
        path = f"Bundle.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise UnprocessableEntity("Chaque entrée du Bundle porte une ressource.", expressions=[[path]])
        kind = resource.get("resourceType")
        if kind not in ("List", DOCUMENT_REFERENCE, "Binary"):
            raise UnprocessableEntity(
                "Un ProvideDocumentBundle ne porte que des ressources List, DocumentReference et Binary.",
                expressions=[[f"{path}.resource.resourceType"]],
            )
        entry_request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
        if entry_request.get("method") != "POST" or entry_request.get("url") != kind:
            raise UnprocessableEntity(
                f"Chaque entrée est une création : request.method « POST » et request.url « {kind} ».",
                expressions=[[f"{path}.request"]],
            )
        full_url = entry.get("fullUrl")
        if not isinstance(full_url, str) or not full_url or full_url in seen_urls:
            raise UnprocessableEntity(
                "Chaque entrée a un fullUrl qui lui est propre (urn:uuid:…).", expressions=[[f"{path}.fullUrl"]]
            )
        seen_urls.add(full_url)
        kinds.append(kind)
        if kind == DOCUMENT_REFERENCE:
            documents.append(resource)
        elif kind == "Binary":
            binaries[full_url] = resource
        else:
            _check_structure(FhirList, resource, "List")
            submission_sets.append(resource)
    if len(documents) != 1 or len(submission_sets) > 1:
        raise UnprocessableEntity(
            "Le Bundle porte un seul DocumentReference (et au plus une List, le lot de soumission).",
            expressions=[["Bundle.entry"]],
        )
    for binary in binaries.values():
        _check_structure(FhirBinary, {key: value for key, value in binary.items() if key != "data"}, "Binary")

    incoming = _incoming(documents[0])
    check_subject(view, documents[0].get("subject"), path="DocumentReference.subject")
    for submission_set in submission_sets:
        # Not kept, but it may not name another person either.
        if submission_set.get("subject"):
            check_subject(view, submission_set["subject"], path="List.subject")
    if incoming.url is None:
        if binaries:
            raise UnprocessableEntity(
                "Le Binary du Bundle n’est désigné par aucun document (attachment.url).", expressions=[["Binary"]]
            )
        data, data_path = incoming.data, f"{ATTACHMENT}.data"
    else:
        if incoming.url not in binaries or len(binaries) != 1:
            raise UnprocessableEntity(
                "attachment.url doit désigner, par son fullUrl, le seul Binary du Bundle.",
                expressions=[[f"{ATTACHMENT}.url"]],
            )
        binary = binaries[incoming.url]
        if str(binary.get("contentType", "")).split(";")[0].strip().lower() != incoming.content_type:
            raise UnprocessableEntity(
                "Le contentType du Binary doit être celui du document (attachment.contentType).",
                expressions=[["Binary.contentType"]],
            )
        if "data" not in binary:
            raise UnprocessableEntity(
                "Le Binary doit porter le contenu (data, en base64).", expressions=[["Binary.data"]]
            )
        data, data_path = binary["data"], "Binary.data"
    document = document_store(view, incoming, data=data, data_path=data_path)

    created = {"lastModified": fhir_instant(document.created_at), "etag": 'W/"1"'}
    responses = {
        DOCUMENT_REFERENCE: {
            "status": "201 Created",
            "location": f"DocumentReference/{document.public_id}/_history/1",
            **created,
        },
        "Binary": {"status": "201 Created", "location": f"Binary/{document.public_id}/_history/1", **created},
        "List": {
            "status": "200 OK",
            "outcome": {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "information",
                        "code": "informational",
                        "diagnostics": "Le lot de soumission (List) est valide ; seul le document est conservé.",
                    }
                ],
            },
        },
    }
    body = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "timestamp": fhir_instant(timezone.now()),
        "entry": [{"response": responses[kind]} for kind in kinds],
    }
    return view.fhir_response(body)


def _check_structure(model: type, resource: dict, root: str) -> None:
    try:
        fhir_model_validate(model, resource, root)
    except DocumentReferenceInvalid as error:
        raise _invalid(error.issues) from None


# --- Searching -------------------------------------------------------------------------------------------------


def _bad_parameter(name: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({name: [message]})


def _date_range(name: str, raw: str) -> tuple[str, datetime, datetime]:
    """(prefix, start, end): a FHIR date search value as the instants it covers, ``[start, end)``; a date without
    a time is a day (a month, a year) in French time."""
    match = _DATE_PARAM.match(raw)
    if match is None:
        raise _bad_parameter(name, f"Date invalide : « {raw} » (attendu : [préfixe]AAAA[-MM[-JJ[Thh:mm:ss+hh:mm]]]).")
    prefix, value = match.group("prefix") or "eq", match.group("value")
    if prefix not in _SUPPORTED_PREFIXES:
        raise _bad_parameter(name, f"Préfixe « {prefix} » non pris en charge (préfixes permis : eq, ge, gt, le, lt).")
    try:
        if len(value) == 4:
            start = datetime(int(value), 1, 1, tzinfo=PARIS)
            end = datetime(start.year + 1, 1, 1, tzinfo=PARIS)
        elif len(value) == 7:
            start = datetime.strptime(value, "%Y-%m").replace(tzinfo=PARIS)
            end = (start + timedelta(days=32)).replace(day=1)
        elif len(value) == 10:
            start = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=PARIS)
            end = (start + timedelta(days=1)).replace(tzinfo=PARIS)
        else:
            start = datetime.fromisoformat(value)
            if start.tzinfo is None:
                raise ValueError(value)
            end = start + timedelta(seconds=1)
    except ValueError:
        raise _bad_parameter(
            name, f"Date invalide : « {raw} » (une heure s’accompagne de son fuseau, par exemple +01:00 ou Z)."
        ) from None
    return prefix, start, end


def _bounds(name: str, values: list[str]) -> tuple[datetime | None, datetime | None]:
    """The instants ``[lower, upper)`` that every value of a repeated date parameter allows."""
    lower = upper = None
    for raw in values:
        prefix, start, end = _date_range(name, raw)
        low, high = {
            "eq": (start, end),
            "ge": (start, None),
            "gt": (end, None),
            "le": (None, end),
            "lt": (None, start),
        }[prefix]
        if low is not None:
            lower = low if lower is None else max(lower, low)
        if high is not None:
            upper = high if upper is None else min(upper, high)
    return lower, upper


def _days(lower: datetime | None, upper: datetime | None) -> tuple[date | None, date | None]:
    """The days whose span meets ``[lower, upper)``, as ``[from, until)``: the date of the act has no time."""
    act_from = lower.astimezone(PARIS).date() if lower is not None else None
    act_until = None
    if upper is not None:
        local = upper.astimezone(PARIS)
        midnight = (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
        act_until = local.date() if midnight else local.date() + timedelta(days=1)
    return act_from, act_until


def _type_codes(values: list[str]) -> frozenset[str]:
    codes = set()
    for value in values:
        for token in value.split(","):
            system, separator, code = token.rpartition("|")
            if not code or (separator and system not in ("", "http://loinc.org")):
                raise _bad_parameter(
                    "type", f"Type invalide : « {token} » (attendu : http://loinc.org|<code> ou <code>)."
                )
            codes.add(code)
    return frozenset(codes)


def _query_digest(view: FHIRAppView, params) -> str:
    """What a cursor is bound to: the pairing and the filters (not ``_count``, which may change from page to page)."""
    items = sorted(
        (name, value) for name in params if name not in ("_cursor", "_count") for value in params.getlist(name)
    )
    return hashlib.sha256(json.dumps([view.access.pairing.pk, items]).encode()).hexdigest()[:32]


def _cursor_load(view: FHIRAppView, params) -> tuple[date, int] | None:
    raw = params.get("_cursor")
    if raw is None:
        return None
    # A cursor serves the pairing and the filters it was made for, nothing else.
    position = cursor_load(raw, salt=CURSOR_SALT, context=_query_digest(view, params))
    try:
        act_date, pk = position
        return date.fromisoformat(act_date), int(pk)
    except (TypeError, ValueError):
        raise InvalidSearch(CURSOR_PARAM, INVALID_CURSOR) from None


def _cursor_dump(view: FHIRAppView, params, document: Document) -> str:
    return cursor_dump(
        [document.act_date.isoformat(), document.pk], salt=CURSOR_SALT, context=_query_digest(view, params)
    )


def _page_url(request: Request, params, cursor: str | None = None) -> str:
    items = [(name, value) for name in params if name != "_cursor" for value in params.getlist(name)]
    if cursor is not None:
        items.append(("_cursor", cursor))
    return request.build_absolute_uri(request.path + (f"?{urlencode(items)}" if items else ""))


def _parse_id(resource_id: str) -> UUID:
    try:
        return UUID(resource_id)
    except ValueError:
        raise exceptions.NotFound() from None


# --- Views -----------------------------------------------------------------------------------------------------

_ERRORS = {
    400: OpenApiResponse(description="Paramètre invalide (OperationOutcome)"),
    401: OpenApiResponse(description="Jeton absent ou invalide (OperationOutcome)"),
    403: OpenApiResponse(description="Consentement absent, ou idPe d’un autre patient (OperationOutcome)"),
}
_SEARCH_PARAMETERS = [
    OpenApiParameter("patient", OpenApiTypes.STR, description="Patient/<idPe>, <idPe> ou <système>|<idPe>"),
    OpenApiParameter("type", OpenApiTypes.STR, description="Type LOINC : http://loinc.org|<code> ou <code>, séparés"),
    OpenApiParameter("date", OpenApiTypes.STR, many=True, description="Date d’ajout, préfixes eq ge gt le lt"),
    OpenApiParameter("period", OpenApiTypes.STR, many=True, description="Date de l’acte, préfixes eq ge gt le lt"),
    OpenApiParameter(
        "_count", OpenApiTypes.INT, description=f"Taille de page ({DEFAULT_COUNT} par défaut, {MAX_COUNT} au plus)"
    ),
    OpenApiParameter("_cursor", OpenApiTypes.STR, description="Curseur signé, à reprendre du lien « next »"),
]


class DocumentReferenceTypeView(FHIRAppView):
    """``/api/fhir/DocumentReference``: create (content inline) and search."""

    def initial(self, request: Request, *args, **kwargs) -> None:
        # A body far beyond the largest document is refused before it is read, let alone decoded: before
        # authentication too, as the OAuth2 backend reads a POST body while it looks for a token.
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > _max_body_bytes():
                raise UnprocessableEntity(
                    refused_too_large(settings.DOSSIER_DOCUMENT_MAX_BYTES).message, expressions=[[ATTACHMENT]]
                )
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="fhir_document_reference_create",
        summary="Ajouter un document (DocumentReference, contenu en base64)",
        description=(
            "Un DocumentReference dont content[0].attachment porte le contenu en base64 (data) : PDF, JPEG, PNG "
            "ou CDA R2, reconnu par son contenu, dans la limite de taille du dossier. Le patient est désigné par "
            "son idPe (subject.identifier) ; type LOINC et date de l’acte (context.period.start) obligatoires ; "
            "securityLabel MASQUE_PS masque le document aux professionnels. Périmètre "
            "patient/DocumentReference.c. Réponse 201 avec Location et le DocumentReference enregistré."
        ),
        request={"application/fhir+json": dict},
        responses={
            201: OpenApiResponse(description="DocumentReference enregistré"),
            **_ERRORS,
            422: OpenApiResponse(description="Document refusé, avec le chemin FHIR de l’élément (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def post(self, request: Request) -> Response:
        self.require(DOCUMENT_REFERENCE, "c")
        resource = request.data
        incoming = _incoming(resource)
        check_subject(self, resource.get("subject"), path="DocumentReference.subject")
        if incoming.data is None:
            raise UnprocessableEntity(
                "Ici, le contenu se donne en base64 dans attachment.data ; un Binary désigné par attachment.url "
                "s’envoie dans un Bundle de transaction (ProvideDocumentBundle).",
                expressions=[[f"{ATTACHMENT}.url"]],
            )
        document = document_store(self, incoming, data=incoming.data, data_path=f"{ATTACHMENT}.data")
        return self.fhir_response(_shared(self, document), status_code=201, headers=_version_headers(request, document))

    @extend_schema(
        operation_id="fhir_document_reference_search",
        summary="Rechercher des documents (DocumentReference)",
        description=(
            "Bundle « searchset » des documents de l’usager, y compris ceux masqués aux professionnels, acte le "
            f"plus récent d’abord ; {DEFAULT_COUNT} par page par défaut, {MAX_COUNT} au plus ; page suivante par "
            "le lien « next » (curseur signé). Un paramètre inconnu est refusé (400). Périmètre "
            "patient/DocumentReference.s."
        ),
        parameters=_SEARCH_PARAMETERS,
        responses={200: OpenApiResponse(description="Bundle searchset"), **_ERRORS},
        tags=["FHIR"],
    )
    def get(self, request: Request) -> Response:
        self.require(DOCUMENT_REFERENCE, "s")
        params = request.query_params
        unknown = sorted(set(params) - SEARCH_PARAMS)
        if unknown:
            raise _bad_parameter(
                unknown[0],
                f"Paramètre de recherche non pris en charge : « {unknown[0]} » "
                f"(paramètres permis : {', '.join(sorted(SEARCH_PARAMS))}).",
            )
        for value in params.getlist("patient"):
            self.check_patient_search(value)
        act_from, act_until = _days(*_bounds("period", params.getlist("period")))
        added_from, added_until = _bounds("date", params.getlist("date"))
        search = DocumentSearch(
            type_codes=_type_codes(params.getlist("type")),
            act_from=act_from,
            act_until=act_until,
            added_from=added_from,
            added_until=added_until,
        )
        count = search_count(params.get("_count"))
        rows = documents_search(self.access, search, after=_cursor_load(self, params), limit=count + 1)
        page, more = rows[:count], len(rows) > count
        links = [{"relation": "self", "url": _page_url(request, params, params.get("_cursor"))}]
        if more:
            links.append({"relation": "next", "url": _page_url(request, params, _cursor_dump(self, params, page[-1]))})
        body: dict = {
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": fhir_instant(timezone.now()),
            "link": links,
        }
        if page:
            base = request.build_absolute_uri(reverse("fhir_document_reference_type"))
            body["entry"] = [
                {
                    "fullUrl": f"{base}/{document.public_id}",
                    "resource": _shared(self, document),
                    "search": {"mode": "match"},
                }
                for document in page
            ]
        self.trace_read(resource=DOCUMENT_REFERENCE, count=len(page))
        return self.fhir_response(body)


class DocumentReferenceInstanceView(FHIRAppView):
    """``/api/fhir/DocumentReference/<id>``: the metadata of one document."""

    @extend_schema(
        operation_id="fhir_document_reference_read",
        summary="Lire un document (DocumentReference)",
        description=(
            "Les métadonnées du document ; son contenu est à l’adresse de content[0].attachment.url (Binary). "
            "Périmètre patient/DocumentReference.r. Le document d’une autre personne : 404."
        ),
        responses={
            200: OpenApiResponse(description="DocumentReference"),
            **_ERRORS,
            404: OpenApiResponse(description="Document inconnu (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def get(self, request: Request, resource_id: str) -> Response:
        self.require(DOCUMENT_REFERENCE, "r")
        document = document_get(self.access, _parse_id(resource_id))
        if document is None:
            raise exceptions.NotFound()
        self.trace_read(resource=DOCUMENT_REFERENCE, obj=document)
        return self.fhir_response(_shared(self, document), headers={"ETag": 'W/"1"'})


def _wants_fhir_resource(request: Request, document: Document) -> bool:
    """Whether the client asks for the FHIR Binary rather than the bytes: FHIR JSON named, the document's own type
    not (FHIR's rule for Binary reads)."""
    accepted = {item.split(";")[0].strip().lower() for item in request.headers.get("Accept", "").split(",")}
    return FHIR_JSON in accepted and document.content_type not in accepted and "*/*" not in accepted


def _binary_json(document: Document) -> StreamingHttpResponse:
    """The Binary in FHIR JSON, its ``data`` encoded block by block while the file is read."""
    try:
        stream = document.file.storage.open(document.file.name, "rb")
    except OSError:
        raise Http404() from None
    head = {
        **binary_resource(document, document_reference_url=f"DocumentReference/{document.public_id}"),
        "id": str(document.public_id),
    }

    def body():
        with stream:
            yield json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1].encode() + b',"data":"'
            pending = b""
            while chunk := stream.read(BASE64_BLOCK):
                pending += chunk
                usable = len(pending) - len(pending) % 3
                yield base64.b64encode(pending[:usable])
                pending = pending[usable:]
            yield base64.b64encode(pending) + b'"}'

    response = StreamingHttpResponse(body(), content_type=f"{FHIR_JSON}; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


class BinaryView(FHIRAppView):
    """``/api/fhir/Binary/<id>``: the content of a document."""

    def perform_content_negotiation(self, request, force=False):
        # The bytes go with the document's own type whatever the Accept header says (a PDF reader asks for
        # application/pdf, a FHIR client for FHIR JSON): only errors use the FHIR renderer.
        return FHIRJSONRenderer(), FHIR_JSON

    @extend_schema(
        operation_id="fhir_binary_read",
        summary="Lire le contenu d’un document (Binary)",
        description=(
            "Le fichier du document, avec son propre type (application/pdf, image/jpeg, image/png, text/xml). "
            "Avec « Accept: application/fhir+json » seul, la ressource Binary FHIR, contenu en base64. "
            "Périmètre patient/DocumentReference.r."
        ),
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="Le fichier, ou la ressource Binary en FHIR JSON"
            ),
            **_ERRORS,
            404: OpenApiResponse(description="Document inconnu (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def get(self, request: Request, resource_id: str):
        self.require(DOCUMENT_REFERENCE, "r")
        document = document_get(self.access, _parse_id(resource_id))
        if document is None:
            raise exceptions.NotFound()
        if _wants_fhir_resource(request, document):
            response = _binary_json(document)
        else:
            response = file_response(document, inline=False)
        self.trace_read(resource="Binary", obj=document)
        return response


# --- CapabilityStatement -------------------------------------------------------------------------------------

DOCUMENT_REFERENCE_RESOURCE = FHIRResource(
    type=DOCUMENT_REFERENCE,
    profiles=(MHD_MINIMAL_DOCUMENT_REFERENCE,),
    interactions=("create", "read", "search-type"),
    search_params=(
        ("patient", "reference"),
        ("type", "token"),
        ("date", "date"),
        ("period", "date"),
        ("_count", "number"),
        ("_cursor", "string"),
    ),
)
# Binary is read only: its content arrives with its DocumentReference (inline, or in a ProvideDocumentBundle).
BINARY_RESOURCE = FHIRResource(type="Binary", interactions=("read",))
