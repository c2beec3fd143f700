"""The base of every FHIR endpoint a paired app calls: token, pairing, consent, journal, idempotency.

- Authentication: an OAuth2 bearer token only, found with its pairing in one query
  (``mes.api.authentication``; 401 with ``WWW-Authenticate: Bearer`` otherwise).
- Access: the token's pairing must be active and its habilitation not suspended; the permissions are the token's
  scopes ∩ the citizen's consent ∩ the habilitation (``mes.acces.policy.app_access``); each handler asks for one
  SMART permission with ``self.require(resource, interaction)`` → 403 « consent not given » when it is missing.
- The patient: an app names the person by its idPe; another idPe is a 403 (``check_idpe``); a resource of
  another citizen is a 404, as if it did not exist.
- Reads write one journal row each (``self.trace_read``); writes are journaled by the services they call; a 403
  answered to an authenticated app writes one too (``API_REFUSED``).
- ``Idempotency-Key`` on POST: the first answer is recorded in the same transaction as the write, and replayed
  to a retry; the same key with another request is a 422; a retry while the first is still running is a 409
  (a transaction-scoped advisory lock on the key).
"""

import hashlib
import json
import re

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from mes.acces.journal import register_action
from mes.acces.models import AppHabilitation
from mes.acces.policy import AppActor, CitizenAccess, app_access
from mes.acces.services import journal_append
from mes.acces.services.pairings import pairing_touch
from mes.api.authentication import AppToken, PairedAppAuthentication
from mes.api.exceptions import UnprocessableEntity
from mes.api.fhir import FHIR_JSON
from mes.api.models import IdempotencyRecord
from mes.api.views import FHIRAPIView
from mes.comptes.models import Citizen

# The identifier system of the idPe (DOMAIN.md §5): how an app names the person in ``subject.identifier``.
IDPE_SYSTEM = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2560"
API_READ = "api.lecture"
register_action(API_READ, _("Consultation de données par un service connecté"))
# A call of a paired app refused with a 403 (consent missing or withdrawn, scope not consented, suspended service,
# another person's idPe): every denial is journaled too, so that the person sees it and the technical tests of
# référencement can tell an app that keeps calling after its consent was withdrawn.
API_REFUSED = "api.refus"
register_action(API_REFUSED, _("Appel refusé à un service connecté"))

CONSENT_NOT_GIVEN = "Consent not given, access refused"
IDPE_MISMATCH = "idPe requested do not match authorized idPe"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Headers of a first answer that a replay gives back.
_REPLAYED_HEADERS = ("Location", "ETag", "Last-Modified")


class ConsentNotGiven(exceptions.PermissionDenied):
    default_detail = CONSENT_NOT_GIVEN


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Une requête avec cette clé d’idempotence est encore en cours : réessayez plus tard."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Le corps de la requête dépasse la taille maximale acceptée par l’API."
    default_code = "too_large"


class _Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


