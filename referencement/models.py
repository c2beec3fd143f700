"""Référencement: the editors' requests (dossiers), their workflow, the commission's work, conventions and audits.

A dossier asks for one Convergence product to be referenced in the catalogue (DOMAIN.md §10). Its ``state`` moves
only through ``referencement.workflow`` (an explicit state machine); each move is an ``Event`` of its timeline and a
journal row. The catalogue sheet is filled on the dossier and copied into the catalogue at publication; the
Convergence extract is frozen in the dossier at submission, so that what the commission reads cannot change.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalogue.models import (
    AccessibilityCompliance,
    Category,
    DataExchange,
    MedicalDeviceClass,
    PriceModel,
    ServiceKind,
    phone_number,
)
from catalogue.validators import app_store_url, google_play_url, https_url
from convergence.models import Procedure
from mes.comptes.models import Organisation

# The PostgreSQL sequence behind the dossiers' public references (REF-<year>-<6 digits>, created by migration 0001).
DOSSIER_REFERENCE_SEQUENCE = "referencement_dossier_reference_seq"
OID_REGEX = r"^[0-2](\.(0|[1-9][0-9]*))+$"
SHA256_REGEX = r"^[0-9a-f]{64}$"


class DossierKind(models.TextChoices):
    INITIAL = "initiale", _("Première demande")
    MAJOR_VERSION = "version_majeure", _("Nouvelle version majeure")
    RENEWAL = "renouvellement", _("Renouvellement")


class Purpose(models.TextChoices):
    """The purpose declared for the service. Data exchange requires one of the first four (DOMAIN.md §10.2)."""

    PREVENTION = "prevention", _("Prévention")
    DIAGNOSIS = "diagnostic", _("Diagnostic")
    CARE = "soins", _("Soins")
    SOCIAL_FOLLOW_UP = "suivi_social", _("Suivi social ou médico-social")
    INFORMATION = "information", _("Information en santé")
    WELLBEING = "bien_etre", _("Bien-être")


EXCHANGE_PURPOSES = (Purpose.PREVENTION, Purpose.DIAGNOSIS, Purpose.CARE, Purpose.SOCIAL_FOLLOW_UP)


class State(models.TextChoices):
    DRAFT = "brouillon", _("Brouillon")
    SUBMITTED = "soumis", _("Déposé — recevabilité en cours")
    COMPLETION = "a_completer", _("À compléter")
    INSTRUCTION = "instruction", _("En instruction")
    TECHNICAL_TESTS = "tests", _("Tests d’accrochage")
    COMMISSION = "commission", _("Examen par la commission")
    ADJOURNED = "ajourne", _("Ajourné — informations demandées")
    OPINION = "avis", _("Avis rendu — décision en attente")
    CONVENTION = "convention", _("Convention à signer")
    PUBLISHED = "publie", _("Publié au catalogue")
    SUSPENDED = "suspendu", _("Suspendu")
    WITHDRAWN = "retire", _("Retiré")
    REFUSED = "refuse", _("Refusé")
    CLOSED = "classe", _("Classé sans suite")
    ABANDONED = "abandonne", _("Abandonné par l’éditeur")
    SUPERSEDED = "remplace", _("Remplacé par une demande plus récente")


# States in which the editor may still change the dossier's content.
EDITABLE_STATES = (State.DRAFT, State.COMPLETION)
# States that end a dossier for good.
FINAL_STATES = (State.WITHDRAWN, State.REFUSED, State.CLOSED, State.ABANDONED, State.SUPERSEDED)
# States in which the commission has the dossier in its queue or its history.
COMMISSION_STATES = (State.COMMISSION, State.ADJOURNED, State.OPINION)


def logo_upload_to(instance: Dossier, filename: str) -> str:
    return f"referencement/{instance.public_id}/logo-{uuid.uuid4().hex}.png"


def screenshot_upload_to(instance: DossierScreenshot, filename: str) -> str:
    return f"referencement/{instance.dossier.public_id}/captures/{uuid.uuid4().hex}.png"


def convention_upload_to(instance: Convention, filename: str) -> str:
    return f"referencement/{instance.dossier.public_id}/convention-{uuid.uuid4().hex}.pdf"


def audit_file_upload_to(instance: AuditFile, filename: str) -> str:
    return f"referencement/audits/{instance.audit.public_id}/{uuid.uuid4().hex}"


class Dossier(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # REF-<year>-<6 digits>, drawn from a PostgreSQL sequence: stable and never reused.
    reference = models.CharField(_("référence"), max_length=20, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="referencement_dossiers")
    product = models.ForeignKey(
        "convergence.Product",
        on_delete=models.PROTECT,
        related_name="referencement_dossiers",
        verbose_name=_("produit"),
    )
    kind = models.CharField(_("nature de la demande"), max_length=20, choices=DossierKind.choices)
    # The published dossier this one updates (a major version, a renewal).
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="updates", verbose_name=_("remplace")
    )
    state = models.CharField(_("état"), max_length=16, choices=State.choices, default=State.DRAFT)
    state_changed_at = models.DateTimeField(_("état modifié le"), auto_now_add=True)
    # Procedure and purpose.
    procedure = models.CharField(_("procédure"), max_length=16, choices=Procedure.choices)
    purpose = models.CharField(_("finalité"), max_length=16, choices=Purpose.choices, blank=True)
    purpose_details = models.TextField(_("description de la finalité"), max_length=2000, blank=True)
    # For data exchange: the organisation's OID (AFNOR) and the app's exact redirect URIs.
    oid = models.CharField(_("OID de l’organisation"), max_length=64, blank=True)
    redirect_uris = ArrayField(
        models.CharField(max_length=500), default=list, blank=True, verbose_name=_("URI de redirection")
    )
    # The catalogue sheet (copied into catalogue.Service at publication).
    name = models.CharField(_("nom du service"), max_length=80, blank=True)
    short_description = models.CharField(_("description courte"), max_length=160, blank=True)
    long_description = models.TextField(_("description longue"), max_length=4000, blank=True)
    category = models.CharField(_("catégorie"), max_length=20, choices=Category.choices, blank=True)
    service_kind = models.CharField(_("type de service"), max_length=20, choices=ServiceKind.choices, blank=True)
    website_url = models.URLField(_("site web"), max_length=500, blank=True, validators=[https_url])
    app_store_url = models.URLField(_("lien App Store"), max_length=500, blank=True, validators=[app_store_url])
    google_play_url = models.URLField(_("lien Google Play"), max_length=500, blank=True, validators=[google_play_url])
    price_model = models.CharField(_("modèle économique"), max_length=20, choices=PriceModel.choices, blank=True)
    price_details = models.CharField(_("précisions sur le prix"), max_length=200, blank=True)
    medical_device = models.BooleanField(_("dispositif médical marqué CE"), default=False)
    medical_device_class = models.CharField(
        _("classe du dispositif médical"), max_length=3, choices=MedicalDeviceClass.choices, blank=True
    )
    connected_objects = models.BooleanField(_("fonctionne avec des objets connectés"), default=False)
    connected_objects_details = models.CharField(_("objets connectés"), max_length=200, blank=True)
    support_email = models.EmailField(_("adresse électronique du support"), blank=True)
    support_phone = models.CharField(_("téléphone du support"), max_length=25, blank=True, validators=[phone_number])
    support_url = models.URLField(_("page d’aide"), max_length=500, blank=True, validators=[https_url])
    accessibility_compliance = models.CharField(
        _("conformité à l’accessibilité (RGAA)"),
        max_length=20,
        choices=AccessibilityCompliance.choices,
        default=AccessibilityCompliance.NOT_ASSESSED,
    )
    accessibility_url = models.URLField(
        _("déclaration d’accessibilité"), max_length=500, blank=True, validators=[https_url]
    )
    logo = models.FileField(_("logo"), upload_to=logo_upload_to, max_length=255, blank=True)
    logo_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # The Convergence extract, frozen at (each) submission: the JSON of convergence.exports.export_data, checksum
    # included. The PDF is rendered from it on demand.
    extract = models.JSONField(_("extrait Convergence"), null=True, blank=True, editable=False)
    extract_checksum = models.CharField(max_length=64, blank=True, editable=False)
    # Admissibility: the deadline to complete the dossier, when it was returned (or adjourned by the commission).
    response_deadline = models.DateTimeField(_("date limite de réponse"), null=True, blank=True)
    # The round of commission examination (a new one after an adjournment): votes and opinions belong to a round.
    commission_round = models.PositiveSmallIntegerField(default=0)
    # Technical tests: the sandbox app and its test citizen.
    sandbox_habilitation = models.OneToOneField(
        "acces.AppHabilitation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sandbox_dossier",
        verbose_name=_("application du bac à sable"),
    )
    sandbox_citizen = models.ForeignKey(
        "comptes.Citizen",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("usager de test"),
    )
    # The decision: the exchanges granted (a subset of those requested).
    granted_exchanges = ArrayField(
        models.CharField(max_length=30, choices=DataExchange.choices),
        default=list,
        blank=True,
        verbose_name=_("données accordées"),
    )
    # Publication: the catalogue entry (kept across updates and renewals) and the production app.
    service = models.ForeignKey(
        "catalogue.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referencement_dossiers",
        verbose_name=_("fiche du catalogue"),
    )
    habilitation = models.ForeignKey(
        "acces.AppHabilitation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referencement_dossiers",
        verbose_name=_("habilitation"),
    )
    published_at = models.DateTimeField(_("publié le"), null=True, blank=True)
    # Until when the référencement holds (end of the convention); a renewal is asked before.
    valid_until = models.DateField(_("référencé jusqu’au"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("créé par")
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    submitted_at = models.DateTimeField(_("déposé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("dossier de référencement")
        verbose_name_plural = _("dossiers de référencement")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reference__regex=r"^REF-[0-9]{4}-[0-9]{6}$"), name="referencement_dossier_reference"
            ),
            models.CheckConstraint(condition=Q(state__in=State.values), name="referencement_dossier_state"),
            models.CheckConstraint(condition=Q(kind__in=DossierKind.values), name="referencement_dossier_kind"),
            models.CheckConstraint(condition=Q(procedure__in=Procedure.values), name="referencement_dossier_procedure"),
            models.CheckConstraint(condition=Q(oid="") | Q(oid__regex=OID_REGEX), name="referencement_dossier_oid"),
            models.CheckConstraint(
                condition=Q(granted_exchanges__contained_by=DataExchange.values),
                name="referencement_dossier_granted",
            ),
            models.CheckConstraint(
                condition=Q(kind=DossierKind.INITIAL, previous__isnull=True)
                | (~Q(kind=DossierKind.INITIAL) & Q(previous__isnull=False)),
                name="referencement_dossier_previous",
            ),
            models.CheckConstraint(
                condition=Q(logo="", logo_sha256="") | (~Q(logo="") & Q(logo_sha256__regex=SHA256_REGEX)),
                name="referencement_dossier_logo",
            ),
            # Only one open request at a time per product (a major version is a new product in Convergence).
            models.UniqueConstraint(
                fields=["product"],
                condition=~Q(state__in=[*FINAL_STATES, State.PUBLISHED, State.SUSPENDED]),
                name="referencement_dossier_one_open_per_product",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="referencement_dossier_org"),
            models.Index(fields=["state", "state_changed_at"], name="referencement_dossier_state_ix"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.name or self.product.name}"

    @property
    def with_data_exchange(self) -> bool:
        return self.procedure == Procedure.AVEC_ECHANGE

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def logo_key(self) -> str:
        return self.logo_sha256[:16]


class RequestedExchange(models.Model):
    """A data exchange the editor asks for, with its justification (procedure with data exchange)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="requested_exchanges")
    exchange = models.CharField(_("donnée"), max_length=30, choices=DataExchange.choices)
    justification = models.TextField(_("justification"), max_length=1000)

    class Meta:
        verbose_name = _("donnée demandée")
        verbose_name_plural = _("données demandées")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "exchange"], name="referencement_exchange_unique"),
            models.CheckConstraint(condition=Q(exchange__in=DataExchange.values), name="referencement_exchange_code"),
            models.CheckConstraint(condition=~Q(justification=""), name="referencement_exchange_justified"),
        ]

    def __str__(self) -> str:
        return self.get_exchange_display()


