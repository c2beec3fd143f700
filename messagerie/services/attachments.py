"""What the citizen does with a received attachment: save it into the dossier, add its events and tasks to the agenda.

Both go through the other bricks' services (``dossier.services.documents.document_add``,
``agenda.services.ical.calendar_import``), which check the content again and write their own journal rows; this
module adds the rules of the messagerie (citizen's side only, never a blocked attachment, each action once) and its
own journal row, in the same transaction: either all of it is written, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agenda import ical
from agenda.models import EventKind, Source
from agenda.services.events import event_fields_clean, task_fields_clean
from agenda.services.ical import (
    FIELD_NAMES,
    MAX_COMPONENTS,
    MAX_FILE_BYTES,
    ImportSummary,
    calendar_import,
    too_large_error,
)
from dossier.models.documents import Document
from dossier.selectors.documents import documents_visible
from dossier.services.documents import document_add
from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append
from messagerie.models import Attachment, AttachmentFormat
from messagerie.selectors import sender_name
from messagerie.services.outgoing import journal_actor_label

__all__ = [
    "ATTACHMENT_AGENDA",
    "ATTACHMENT_SAVED",
    "DOSSIER_FORMATS",
    "AttachmentAlreadyAdded",
    "AttachmentAlreadySaved",
    "CalendarItem",
    "CalendarPreview",
    "attachment_add_to_agenda",
    "attachment_calendar_preview",
    "attachment_not_savable_reason",
    "attachment_save_to_dossier",
    "attachment_saved_document",
    "dossier_source_label",
]

ATTACHMENT_SAVED = "messagerie.piece.enregistree"
ATTACHMENT_AGENDA = "messagerie.piece.agenda"
register_action(ATTACHMENT_SAVED, gettext_lazy("Pièce jointe d’un message enregistrée dans le dossier médical"))
register_action(ATTACHMENT_AGENDA, gettext_lazy("Rendez-vous ou tâches d’un message ajoutés à l’agenda"))

# The formats the dossier keeps (``dossier.models.documents.DocumentFormat``: same values).
DOSSIER_FORMATS = frozenset({AttachmentFormat.PDF, AttachmentFormat.JPEG, AttachmentFormat.PNG, AttachmentFormat.CDA})


class AttachmentAlreadySaved(Exception):
    """The attachment is already in the dossier: ``document`` is the document it became."""

    def __init__(self, document: Document) -> None:
        self.document = document
        super().__init__(_("Cette pièce jointe est déjà enregistrée dans votre dossier."))


class AttachmentAlreadyAdded(Exception):
    """The events and tasks of the attachment were already added to the agenda (at ``added_at``)."""

    def __init__(self, added_at: datetime) -> None:
        self.added_at = added_at
        super().__init__(_("Les rendez-vous et tâches de cette pièce jointe sont déjà dans votre agenda."))


def _require_citizen_side(access: CitizenAccess, attachment: Attachment) -> None:
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal gère sa messagerie de santé."))
    if attachment.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Cette pièce jointe n’appartient pas à cette messagerie."))


def _locked(attachment: Attachment) -> Attachment:
    """The attachment's row, locked until the end of the transaction: two clicks at once act once."""
    return Attachment.objects.select_for_update().select_related("message").get(pk=attachment.pk)


# --- Into the dossier -----------------------------------------------------------------------------------------


def dossier_source_label(attachment: Attachment) -> str:
    """Where the document comes from, as the dossier shows it (« Source »)."""
    message = attachment.message
    sender = message.from_name or message.from_address
    if message.from_name:
        sender = f"{message.from_name} <{message.from_address}>"
    return _("Reçu par messagerie de santé de %(sender)s") % {"sender": sender}


def attachment_saved_document(access: CitizenAccess, attachment: Attachment) -> Document | None:
    """The dossier's document that ``attachment`` became, while it is still in the dossier."""
    if attachment.saved_document_id is None:
        return None
    return documents_visible(access).filter(public_id=attachment.saved_document_id).first()