class FHIRAppView(FHIRAPIView):
    """An endpoint of the paired apps. Subclasses call ``self.require(...)`` first, then use ``self.access``."""

    authentication_classes = [PairedAppAuthentication]
    permission_classes = [IsAuthenticated]
    access: CitizenAccess

    # --- request lifecycle -----------------------------------------------------------------------------------

    def dispatch(self, request, *args, **kwargs):
        self._idempotency = None
        if request.method == "POST" and request.headers.get(IDEMPOTENCY_HEADER) is not None:
            # One transaction around the whole request: the recorded answer lands with the write, or neither.
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args, **kwargs) -> None:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.FHIR_MAX_BODY_BYTES:
            # Refused before anything reads the body (a document is at most DOSSIER_DOCUMENT_MAX_BYTES).
            raise PayloadTooLarge()
        super().initial(request, *args, **kwargs)
        token = request.auth  # an AppToken: its pairing was found with it, in the same query
        pairing = token.pairing
        access = app_access(pairing, token.scope.split())
        if access is None:
            raise ConsentNotGiven(CONSENT_NOT_GIVEN)
        self.access = access
        pairing_touch(access.pairing)
        if self._idempotency_key(request) is not None:
            self._idempotency_begin(request)

    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and not request.successful_authenticator:
            if request.headers.get("Authorization"):
                message = "Jeton d’accès invalide, expiré ou révoqué : obtenez-en un nouveau (/o/token/)."
            else:
                message = "Jeton d’accès absent : envoyez l’en-tête « Authorization: Bearer <jeton> »."
            raise exceptions.NotAuthenticated(message)
        super().permission_denied(request, message=message, code=code)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        if isinstance(exc, exceptions.PermissionDenied):
            self._trace_refusal(exc)
        return super().handle_exception(exc)

    def _trace_refusal(self, exc: exceptions.PermissionDenied) -> None:
        """One journal row for a 403 answered to an authenticated app (a missing token is a 401, not journaled: an
        unknown token names no app and no person)."""
        token = getattr(self.request, "_auth", None)
        if not isinstance(token, AppToken):
            return
        access = getattr(self, "access", None)
        if access is not None:
            actor, citizen = access.actor, access.citizen
        else:
            # Refused at the door: no active pairing, suspended service or closed space (queries on this path only).
            pairing = token.pairing
            habilitation = (
                pairing.habilitation
                if pairing is not None
                else AppHabilitation.objects.filter(application_id=token.application_id).first()
            )
            if habilitation is None:
                return
            actor = AppActor(habilitation)
            citizen = pairing.citizen if pairing is not None else Citizen.objects.filter(user=self.request.user).first()
        journal_append(actor=actor, action=API_REFUSED, citizen=citizen, details={"motif": str(exc.detail)[:200]})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claim = getattr(self, "_idempotency", None)
        if claim is not None:
            if response.status_code >= 500:
                transaction.set_rollback(True)
            else:
                IdempotencyRecord.objects.create(
                    **claim,
                    status_code=response.status_code,
                    body=getattr(response, "data", None),
                    headers={name: response[name] for name in _REPLAYED_HEADERS if name in response},
                )
        return response

    # --- what handlers use -----------------------------------------------------------------------------------

    def require(self, resource: str, interaction: str) -> None:
        """Refuse (403) unless the app holds ``<resource>.<interaction>`` now (consented, approved, in the token)."""
        if not self.access.app_may(resource, interaction):
            raise ConsentNotGiven(f"{CONSENT_NOT_GIVEN} (patient/{resource}.{interaction})")

    def check_idpe(self, value: str | None) -> None:
        """An app may only name the person it is paired with: another idPe is a 403."""
        if value != self.access.pairing.idpe:
            raise exceptions.PermissionDenied(IDPE_MISMATCH)

    def check_patient_search(self, value: str | None) -> None:
        """The ``patient`` search parameter, when given: ``Patient/<idPe>``, ``<idPe>`` or ``<system>|<idPe>``."""
        if value is None:
            return
        idpe = value.removeprefix("Patient/").removeprefix(f"{IDPE_SYSTEM}|")
        if idpe != self.access.pairing.idpe:
            raise exceptions.PermissionDenied(IDPE_MISMATCH)

    def trace_read(self, *, resource: str, obj=None, count: int | None = None) -> None:
        """One journal row for a read or a search of the citizen's data by the app."""
        details: dict = {"ressource": resource}
        if count is not None:
            details["nombre"] = count
        journal_append(actor=self.access.actor, action=API_READ, citizen=self.access.citizen, obj=obj, details=details)

    def fhir_response(self, body: dict | None, *, status_code: int = 200, headers: dict | None = None) -> Response:
        return Response(body, status=status_code, headers=headers, content_type=FHIR_JSON)

    # --- Idempotency-Key -------------------------------------------------------------------------------------

    @staticmethod
    def _idempotency_key(request: Request) -> str | None:
        return request.headers.get(IDEMPOTENCY_HEADER) if request.method == "POST" else None

    def _idempotency_begin(self, request: Request) -> None:
        key = self._idempotency_key(request)
        if not _KEY.match(key):
            raise exceptions.ValidationError(
                {IDEMPOTENCY_HEADER: "La clé d’idempotence doit compter de 1 à 255 caractères visibles, sans espace."}
            )
        application_id, user_id = request.auth.application_id, request.user.pk
        scope = f"{application_id}:{user_id}:{key}"
        with connection.cursor() as cursor:
            # Signed 64-bit key from the scope: two requests with the same key wait on the same lock.
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(('x' || substr(md5(%s), 1, 16))::bit(64)::bigint)", [scope]
            )
            if not cursor.fetchone()[0]:
                raise IdempotencyConflict()
        # The parsed body, canonically re-serialised: the same resource sent again, whatever its spacing, matches.
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256("\n".join([request.method, request.path, canonical]).encode()).hexdigest()
        record = IdempotencyRecord.objects.filter(application_id=application_id, user_id=user_id, key=key).first()
        if record is not None:
            if record.request_hash != digest:
                raise UnprocessableEntity(
                    "Cette clé d’idempotence a déjà servi pour une autre requête : utilisez une nouvelle clé.",
                    expressions=[[IDEMPOTENCY_HEADER]],
                )
            response = Response(record.body, status=record.status_code, headers=record.headers, content_type=FHIR_JSON)
            response["Idempotent-Replayed"] = "true"
            raise _Replay(response)
        self._idempotency = {"application_id": application_id, "user_id": user_id, "key": key, "request_hash": digest}