class DossierScreenshot(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="screenshots")
    image = models.FileField(_("image"), upload_to=screenshot_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    alt_text = models.CharField(_("texte alternatif"), max_length=200)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("capture d’écran")
        verbose_name_plural = _("captures d’écran")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(alt_text=""), name="referencement_screenshot_alt"),
            models.CheckConstraint(condition=Q(sha256__regex=SHA256_REGEX), name="referencement_screenshot_sha256"),
        ]

    def __str__(self) -> str:
        return self.alt_text


class Event(models.Model):
    """One step of a dossier's timeline: a transition of its state machine, with who, when and why."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="events")
    transition = models.CharField(_("étape"), max_length=40)
    from_state = models.CharField(_("état précédent"), max_length=16, choices=State.choices)
    to_state = models.CharField(_("nouvel état"), max_length=16, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("auteur"), max_length=200, blank=True)
    comment = models.TextField(_("commentaire"), max_length=4000, blank=True)
    details = models.JSONField(_("détails"), default=dict, blank=True)
    created_at = models.DateTimeField(_("date"), auto_now_add=True)

    class Meta:
        verbose_name = _("étape du dossier")
        verbose_name_plural = _("étapes du dossier")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["dossier", "created_at"], name="referencement_event_dossier")]

    def __str__(self) -> str:
        return f"{self.dossier_id}: {self.from_state} → {self.to_state}"


# --- Commission ----------------------------------------------------------------------------------------------------


class OpinionResult(models.TextChoices):
    FAVOURABLE = "favorable", _("Favorable")
    RESERVATIONS = "reserves", _("Favorable avec réserves")
    UNFAVOURABLE = "defavorable", _("Défavorable")
    ADJOURNED = "ajourne", _("Ajourné pour complément d’information")


class ConflictOfInterest(models.Model):
    """A member declares a conflict of interest on a dossier: they may then not vote on it."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="conflicts")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(_("nature du lien d’intérêt"), max_length=1000)
    declared_at = models.DateTimeField(_("déclaré le"), auto_now_add=True)

    class Meta:
        verbose_name = _("conflit d’intérêts")
        verbose_name_plural = _("conflits d’intérêts")
        constraints = [models.UniqueConstraint(fields=["dossier", "member"], name="referencement_conflict_unique")]

    def __str__(self) -> str:
        return f"{self.member} — {self.dossier}"


