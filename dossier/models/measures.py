"""Mesures de santé, stored as the validated FHIR R4 Observation with indexed columns for search."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.acces.models import AppHabilitation
from mes.comptes.models import Citizen


class MeasureKind(models.TextChoices):
    """The ten measures of the ANS « mesures de santé » guide (DOMAIN.md §5)."""

    WEIGHT = "poids", _("Poids")
    HEIGHT = "taille", _("Taille")
    BMI = "imc", _("Indice de masse corporelle (IMC)")
    WAIST = "tour-de-taille", _("Tour de taille")
    TEMPERATURE = "temperature", _("Température")
    GLUCOSE = "glycemie", _("Glycémie")
    BLOOD_PRESSURE = "tension", _("Tension artérielle")
    HEART_RATE = "frequence-cardiaque", _("Fréquence cardiaque")
    PAIN = "douleur", _("Niveau de douleur")
    STEPS = "pas", _("Nombre de pas")


class SourceKind(models.TextChoices):
    CITIZEN = "citizen", _("Saisie par l’usager")
    PROFESSIONAL = "professional", _("Un professionnel de santé")
    APP = "app", _("Un service référencé")
    COMPUTED = "computed", _("Calculée par Mon espace santé")


class Device(models.Model):
    """A measuring device (scale, blood pressure monitor...) declared by a referenced app with its measures.

    It belongs to the app's habilitation, not to a citizen: the editor names it ``urn:oid:<editor OID>|<device id>``
    and every measure of that device, whoever it measures, references the same row. The unique identifier makes the
    conditional create of the transaction Bundles (``ifNoneExist``) safe under concurrency.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    habilitation = models.ForeignKey(
        AppHabilitation, on_delete=models.CASCADE, related_name="devices", verbose_name=_("service")
    )
    identifier_system = models.CharField(_("système de l’identifiant"), max_length=255)
    identifier_value = models.CharField(_("identifiant"), max_length=255)
    # The FHIR R4 Device as validated, answered as is (with its ``id``) by ``GET /api/fhir/Device/<id>``.
    resource = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("appareil de mesure")
        verbose_name_plural = _("appareils de mesure")
        constraints = [
            models.UniqueConstraint(
                fields=["habilitation", "identifier_system", "identifier_value"], name="device_identifier_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.identifier_system}|{self.identifier_value}"


class Measure(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="measures")
    kind = models.CharField(_("mesure"), max_length=20, choices=MeasureKind.choices)
    effective_at = models.DateTimeField(_("date et heure de la mesure"))
    # Search columns extracted from the resource: the value (systolic for blood pressure), the second value
    # (diastolic), the UCUM unit, and for glucose the LOINC code of the moment of measurement.
    value = models.DecimalField(max_digits=10, decimal_places=3)
    value_secondary = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    unit = models.CharField(max_length=20)
    glucose_moment = models.CharField(max_length=10, blank=True)
    source_kind = models.CharField(_("source"), max_length=12, choices=SourceKind.choices)
    source_label = models.CharField(_("source (affichée)"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The device that took the measure, when an app sent one (its resource names it ``Device/<public id>``).
    # Indexed by the partial index below only: most measures have no device, and the column is added to a big table.
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="measures", db_index=False
    )
    # The FHIR R4 Observation as validated (fhir.resources + French profile rules), answered as is by the API.
    resource = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("mesure de santé")
        verbose_name_plural = _("mesures de santé")
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=MeasureKind.values), name="measure_kind"),
            models.CheckConstraint(condition=models.Q(source_kind__in=SourceKind.values), name="measure_source"),
            # Blood pressure, and only it, has a second value (diastolic).
            models.CheckConstraint(
                condition=models.Q(kind="tension", value_secondary__isnull=False)
                | (~models.Q(kind="tension") & models.Q(value_secondary__isnull=True)),
                name="measure_secondary_only_bp",
            ),
        ]
        indexes = [
            # A measure page: newest first, keyset on (effective_at, id).
            models.Index(fields=["citizen", "kind", "-effective_at", "-id"], name="measure_list_idx"),
            # Measures of a device (a device deleted with its app's habilitation unlinks them).
            models.Index(fields=["device"], condition=models.Q(device__isnull=False), name="measure_device_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} {self.unit}"
