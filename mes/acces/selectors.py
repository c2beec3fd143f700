"""Reads of the journal: the citizen's recent events, and their access history (« Historique des accès »).

The history reads the rows of one citizen only (``JournalEntry.citizen``), newest first, by keyset pagination on
``seq`` through the index ``journal_citizen_seq``: a page costs the same whatever the length of the journal. Each
row is worded in plain French: who acted (« Vous », a named professional, a representative, the service itself),
what they did, and the useful details the row carries (document title, emergency reason, scope, end, how the
professional got in).
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import action_label, registered_details
from mes.acces.models import AppHabilitation, JournalEntry
from mes.acces.services.delegations import professional_label, scopes_label
from mes.comptes.models import Citizen, Role, User

HISTORY_PAGE_SIZE = 20
EXPORT_CHUNK_SIZE = 1000

# Values of the actor filter (a professional is « pro-<public id> »).
ACTOR_PEOPLE = "personnes"
ACTOR_SERVICE = "service"
ACTOR_PROFESSIONAL_PREFIX = "pro-"
ACTOR_APP_PREFIX = "service-"

# How a professional got into the space (``details["acces"]``, written by ``access_trace``).
ACCESS_WAYS = {
    "treating_doctor": gettext_lazy("médecin traitant"),
    "care_team": gettext_lazy("équipe de soins"),
    "delegation": gettext_lazy("code d’accès"),
    "emergency": gettext_lazy("accès en urgence"),
    "app": gettext_lazy("service connecté à votre espace"),
}
# What a connected service read (``details["ressource"]``, written by the API).
API_RESOURCES = {
    "Observation": gettext_lazy("mesures de santé"),
    "Device": gettext_lazy("appareils de mesure"),
    "DocumentReference": gettext_lazy("documents"),
    "Binary": gettext_lazy("contenu d’un document"),
    "Appointment": gettext_lazy("rendez-vous de l’agenda"),
    "Immunization": gettext_lazy("vaccinations"),
    "Patient": gettext_lazy("coordonnées"),
}


@dataclass(frozen=True)
class JournalLine:
    when: datetime
    who: str
    what: str


def _service_label(entry: JournalEntry) -> str:
    return entry.actor_label or _("Mon espace santé")


def _actor_label(entry: JournalEntry, viewer: User | None) -> str:
    """Who did it, as the citizen reads it (``entry.actor`` loaded with its professional profile)."""
    if entry.actor_id is None:
        return _service_label(entry)
    if viewer is not None and entry.actor_id == viewer.pk:
        return _("Vous")
    actor = entry.actor
    if actor is None:  # the account no longer exists: the journal outlives it
        return entry.actor_label or _("Compte supprimé")
    if actor.role == Role.PROFESSIONAL:
        return professional_label(actor)
    return entry.actor_label or actor.display_name


def journal_for_citizen(citizen: Citizen, *, limit: int = 50) -> list[JournalLine]:
    entries = (
        JournalEntry.objects.filter(citizen=citizen).select_related("actor__professional").order_by("-seq")[:limit]
    )
    return [
        JournalLine(when=entry.created_at, who=_actor_label(entry, None), what=action_label(entry.action))
        for entry in entries
    ]


# --- The access history ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActorChoice:
    value: str
    label: str


@dataclass(frozen=True)
class HistoryFilters:
    """The filters of the history: ``actor`` is one of the values of ``history_actor_choices`` (or empty), the
    dates are whole days of Europe/Paris, both included."""

    actor: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.actor or self.date_from or self.date_to)


@dataclass(frozen=True)
class HistoryLine:
    seq: int
    when: datetime
    who: str
    what: str
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def detail_text(self) -> str:
        return " ; ".join(f"{label} : {value}" for label, value in self.details)


@dataclass(frozen=True)
class HistoryPage:
    lines: list[HistoryLine]
    older_cursor: int | None  # « Événements plus anciens »: the rows before this seq
    newer_cursor: int | None  # « Événements plus récents »: the rows after this seq
    is_first: bool


def _professional_choice(user: User) -> ActorChoice:
    return ActorChoice(ACTOR_PROFESSIONAL_PREFIX + str(user.public_id), professional_label(user))


def history_actor_choices(citizen: Citizen) -> list[ActorChoice]:
    """The authors found in ``citizen``'s rows: the person and their representatives, each professional by name,
    each connected service by name, and the platform itself. Five queries, whatever the number of rows."""
    rows = JournalEntry.objects.filter(citizen=citizen).order_by()
    actor_ids = set(rows.filter(actor__isnull=False).values_list("actor_id", flat=True).distinct())
    professionals = User.objects.filter(pk__in=actor_ids, role=Role.PROFESSIONAL).select_related("professional")
    professional_choices = sorted(
        (_professional_choice(user) for user in professionals), key=lambda choice: choice.label.lower()
    )
    choices = []
    if len(actor_ids) > len(professional_choices):
        choices.append(ActorChoice(ACTOR_PEOPLE, _("Vous / vos représentants")))
    choices.extend(professional_choices)
    app_ids = set(
        rows.filter(actor__isnull=True, details__has_key="application")
        .values_list("details__application", flat=True)
        .distinct()
    )
    apps = AppHabilitation.objects.filter(public_id__in=[value for value in app_ids if _is_uuid(value)])
    choices.extend(
        sorted(
            (
                ActorChoice(ACTOR_APP_PREFIX + str(app.public_id), _("Service « %(name)s »") % {"name": app.name})
                for app in apps
            ),
            key=lambda choice: choice.label.lower(),
        )
    )
    if rows.filter(actor__isnull=True).exclude(details__has_key="application").exists():
        choices.append(ActorChoice(ACTOR_SERVICE, _("Mon espace santé")))
    return choices


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _history_rows(citizen: Citizen, filters: HistoryFilters) -> QuerySet[JournalEntry]:
    rows = JournalEntry.objects.filter(citizen=citizen).select_related("actor__professional")
    if filters.actor == ACTOR_SERVICE:
        rows = rows.filter(actor__isnull=True).exclude(details__has_key="application")
    elif filters.actor.startswith(ACTOR_APP_PREFIX):
        value = filters.actor.removeprefix(ACTOR_APP_PREFIX)
        if not _is_uuid(value):
            return rows.none()
        rows = rows.filter(actor__isnull=True, details__application=str(uuid.UUID(value)))
    elif filters.actor == ACTOR_PEOPLE:
        # Every author that is not a professional: the person, their representatives, a refused relative.
        professionals = User.objects.filter(role=Role.PROFESSIONAL).values("pk")
        rows = rows.filter(actor__isnull=False).exclude(actor_id__in=professionals)
    elif filters.actor.startswith(ACTOR_PROFESSIONAL_PREFIX):
        try:
            public_id = uuid.UUID(filters.actor.removeprefix(ACTOR_PROFESSIONAL_PREFIX))
        except ValueError:
            return rows.none()
        rows = rows.filter(actor__public_id=public_id, actor__role=Role.PROFESSIONAL)
    if filters.date_from:
        rows = rows.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        rows = rows.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return rows


def _when(value: str) -> str:
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible (31 February): shown as written
        moment = None
    if moment is None:
        return str(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return formats.date_format(timezone.localtime(moment), "j F Y à H:i")


def _details(details: dict) -> list[tuple[str, str]]:
    """The parts of ``details`` a citizen cares about, labelled in French; anything else stays in the journal."""
    if not isinstance(details, dict):
        return []
    found = []
    if details.get("titre"):
        found.append((_("Document"), str(details["titre"])))
    if details.get("motif"):
        found.append((_("Motif"), str(details["motif"])))
    if details.get("perimetre"):
        scopes = details["perimetre"]
        found.append((_("Périmètre"), scopes_label(scopes if isinstance(scopes, list) else [scopes])))
    if details.get("fin"):
        found.append((_("Fin de l’accès"), _when(details["fin"])))
    found.extend(registered_details(details))
    resource = API_RESOURCES.get(details.get("ressource") or "")
    if resource:
        found.append((_("Données"), str(resource)))
    if isinstance(details.get("nombre"), int):
        found.append((_("Éléments lus"), str(details["nombre"])))
    if details.get("service"):
        found.append((_("Service"), str(details["service"])))
    way = ACCESS_WAYS.get(details.get("acces") or "")
    if way:
        found.append((_("Cadre de l’accès"), str(way)))
    return found


def _line(entry: JournalEntry, viewer: User | None) -> HistoryLine:
    return HistoryLine(
        seq=entry.seq,
        when=entry.created_at,
        who=_actor_label(entry, viewer),
        what=action_label(entry.action),
        details=_details(entry.details),
    )


def history_page(
    citizen: Citizen,
    *,
    viewer: User,
    filters: HistoryFilters | None = None,
    before: int | None = None,
    after: int | None = None,
    size: int = HISTORY_PAGE_SIZE,
) -> HistoryPage:
    """One page of ``citizen``'s history, newest first: the first page, the rows older than ``before`` or the rows
    newer than ``after`` (three queries at most)."""
    rows = _history_rows(citizen, filters or HistoryFilters())
    if after is not None:
        entries = list(rows.filter(seq__gt=after).order_by("seq")[: size + 1])
        has_newer = len(entries) > size
        entries = entries[:size][::-1]
        if not entries:  # nothing newer any more: start again from the newest rows
            return history_page(citizen, viewer=viewer, filters=filters, size=size)
        has_older = rows.filter(seq__lt=entries[-1].seq).exists()
    else:
        page_rows = rows.filter(seq__lt=before) if before is not None else rows
        entries = list(page_rows.order_by("-seq")[: size + 1])
        has_older = len(entries) > size
        entries = entries[:size]
        has_newer = before is not None and bool(entries) and rows.filter(seq__gt=entries[0].seq).exists()
    return HistoryPage(
        lines=[_line(entry, viewer) for entry in entries],
        older_cursor=entries[-1].seq if has_older else None,
        newer_cursor=entries[0].seq if has_newer else None,
        is_first=not has_newer,
    )


def history_export_lines(
    citizen: Citizen, *, viewer: User, filters: HistoryFilters | None = None, chunk_size: int | None = None
) -> Iterator[HistoryLine]:
    """Every line of the history, newest first, read by keyset chunks (memory stays flat on a long journal)."""
    chunk_size = chunk_size or EXPORT_CHUNK_SIZE
    rows = _history_rows(citizen, filters or HistoryFilters()).order_by("-seq")
    before = None
    while True:
        chunk = list((rows.filter(seq__lt=before) if before is not None else rows)[:chunk_size])
        for entry in chunk:
            yield _line(entry, viewer)
        if len(chunk) < chunk_size:
            return
        before = chunk[-1].seq