class CommissionComment(models.Model):
    """A private comment between commission members (and administrators) on a dossier; never shown to editors."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="commission_comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(_("commentaire"), max_length=4000)
    created_at = models.DateTimeField(_("écrit le"), auto_now_add=True)

    class Meta:
        verbose_name = _("commentaire de la commission")
        verbose_name_plural = _("commentaires de la commission")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


class Vote(models.Model):
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="votes")
    round = models.PositiveSmallIntegerField(_("séance"))
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(_("vote"), max_length=16, choices=OpinionResult.choices)
    reason = models.TextField(_("motif"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("voté le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.UniqueConstraint(fields=["dossier", "round", "member"], name="referencement_vote_unique"),
            models.CheckConstraint(condition=Q(choice__in=OpinionResult.values), name="referencement_vote_choice"),
        ]

    def __str__(self) -> str:
        return f"{self.member} — {self.get_choice_display()}"


class Opinion(models.Model):
    """The commission's opinion (avis) adopted for one round of examination."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="opinions")
    round = models.PositiveSmallIntegerField(_("séance"))
    result = models.CharField(_("avis"), max_length=16, choices=OpinionResult.choices)
    reasons = models.TextField(_("motifs"), max_length=4000)
    reservations = models.TextField(_("réserves"), max_length=4000, blank=True)
    # The count of votes per choice when it was adopted, e.g. {"favorable": 5, "reserves": 1}.
    tally = models.JSONField(_("décompte des votes"), default=dict)
    adopted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    adopted_at = models.DateTimeField(_("adopté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("avis de la commission")
        verbose_name_plural = _("avis de la commission")
        ordering = ["round"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "round"], name="referencement_opinion_unique"),
            models.CheckConstraint(condition=Q(result__in=OpinionResult.values), name="referencement_opinion_result"),
            models.CheckConstraint(
                condition=~Q(result=OpinionResult.RESERVATIONS) | ~Q(reservations=""),
                name="referencement_opinion_reservations",
            ),
        ]

    def __str__(self) -> str:
        return self.get_result_display()


