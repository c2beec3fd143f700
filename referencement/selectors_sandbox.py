"""The checklist of the technical tests (tests d’accrochage): what the editor's app really did against the sandbox.

It is computed from the journal only — the rows the API and the services write for the dossier's test person,
signed by its sandbox app — and nothing can tick it by hand: no route, no model field holds a result. The items
follow the exchanges the dossier requests (docs/referencement-tests.md):

- « Appariement d’un usager de test »: the test person consented to the sandbox app (a pairing created or renewed);
- « Écriture d’une mesure valide » (measures written requested): a measure stored from the app — the API stores
  only measures it validated;
- « Lecture » (some reading requested): a read or a search, by the app, of a resource whose reading is requested;
- « Écriture d’un document », « Écriture d’un rendez-vous », « Écriture d’une vaccination »: the same for those
  writes, when requested;
- « Réaction au retrait du consentement »: after the last withdrawal of the test person's consent to the app, a new
  consent (the app sent the person through pairing again), with at most ``REFERENCEMENT_SANDBOX_CALLS_AFTER_
  REVOCATION`` refused calls attributable to the app in between. Attributable means journaled: API calls refused
  with a 403 (``api.refus``) and refresh tokens refused at ``/o/token/`` (``api.jeton.refuse``). A call with an
  access token deleted by the withdrawal is a 401 that names no app (the token no longer exists): it cannot be
  counted, and is not.

Only the rows of the current round of tests count: after the latest opening of the tests (a row the opening writes
in the test person's journal, so that the rows compare by their sequence number) and, once the dossier has left the
tests, until that step (the results are then frozen, as the commission reads them; that bound compares the step's
time with the rows', to the clock's precision).

Cost: a fixed number of queries whatever the traffic — the requested exchanges, the step that left the tests (only
once it has), the journal rows (one statement, through the index on the person), and the sandbox app when it is
not loaded with the dossier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import CharField, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from catalogue.models import DataExchange
from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.services.pairings import PAIRING_CHANGED, PAIRING_CREATED, PAIRING_REVOKED
from mes.api.app_views import API_READ, API_REFUSED
from mes.api.oauth import RENEWAL_REFUSED
from referencement.models import Dossier, Event, State

# The row that opens a round of tests in the test person's journal (written by technical_tests_start).
SANDBOX_OPENED = "referencement.bac_a_sable.ouvert"
# The journal codes the bricks write when an app stores data (dossier.services.measures, dossier.services.documents,
# agenda.services.events, dossier.services.profile). They are part of the journal's stored vocabulary; the tests
# check that they are still the bricks' own (référencement does not depend on those bricks).
MEASURE_ADDED = "dossier.mesure.ajoutee"
DOCUMENT_ADDED = "dossier.document.ajoute"
APPOINTMENT_ADDED = "agenda.evenement.ajoute"
IMMUNIZATION_ADDED = "dossier.vaccination.ajoutee"

# The FHIR resources whose reading each requested exchange allows.
READ_RESOURCES: dict[str, tuple[str, ...]] = {
    DataExchange.MEASURES_READ: ("Observation",),
    DataExchange.DOCUMENTS_READ: ("DocumentReference", "Binary"),
    DataExchange.AGENDA_READ: ("Appointment",),
    DataExchange.CONTACT_READ: ("Patient",),
}
REFUSALS = (API_REFUSED, RENEWAL_REFUSED)
_ACTIONS = (
    PAIRING_CREATED,
    PAIRING_CHANGED,
    PAIRING_REVOKED,
    MEASURE_ADDED,
    DOCUMENT_ADDED,
    APPOINTMENT_ADDED,
    IMMUNIZATION_ADDED,
    API_READ,
    *REFUSALS,
)

PAIRING = "appariement"
MEASURE_WRITE = "ecriture_mesure"
READ = "lecture"
DOCUMENT_WRITE = "ecriture_document"
APPOINTMENT_WRITE = "ecriture_rendez_vous"
IMMUNIZATION_WRITE = "ecriture_vaccination"
REVOCATION = "retrait_consentement"


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    label: str
    done: bool
    done_at: datetime | None
    # What to do for the step (or how it was observed).
    help: str
    # What was observed so far, when the step is not done (e.g. too many refused calls).
    observed: str = ""

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "label": self.label,
            "done": self.done,
            "done_at": self.done_at.isoformat() if self.done_at else None,
            "help": self.help,
            "observed": self.observed,
        }


@dataclass(frozen=True)
class Checklist:
    items: tuple[ChecklistItem, ...]
    # False when the dossier has no sandbox yet (tests never opened, or a procedure without data exchange).
    opened: bool = True
    # True once the dossier has left the tests: the results no longer change.
    frozen: bool = False

    @property
    def complete(self) -> bool:
        return bool(self.items) and all(item.done for item in self.items)

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.done)

    def as_dict(self) -> dict:
        return {
            "opened": self.opened,
            "frozen": self.frozen,
            "complete": self.complete,
            "done": self.done_count,
            "total": len(self.items),
            "items": [item.as_dict() for item in self.items],
        }


@dataclass(frozen=True)
class _Row:
    seq: int
    action: str
    created_at: datetime
    details: dict


def _round_end(dossier: Dossier) -> datetime | None:
    """When the dossier left the tests, once it has (``None`` while they are open, or for a dossier placed in a later
    state without its steps)."""
    if dossier.state == State.TECHNICAL_TESTS:
        return None
    return (
        Event.objects.filter(dossier=dossier, from_state=State.TECHNICAL_TESTS)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )


def _rows(dossier: Dossier, habilitation: AppHabilitation, end: datetime | None) -> list[_Row]:
    """The journal rows of the test person that the sandbox app caused in the current round: signed by it, or about
    its pairings, after the latest opening of the tests (a row of the person's journal, so ordered by ``seq`` with
    the rest) and, once the dossier has left the tests, until then."""
    citizen_id = dossier.sandbox_citizen_id
    pairings = (
        Pairing.objects.filter(citizen_id=citizen_id, habilitation_id=habilitation.pk)
        .annotate(text=Cast("public_id", CharField()))
        .values("text")
    )
    opened = (
        JournalEntry.objects.filter(citizen_id=citizen_id, action=SANDBOX_OPENED).order_by("-seq").values("seq")[:1]
    )
    caused = Q(details__application=str(habilitation.public_id)) | Q(
        object_type="acces.pairing", object_id__in=pairings
    )
    query = JournalEntry.objects.filter(
        caused, citizen_id=citizen_id, action__in=_ACTIONS, seq__gt=Coalesce(Subquery(opened), Value(0))
    )
    if end is not None:
        query = query.filter(created_at__lte=end)
    return [
        _Row(seq, action, created_at, details or {})
        for seq, action, created_at, details in query.order_by("seq").values_list(
            "seq", "action", "created_at", "details"
        )
    ]


def _first(rows: list[_Row], *actions: str, resources: tuple[str, ...] | None = None) -> _Row | None:
    for row in rows:
        if row.action in actions and (resources is None or row.details.get("ressource") in resources):
            return row
    return None


def _item(code: str, label: str, row: _Row | None, todo: str, done: str) -> ChecklistItem:
    return ChecklistItem(code, label, row is not None, row.created_at if row else None, done if row else todo)


def _revocation_item(rows: list[_Row]) -> ChecklistItem:
    label = _("Réaction au retrait du consentement")
    limit = settings.REFERENCEMENT_SANDBOX_CALLS_AFTER_REVOCATION
    rule = _(
        "Après le retrait, votre application ne doit pas insister : au plus %(limit)s appel(s) refusé(s) qui lui "
        "sont attribuables (réponses 403 de l’API, jetons de rafraîchissement refusés), puis elle renvoie la "
        "personne vers l’appariement."
    ) % {"limit": limit}
    revocations = [row for row in rows if row.action == PAIRING_REVOKED]
    if not revocations:
        todo = _(
            "Une fois l’appariement fait, retirez le consentement de l’usager de test (bouton « Retirer le "
            "consentement de l’usager de test »)."
        )
        return ChecklistItem(REVOCATION, label, False, None, f"{todo} {rule}")
    revoked = revocations[-1]
    repaired = next((row for row in rows if row.seq > revoked.seq and row.action == PAIRING_CREATED), None)
    refused = sum(
        1
        for row in rows
        if row.seq > revoked.seq and row.action in REFUSALS and (repaired is None or row.seq < repaired.seq)
    )
    observed = (
        _("%(count)s appel(s) refusé(s) attribuable(s) à votre application depuis le retrait.") % {"count": refused}
        if refused
        else _("Aucun appel refusé attribuable à votre application depuis le retrait.")
    )
    if refused > limit:
        help_text = _(
            "Votre application a insisté après le retrait (%(count)s appels refusés, au plus %(limit)s admis). "
            "Corrigez-la, refaites l’appariement, puis retirez de nouveau le consentement pour refaire l’essai."
        ) % {"count": refused, "limit": limit}
        return ChecklistItem(REVOCATION, label, False, None, help_text, observed)
    if repaired is None:
        help_text = _(
            "Le consentement est retiré. Votre application doit cesser ses appels et renvoyer l’usager de test vers "
            "l’appariement : connectez-vous avec lui et autorisez de nouveau votre application. %(rule)s"
        ) % {"rule": rule}
        return ChecklistItem(REVOCATION, label, False, None, help_text, observed)
    return ChecklistItem(
        REVOCATION,
        label,
        True,
        repaired.created_at,
        _("Après le retrait, votre application a cessé d’insister et a refait l’appariement.") + " " + observed,
    )


def _items(requested: set[str], rows: list[_Row]) -> list[ChecklistItem]:
    items = [
        _item(
            PAIRING,
            _("Appariement d’un usager de test"),
            _first(rows, PAIRING_CREATED, PAIRING_CHANGED),
            _(
                "Depuis votre application, envoyez l’usager de test vers la page d’autorisation du bac à sable, "
                "connectez-vous avec ses identifiants et autorisez l’application."
            ),
            _("L’usager de test a connecté votre application à son espace."),
        )
    ]
    if DataExchange.MEASURES_WRITE in requested:
        items.append(
            _item(
                MEASURE_WRITE,
                _("Écriture d’une mesure valide"),
                _first(rows, MEASURE_ADDED),
                _(
                    "Envoyez une mesure (Observation FHIR au profil français, sujet désigné par l’idPe, meta.source "
                    "à votre OID) : seule une mesure acceptée par l’API compte."
                ),
                _("Une mesure envoyée par votre application a été acceptée et enregistrée."),
            )
        )
    read_resources = tuple(resource for code in requested for resource in READ_RESOURCES.get(code, ()))
    if read_resources:
        items.append(
            _item(
                READ,
                _("Lecture"),
                _first(rows, API_READ, resources=read_resources),
                _("Lisez ou recherchez des données dont la lecture est demandée dans le dossier (%(what)s).")
                % {"what": ", ".join(sorted(set(read_resources)))},
                _("Votre application a lu des données de l’usager de test."),
            )
        )
    for code, exchange, label, action, todo, done in (
        (
            DOCUMENT_WRITE,
            DataExchange.DOCUMENTS_WRITE,
            _("Écriture d’un document"),
            DOCUMENT_ADDED,
            _("Déposez un document (DocumentReference avec son contenu, ou Bundle « transaction » MHD)."),
            _("Un document envoyé par votre application a été ajouté au dossier de l’usager de test."),
        ),
        (
            APPOINTMENT_WRITE,
            DataExchange.AGENDA_WRITE,
            _("Écriture d’un rendez-vous"),
            APPOINTMENT_ADDED,
            _("Ajoutez un rendez-vous (Appointment) à l’agenda de l’usager de test."),
            _("Un rendez-vous envoyé par votre application a été ajouté à l’agenda de l’usager de test."),
        ),
        (
            IMMUNIZATION_WRITE,
            DataExchange.IMMUNIZATIONS_WRITE,
            _("Écriture d’une vaccination"),
            IMMUNIZATION_ADDED,
            _("Ajoutez une vaccination (Immunization) au carnet de l’usager de test."),
            _("Une vaccination envoyée par votre application a été ajoutée au carnet de l’usager de test."),
        ),
    ):
        if exchange in requested:
            items.append(_item(code, label, _first(rows, action), todo, done))
    items.append(_revocation_item(rows))
    return items


def sandbox_active_pairing(dossier: Dossier) -> Pairing | None:
    """The test person's active pairing with the dossier's sandbox app, if any."""
    if dossier.sandbox_habilitation_id is None or dossier.sandbox_citizen_id is None:
        return None
    return Pairing.objects.filter(
        citizen_id=dossier.sandbox_citizen_id, habilitation_id=dossier.sandbox_habilitation_id, revoked_at__isnull=True
    ).first()


def sandbox_checklist(dossier: Dossier) -> Checklist:
    """The checklist of ``dossier``'s technical tests, from the journal of its sandbox app and test person."""
    if dossier.sandbox_habilitation_id is None or dossier.sandbox_citizen_id is None:
        return Checklist(items=(), opened=False)
    requested = set(dossier.requested_exchanges.values_list("exchange", flat=True))
    end = _round_end(dossier)
    rows = _rows(dossier, dossier.sandbox_habilitation, end)
    return Checklist(items=tuple(_items(requested, rows)), frozen=end is not None)
