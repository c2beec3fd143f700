"""The health agenda: appointments and other events, tasks, prevention key dates, reminders and the private feed.

Events and tasks keep their iCalendar UID (RFC 5545) so that an import never duplicates what is already there and an
export then import gives the same items back. Times are stored in UTC with the time zone the event was written in
(Europe/Paris unless an imported file says otherwise), so that recurring events keep their wall-clock time across
daylight saving changes.
"""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Citizen, User

TITLE_MAX_LENGTH = 200
NOTE_MAX_LENGTH = 5000


class Source(models.TextChoices):
    """Where an item of the agenda comes from, shown on every item."""

    CITIZEN = "citizen", _("Ajouté par vous")
    PREVENTION = "prevention", _("Campagne de prévention")
    MESSAGE = "message", _("Message reçu")
    APP = "app", _("Service connecté")
    IMPORT = "import", _("Fichier importé")


class EventKind(models.TextChoices):
    APPOINTMENT = "rendez-vous", _("Rendez-vous")
    HOSPITALISATION = "hospitalisation", _("Hospitalisation")
    EXAM = "examen", _("Examen")
    OTHER = "autre", _("Autre événement")


class Event(models.Model):
    """An appointment, a hospitalisation or another dated event (a VEVENT, a FHIR Appointment)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the unique constraint on (citizen, uid) starts with the citizen.
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="agenda_events", db_index=False)
    uid = models.CharField(_("identifiant iCalendar"), max_length=255)
    kind = models.CharField(_("type"), max_length=20, choices=EventKind.choices, default=EventKind.APPOINTMENT)
    title = models.CharField(_("titre"), max_length=TITLE_MAX_LENGTH)
    # For an all-day event, starts_at is midnight of the first day and ends_at midnight after the last day, in
    # ``tzid``; the export writes them as DATE values.
    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    all_day = models.BooleanField(_("toute la journée"), default=False)
    tzid = models.CharField(_("fuseau horaire"), max_length=64, default="Europe/Paris")
    # RFC 5545 recurrence rule (the value of RRULE, without the "RRULE:" prefix), empty for a single event, and the
    # starts of the occurrences removed from the series.
    rrule = models.CharField(_("récurrence"), max_length=500, blank=True)
    exdates = ArrayField(models.DateTimeField(), default=list, blank=True)
    location = models.CharField(_("lieu"), max_length=300, blank=True)
    professional = models.CharField(_("professionnel"), max_length=200, blank=True)
    note = models.TextField(_("note"), max_length=NOTE_MAX_LENGTH, blank=True)
    # Minutes before each occurrence at which the person is reminded; null means no reminder.
    reminder_minutes = models.PositiveIntegerField(_("rappel"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.CITIZEN)
    source_label = models.CharField(_("source (affichée)"), max_length=200, blank=True)
    # What the source knows the item by: the public id of a paired app's habilitation (the events it may change),
    # a message's public id.
    source_ref = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("événements")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "uid"], name="agenda_event_uid_unique"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="agenda_event_ends"),
            models.CheckConstraint(condition=models.Q(source__in=Source.values), name="agenda_event_source"),
            models.CheckConstraint(condition=models.Q(kind__in=EventKind.values), name="agenda_event_kind"),
        ]
        indexes = [
            models.Index(fields=["citizen", "starts_at"], name="agenda_event_start_idx"),
            # Recurring series are expanded in Python: they are looked up apart from single events.
            models.Index(fields=["citizen"], condition=~models.Q(rrule=""), name="agenda_event_recurring_idx"),
            models.Index(
                fields=["starts_at"], condition=models.Q(reminder_minutes__isnull=False), name="agenda_event_remind_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule)

    @property
    def citizen_may_edit(self) -> bool:
        """Items written by a paired app are theirs: the person may delete them, not change them."""
        return self.source != Source.APP


class Task(models.Model):
    """Something to do, undated or with a due date (a VTODO)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the unique constraint on (citizen, uid) starts with the citizen.
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="agenda_tasks", db_index=False)
    uid = models.CharField(_("identifiant iCalendar"), max_length=255)
    title = models.CharField(_("titre"), max_length=TITLE_MAX_LENGTH)
    due_date = models.DateField(_("échéance"), null=True, blank=True)
    note = models.TextField(_("note"), max_length=NOTE_MAX_LENGTH, blank=True)
    done_at = models.DateTimeField(_("faite le"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.CITIZEN)
    source_label = models.CharField(_("source (affichée)"), max_length=200, blank=True)
    source_ref = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("tâche")
        verbose_name_plural = _("tâches")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "uid"], name="agenda_task_uid_unique"),
            models.CheckConstraint(condition=models.Q(source__in=Source.values), name="agenda_task_source"),
        ]
        indexes = [models.Index(fields=["citizen", "done_at", "due_date"], name="agenda_task_list_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def citizen_may_edit(self) -> bool:
        return self.source != Source.APP


class PreventionStatus(models.TextChoices):
    PENDING = "pending", _("À faire")
    DONE = "done", _("Fait")
    DISMISSED = "dismissed", _("Ignoré")


class PreventionDate(models.Model):
    """A key date of a national prevention programme for one person, computed from their age and sex.

    ``programme`` and ``occurrence`` (e.g. the age or the year that opens it) identify it, so regenerating never
    duplicates it and keeps what the person did with it (done, dismissed).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the unique constraint and the list index both start with the citizen.
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="prevention_dates", db_index=False)
    programme = models.CharField(_("programme"), max_length=40)
    occurrence = models.CharField(_("occurrence"), max_length=20)
    due_from = models.DateField(_("à partir du"))
    due_until = models.DateField(_("jusqu’au"), null=True, blank=True)
    status = models.CharField(
        _("état"), max_length=10, choices=PreventionStatus.choices, default=PreventionStatus.PENDING
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    table_version = models.CharField(_("version du référentiel"), max_length=20)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("date clé de prévention")
        verbose_name_plural = _("dates clés de prévention")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "programme", "occurrence"], name="agenda_prevention_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=PreventionStatus.values), name="agenda_prevention_status"
            ),
        ]
        indexes = [models.Index(fields=["citizen", "status", "due_from"], name="agenda_prevention_list_idx")]

    def __str__(self) -> str:
        return f"{self.programme} {self.occurrence}"

    @property
    def programme_info(self):
        """The programme of the versioned table (label, explanation, link), or ``None`` if it left the table."""
        from agenda.prevention import programme_get

        return programme_get(self.programme)


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("À envoyer")
    SENT = "sent", _("Envoyé")
    CANCELLED = "cancelled", _("Annulé")


class Reminder(models.Model):
    """One reminder of one occurrence of an event: its row makes the sending happen once.

    The job creates the row (unique per event and occurrence) when the reminder is due, then sends it in one
    transaction that holds the row under ``SELECT ... FOR UPDATE SKIP LOCKED`` and marks it sent: a second run or a
    second worker skips it, a worker that dies rolls the claim back (see ``agenda.services.reminders``).
    ``claimed_at`` is the time of the last attempt.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reminders")
    occurrence_start = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "occurrence_start"], name="agenda_reminder_unique"),
            models.CheckConstraint(condition=models.Q(status__in=ReminderStatus.values), name="agenda_reminder_status"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(status="pending"), name="agenda_reminder_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.event} — {self.occurrence_start:%Y-%m-%d %H:%M}"


class Feed(models.Model):
    """The person's private subscription feed (webcal): only the hash of its secret token is kept."""

    citizen = models.OneToOneField(Citizen, on_delete=models.CASCADE, related_name="agenda_feed")
    # Who gave out the current token: the feed serves only while they may still open the space (a parent loses a
    # child's agenda at the child's majority, as they lose the pages).
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    titles_only = models.BooleanField(_("titres seulement"), default=True)
    include_tasks = models.BooleanField(_("inclure les tâches"), default=False)
    include_prevention = models.BooleanField(_("inclure les dates de prévention"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("abonnement à l’agenda")
        verbose_name_plural = _("abonnements à l’agenda")

    def __str__(self) -> str:
        return f"{self.citizen}"