class DecisionResult(models.TextChoices):
    GRANTED = "accorde", _("Référencement accordé")
    REFUSED = "refuse", _("Référencement refusé")


class Decision(models.Model):
    """The decision taken by an administrator acting for the minister, after the commission's opinion."""

    dossier = models.OneToOneField(Dossier, on_delete=models.CASCADE, related_name="decision")
    result = models.CharField(_("décision"), max_length=10, choices=DecisionResult.choices)
    granted_exchanges = ArrayField(
        models.CharField(max_length=30, choices=DataExchange.choices),
        default=list,
        blank=True,
        verbose_name=_("données accordées"),
    )
    reasons = models.TextField(_("motifs"), max_length=4000)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    decided_at = models.DateTimeField(_("décidé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("décision")
        verbose_name_plural = _("décisions")
        constraints = [
            models.CheckConstraint(condition=Q(result__in=DecisionResult.values), name="referencement_decision_result"),
            models.CheckConstraint(
                condition=Q(result=DecisionResult.GRANTED) | Q(granted_exchanges=[]),
                name="referencement_decision_refused_grants_nothing",
            ),
        ]

    def __str__(self) -> str:
        return self.get_result_display()


class Convention(models.Model):
    """The convention generated after a favourable decision, and its electronic signature by the editor."""

    dossier = models.OneToOneField(Dossier, on_delete=models.CASCADE, related_name="convention")
    document = models.FileField(_("convention"), upload_to=convention_upload_to, max_length=255)
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    generated_at = models.DateTimeField(_("générée le"), auto_now_add=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    signer_name = models.CharField(_("signataire"), max_length=200, blank=True)
    signer_capacity = models.CharField(_("qualité du signataire"), max_length=200, blank=True)
    signed_at = models.DateTimeField(_("signée le"), null=True, blank=True)
    # The SHA-256 the signer saw and approved (must equal ``sha256``).
    signed_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("convention")
        verbose_name_plural = _("conventions")
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=SHA256_REGEX), name="referencement_convention_sha256"),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_sha256="")
                | Q(signed_at__isnull=False, signed_sha256=models.F("sha256")),
                name="referencement_convention_signature",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dossier}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