def attachment_not_savable_reason(attachment: Attachment) -> str:
    """Why the attachment cannot go into the dossier, or ``""``."""
    if attachment.blocked:
        return _("Cette pièce jointe a été bloquée par sécurité : elle ne peut pas être enregistrée dans le dossier.")
    if attachment.format not in DOSSIER_FORMATS:
        return _(
            "Le dossier médical accepte les documents PDF, JPEG, PNG et CDA R2 (XML) : "
            "cette pièce jointe (%(format)s) ne peut pas y être enregistrée."
        ) % {"format": AttachmentFormat(attachment.format).label}
    return ""


@transaction.atomic
def attachment_save_to_dossier(
    *,
    access: CitizenAccess,
    attachment: Attachment,
    title: str,
    type_code: str,
    act_date: date,
    hidden: bool = False,
) -> Document:
    """Add a received attachment to the citizen's dossier, once, through ``document_add``.

    The document is the citizen's (they chose to add it: they may delete it), its source says from whom it came.
    ``AttachmentAlreadySaved`` when it is already there; ``ValidationError`` (French) for a blocked attachment, a
    format the dossier does not keep, invalid metadata (keyed by field) or content the dossier refuses.
    """
    _require_citizen_side(access, attachment)
    attachment = _locked(attachment)
    if attachment.saved_document_id is not None:
        document = attachment_saved_document(access, attachment)
        if document is not None:
            raise AttachmentAlreadySaved(document)
        # The citizen deleted that document from the dossier since: saving it again is adding it anew.
    reason = attachment_not_savable_reason(attachment)
    if reason:
        raise ValidationError(reason, code="not_savable")
    try:
        stream = attachment.file.storage.open(attachment.file.name, "rb")
    except OSError as error:
        raise ValidationError(_("Le fichier de cette pièce jointe est introuvable."), code="missing") from error
    with stream:
        document = document_add(
            access=access,
            upload=File(stream, name=attachment.filename),
            title=title,
            type_code=type_code,
            act_date=act_date,
            hidden=hidden,
            source_label=dossier_source_label(attachment),
        )
    now = timezone.now()
    Attachment.objects.filter(pk=attachment.pk).update(saved_document_id=document.public_id, saved_at=now)
    journal_append(
        actor=access.actor,
        action=ATTACHMENT_SAVED,
        citizen=access.citizen,
        obj=attachment,
        actor_label=journal_actor_label(access),
        details={"document": str(document.public_id), "format": attachment.format, "masque": hidden},
    )
    return document


# --- Into the agenda ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarItem:
    """One event or task of an attached calendar, as the preview shows it."""

    is_task: bool
    title: str
    kind_label: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False
    tzid: str = ""
    repeats: bool = False
    due_date: date | None = None
    location: str = ""
    professional: str = ""


@dataclass(frozen=True)
class CalendarPreview:
    items: tuple[CalendarItem, ...]
    # What will not be added as it is (cancelled items, prevention dates, details without an equivalent).
    notices: tuple[str, ...]


def _not_calendar_reason(attachment: Attachment) -> str:
    if attachment.blocked:
        return _("Cette pièce jointe a été bloquée par sécurité : elle ne peut pas être ajoutée à l’agenda.")
    if attachment.format != AttachmentFormat.ICS:
        return _("Seul un calendrier iCalendar (.ics) peut être ajouté à l’agenda.")
    return ""


