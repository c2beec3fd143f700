"""Exports of the whole dossier as one FHIR Bundle (principle 6: data retrievable in a common format)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Citizen


def export_upload_to(instance: "DossierExport", filename: str) -> str:
    return f"dossier/{instance.citizen.public_id}/exports/{uuid.uuid4().hex}.json"


class DossierExport(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        RUNNING = "running", _("En préparation")
        DONE = "done", _("Prêt")
        FAILED = "failed", _("Échec")
        # The retention period is over: the file is deleted, the row stays as a trace in the list.
        EXPIRED = "expired", _("Expiré")

    class Phase(models.TextChoices):
        """What the task is writing, shown beside the percentage."""

        WAITING = "waiting", _("En attente de démarrage")
        PATIENT = "patient", _("Identité")
        MEASURES = "measures", _("Mesures de santé")
        DOCUMENTS = "documents", _("Documents")
        IMMUNIZATIONS = "immunizations", _("Vaccinations")
        PROFILE = "profile", _("Profil médical")
        SAVING = "saving", _("Enregistrement du fichier")
        FINISHED = "finished", _("Terminé")

    IN_PROGRESS = (Status.PENDING, Status.RUNNING)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.WAITING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    file = models.FileField(upload_to=export_upload_to, max_length=255, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Touched by every progress save: a running export whose row has not moved for a long time lost its worker.
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export du dossier")
        verbose_name_plural = _("exports du dossier")
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="export_progress"),
            models.CheckConstraint(
                condition=~models.Q(status="done") | ~models.Q(file=""), name="export_done_has_file"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "running", "done", "failed", "expired"]),
                name="export_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done") | models.Q(expires_at__isnull=False), name="export_done_expires"
            ),
            # One export in preparation at a time per space: a second request, even a concurrent one, is refused.
            models.UniqueConstraint(
                fields=["citizen"], condition=models.Q(status__in=["pending", "running"]), name="export_one_running"
            ),
        ]
        indexes = [
            models.Index(fields=["citizen", "-created_at"], name="export_list_idx"),
            # The hourly purge walks the ready exports by expiry date.
            models.Index(fields=["expires_at"], condition=models.Q(status="done"), name="export_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"Export {self.public_id} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in self.IN_PROGRESS