# --- Audits --------------------------------------------------------------------------------------------------------


class AuditState(models.TextChoices):
    OPEN = "ouvert", _("En attente des pièces")
    ANSWERED = "repondu", _("Pièces déposées — en examen")
    PASSED = "conforme", _("Conforme")
    FAILED = "non_conforme", _("Non conforme")
    EXPIRED = "sans_reponse", _("Sans réponse dans le délai")


class Audit(models.Model):
    """A random audit of a published service (arrêté of 20 November 2023): evidence asked with a deadline."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="audits")
    state = models.CharField(_("état"), max_length=16, choices=AuditState.choices, default=AuditState.OPEN)
    requested_evidence = models.TextField(_("pièces demandées"), max_length=4000)
    deadline = models.DateTimeField(_("date limite"))
    opened_at = models.DateTimeField(_("ouvert le"), auto_now_add=True)
    # The month of the draw (first day), so that a draw run twice in a month opens no second case.
    drawn_for = models.DateField(_("tirage du mois"), null=True, blank=True)
    response = models.TextField(_("réponse de l’éditeur"), max_length=4000, blank=True)
    answered_at = models.DateTimeField(_("répondu le"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conclusion = models.TextField(_("conclusion"), max_length=4000, blank=True)
    concluded_at = models.DateTimeField(_("conclu le"), null=True, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("audit")
        verbose_name_plural = _("audits")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=AuditState.values), name="referencement_audit_state"),
            models.UniqueConstraint(
                fields=["dossier", "drawn_for"], condition=Q(drawn_for__isnull=False), name="referencement_audit_draw"
            ),
        ]
        indexes = [models.Index(fields=["state", "deadline"], name="referencement_audit_due")]

    def __str__(self) -> str:
        return f"{self.dossier} — {self.get_state_display()}"


class AuditFile(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=audit_file_upload_to, max_length=255)
    filename = models.CharField(_("nom du fichier"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pièce d’audit")
        verbose_name_plural = _("pièces d’audit")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.filename


def dossier_reference_next(now=None) -> str:
    """A new REF-<year>-<6 digits> reference, from the sequence (never handed out twice)."""
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [DOSSIER_REFERENCE_SEQUENCE])
        number = cursor.fetchone()[0]
    return f"REF-{(now or timezone.now()).year}-{number:06d}"