def _read_calendar(attachment: Attachment) -> bytes:
    try:
        with attachment.file.storage.open(attachment.file.name, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ValidationError(_("Le fichier de cette pièce jointe est introuvable."), code="missing") from error
    if len(data) > MAX_FILE_BYTES:
        raise too_large_error()
    return data


def _problem(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{FIELD_NAMES.get(name, name)} : {' '.join(str(text) for text in texts)}"
            for name, texts in error.message_dict.items()
        )
    return " ".join(str(text) for text in error.messages)


def _item_refused(title: str, is_task: bool, problem: str) -> ValidationError:
    what = _("La tâche « %(title)s »") if is_task else _("L’événement « %(title)s »")
    return ValidationError(
        _("%(what)s ne peut pas être ajouté à l’agenda : %(problem)s Rien n’a été ajouté.")
        % {"what": what % {"title": title[:80]}, "problem": problem.rstrip(".") + "."},
        code="component",
    )


def attachment_calendar_preview(*, access: CitizenAccess, attachment: Attachment) -> CalendarPreview:
    """The events and tasks an attached calendar would add, checked as the agenda checks them, before the citizen
    confirms. ``ValidationError`` (French) when the file cannot be added: nothing is shown to confirm then."""
    _require_citizen_side(access, attachment)
    reason = _not_calendar_reason(attachment)
    if reason:
        raise ValidationError(reason, code="not_calendar")
    try:
        parsed = ical.calendar_parse(_read_calendar(attachment))
    except ical.IcalFileError as error:
        raise ValidationError(str(error), code="invalid") from error
    notices = ical.Notices()
    items: list[CalendarItem] = []
    components = [(component, False) for calendar in parsed.calendars for component in calendar.walk("VEVENT")] + [
        (component, True) for calendar in parsed.calendars for component in calendar.walk("VTODO")
    ]
    if len(components) > MAX_COMPONENTS:
        raise ValidationError(
            _("Ce calendrier contient %(n)s éléments : l’agenda en accepte %(max)s au plus par fichier.")
            % {"n": len(components), "max": MAX_COMPONENTS},
            code="too_many",
        )
    for component, is_task in components:
        title = " ".join(str(component.get("SUMMARY", "")).split()) or _("Sans titre")
        if not is_task and ical.is_prevention(component):
            notices.items.append(
                _("« %(title)s » : date de prévention, calculée par Mon espace santé.") % {"title": title}
            )
            continue
        if ical.is_cancelled(component):
            notices.add(title, _("annulé (STATUS:CANCELLED) : il ne sera pas ajouté."))
            continue
        try:
            if is_task:
                task = ical.task_from_component(component, line=None, notices=notices)
                fields = task_fields_clean(**task.fields)
                items.append(CalendarItem(is_task=True, title=fields["title"], due_date=fields["due_date"]))
                continue
            for event in ical.events_from_component(component, line=None, notices=notices):
                fields = event_fields_clean(**event.fields)
                items.append(
                    CalendarItem(
                        is_task=False,
                        title=fields["title"],
                        kind_label=str(EventKind(fields["kind"]).label),
                        starts_at=fields["starts_at"],
                        ends_at=fields["ends_at"],
                        all_day=fields["all_day"],
                        tzid=fields["tzid"],
                        repeats=bool(fields["rrule"]),
                        location=fields["location"],
                        professional=fields["professional"],
                    )
                )
        except ical.ComponentError as error:
            raise _item_refused(title, is_task, str(error)) from error
        except ValidationError as error:
            raise _item_refused(title, is_task, _problem(error)) from error
    if not items:
        raise ValidationError(
            _("Ce calendrier ne contient aucun rendez-vous ni aucune tâche à ajouter à l’agenda."), code="no_item"
        )
    return CalendarPreview(items=tuple(items), notices=tuple(notices.all()))


@transaction.atomic
def attachment_add_to_agenda(*, access: CitizenAccess, attachment: Attachment) -> ImportSummary:
    """Add the events (VEVENT) and tasks (VTODO) of an attached calendar to the citizen's agenda, once.

    Through the agenda's import: all or nothing, an item already in the agenda (same UID, e.g. an appointment sent
    again) is updated when the file's version is newer, never duplicated. ``AttachmentAlreadyAdded`` the second
    time; ``ValidationError`` (French) for a file that is not a valid calendar, nothing added.
    """
    _require_citizen_side(access, attachment)
    attachment = _locked(attachment)
    if attachment.calendar_added_at is not None:
        raise AttachmentAlreadyAdded(attachment.calendar_added_at)
    reason = _not_calendar_reason(attachment)
    if reason:
        raise ValidationError(reason, code="not_calendar")
    summary = calendar_import(
        access=access,
        upload=ContentFile(_read_calendar(attachment), name=attachment.filename),
        # The agenda says where the appointment came from: this message, not a file the person imported.
        source=Source.MESSAGE,
        source_label=_("Message de %(sender)s") % {"sender": sender_name(attachment.message)},
    )
    Attachment.objects.filter(pk=attachment.pk).update(calendar_added_at=timezone.now())
    journal_append(
        actor=access.actor,
        action=ATTACHMENT_AGENDA,
        citizen=access.citizen,
        obj=attachment,
        actor_label=journal_actor_label(access),
        details={
            "ajoutes": summary.created,
            "mis_a_jour": summary.updated,
            "inchanges": summary.unchanged,
            "non_importes": summary.ignored,
        },
    )
    return summary
