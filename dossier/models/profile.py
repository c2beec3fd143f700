"""Profil médical (structured entries) and vaccinations (FHIR Immunization)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dossier.models.measures import SourceKind
from mes.comptes.models import Citizen


class ProfileSection(models.TextChoices):
    CONDITIONS = "maladies", _("Maladies et antécédents")
    TREATMENTS = "traitements", _("Traitements")
    FAMILY_HISTORY = "antecedents-familiaux", _("Antécédents familiaux")
    ALLERGIES = "allergies", _("Allergies")
    DISABILITY = "handicap", _("Handicap")


class ProfileEntry(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="profile_entries")
    section = models.CharField(_("rubrique"), max_length=24, choices=ProfileSection.choices)
    label = models.CharField(_("libellé"), max_length=200)
    start_date = models.DateField(_("depuis le"), null=True, blank=True)
    end_date = models.DateField(_("jusqu’au"), null=True, blank=True)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("entrée du profil médical")
        verbose_name_plural = _("entrées du profil médical")
        constraints = [
            models.CheckConstraint(condition=models.Q(section__in=ProfileSection.values), name="profile_section"),
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="profile_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["citizen", "section", "-start_date", "-id"], name="profile_entry_idx")]

    def __str__(self) -> str:
        return self.label


class Immunization(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="immunizations")
    # Search columns extracted from the resource.
    vaccine_code = models.CharField(_("code du vaccin"), max_length=40)
    vaccine_label = models.CharField(_("vaccin"), max_length=200)
    occurrence_date = models.DateField(_("date de vaccination"))
    dose_number = models.PositiveSmallIntegerField(_("numéro de dose"), null=True, blank=True)
    lot_number = models.CharField(_("numéro de lot"), max_length=40, blank=True)
    performer = models.CharField(_("administré par"), max_length=200, blank=True)
    source_kind = models.CharField(_("source"), max_length=12, choices=SourceKind.choices)
    source_label = models.CharField(_("source (affichée)"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The FHIR R4 Immunization as validated.
    resource = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("vaccination")
        verbose_name_plural = _("vaccinations")
        constraints = [
            models.CheckConstraint(condition=models.Q(source_kind__in=SourceKind.values), name="immunization_source"),
            models.CheckConstraint(
                condition=models.Q(dose_number__isnull=True) | models.Q(dose_number__gte=1), name="immunization_dose"
            ),
        ]
        indexes = [models.Index(fields=["citizen", "-occurrence_date", "-id"], name="immunization_list_idx")]

    def __str__(self) -> str:
        return self.vaccine_label
