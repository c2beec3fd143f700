"""Convergence: the referential (versions, questionnaires, sections, criteria), products and their answers.

The referential is data loaded from files (``convergence.referential``); its rows are never modified once loaded:
a new version is a new set of rows, so answers given to an older version stay readable as they were given.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Organisation

# The PostgreSQL sequence behind the products' public references (created by migration 0001): a sequence never
# hands out the same number twice, even when the transaction that drew it rolls back.
PRODUCT_REFERENCE_SEQUENCE = "convergence_product_reference_seq"


class Procedure(models.TextChoices):
    SANS_ECHANGE = "sans_echange", _("Sans échange de données")
    AVEC_ECHANGE = "avec_echange", _("Avec échange de données")


class Platform(models.TextChoices):
    WEB = "web", _("Web")
    ANDROID = "android", _("Android")
    IOS = "ios", _("iOS")


class ProductType(models.TextChoices):
    MOBILE_APP = "application_mobile", _("Application mobile")
    WEBSITE = "site_web", _("Site web")
    SOFTWARE = "logiciel", _("Logiciel")
    CONNECTED_OBJECT = "objet_connecte", _("Objet connecté et son application")
    PLATFORM = "plateforme", _("Plateforme de services")


class QuestionnaireMode(models.TextChoices):
    ONLINE = "en_ligne", _("Répondu en ligne")
    TEMPLATE = "modele", _("Modèle téléchargé, rempli et déposé")


class CriterionType(models.TextChoices):
    YES_NO_NA = "oui_non_na", _("Oui / Non / Non applicable")
    CHOICE = "choix", _("Choix")
    NUMBER = "nombre", _("Nombre")
    TEXT = "texte", _("Texte")
    EVIDENCE = "preuve", _("Fichier de preuve")


class Requirement(models.TextChoices):
    MANDATORY = "obligatoire", _("Obligatoire")
    OPTIONAL = "optionnel", _("Optionnel")


class EvidenceRule(models.TextChoices):
    NONE = "aucune", _("Aucune preuve")
    OPTIONAL = "facultative", _("Preuve facultative")
    REQUIRED = "requise", _("Preuve requise")


PLATFORM_VALUES = [choice.value for choice in Platform]


class Referential(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.CharField(_("version"), max_length=20, unique=True)
    title = models.CharField(_("titre"), max_length=200)
    published_on = models.DateField(_("publié le"))
    loaded_at = models.DateTimeField(_("chargé le"), auto_now_add=True)
    is_current = models.BooleanField(_("version en vigueur"), default=False)
    # SHA-256 of the canonical JSON of the parsed files: loading the same version again with another content is
    # refused, since a published version never changes.
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("référentiel Convergence")
        verbose_name_plural = _("référentiels Convergence")
        ordering = ["-published_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="convergence_one_current_referential"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.version})"


class Questionnaire(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    referential = models.ForeignKey(Referential, on_delete=models.PROTECT, related_name="questionnaires")
    code = models.CharField(_("code"), max_length=40)
    title = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    mode = models.CharField(_("mode"), max_length=10, choices=QuestionnaireMode.choices)
    procedures = ArrayField(models.CharField(max_length=16, choices=Procedure.choices), verbose_name=_("démarches"))
    profiles = ArrayField(models.CharField(max_length=120), default=list, blank=True, verbose_name=_("profils"))
    position = models.PositiveSmallIntegerField(_("rang"))

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        ordering = ["referential", "position"]
        constraints = [
            models.UniqueConstraint(fields=["referential", "code"], name="convergence_questionnaire_code_unique"),
            models.CheckConstraint(condition=Q(code__regex=r"^[a-z_]+$"), name="convergence_questionnaire_code"),
            models.CheckConstraint(
                condition=Q(mode__in=QuestionnaireMode.values), name="convergence_questionnaire_mode"
            ),
            models.CheckConstraint(
                condition=Q(procedures__len__gt=0) & Q(procedures__contained_by=Procedure.values),
                name="convergence_questionnaire_procedures",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def requires(self, procedure: str) -> bool:
        return procedure in self.procedures


class Section(models.Model):
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="sections")
    code = models.CharField(_("code"), max_length=60)
    title = models.CharField(_("titre"), max_length=200)
    position = models.PositiveSmallIntegerField(_("rang"))

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["questionnaire", "position"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "code"], name="convergence_section_code_unique"),
            models.CheckConstraint(condition=Q(code__regex=r"^[a-z_]+$"), name="convergence_section_code"),
        ]

    def __str__(self) -> str:
        return self.title


class Criterion(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="criteria")
    # Denormalised so that a version's criteria are read (and their ids kept unique) without joins.
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="criteria")
    referential = models.ForeignKey(Referential, on_delete=models.PROTECT, related_name="criteria")
    criterion_id = models.CharField(_("identifiant"), max_length=10)
    wording = models.TextField(_("libellé"))
    help = models.TextField(_("aide"), blank=True)
    type = models.CharField(_("type de réponse"), max_length=12, choices=CriterionType.choices)
    requirement = models.CharField(_("exigence"), max_length=12, choices=Requirement.choices)
    # The level expected for Mon espace santé: "oui"/"non", a list of choice values, {"min": x, "max": y},
    # "renseigne" or "fournie", by type (see docs/convergence.md).
    expected = models.JSONField(_("niveau attendu"))
    evidence = models.CharField(_("preuve"), max_length=12, choices=EvidenceRule.choices)
    choices = models.JSONField(_("choix"), default=list, blank=True)  # [{"value": …, "label": …}, …]
    unit = models.CharField(_("unité"), max_length=20, blank=True)
    min_value = models.DecimalField(_("minimum"), max_digits=14, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=14, decimal_places=4, null=True, blank=True)
    not_applicable_allowed = models.BooleanField(_("« non applicable » admis"), default=False)
    position = models.PositiveSmallIntegerField(_("rang"))

    class Meta:
        verbose_name = _("critère")
        verbose_name_plural = _("critères")
        ordering = ["questionnaire__position", "section__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["referential", "criterion_id"], name="convergence_criterion_id_unique"),
            models.CheckConstraint(
                condition=Q(criterion_id__regex=r"^[A-Z]{2,5}-[0-9]{2,3}$"), name="convergence_criterion_id_format"
            ),
            models.CheckConstraint(condition=Q(type__in=CriterionType.values), name="convergence_criterion_type"),
            models.CheckConstraint(
                condition=Q(requirement__in=Requirement.values), name="convergence_criterion_requirement"
            ),
            models.CheckConstraint(
                condition=Q(evidence__in=EvidenceRule.values), name="convergence_criterion_evidence"
            ),
            models.CheckConstraint(
                condition=~Q(type=CriterionType.EVIDENCE) | Q(evidence=EvidenceRule.REQUIRED),
                name="convergence_criterion_preuve_requires_evidence",
            ),
            models.CheckConstraint(
                condition=Q(not_applicable_allowed=False) | Q(type=CriterionType.YES_NO_NA),
                name="convergence_criterion_na_only_yes_no",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=models.F("max_value")),
                name="convergence_criterion_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id} — {self.wording[:80]}"

    @property
    def is_mandatory(self) -> bool:
        return self.requirement == Requirement.MANDATORY

    @property
    def evidence_required(self) -> bool:
        return self.evidence == EvidenceRule.REQUIRED

    def choice_label(self, value: str) -> str:
        return next((choice["label"] for choice in self.choices if choice["value"] == value), value)


class Product(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="convergence_products")
    name = models.CharField(_("nom du service"), max_length=150)
    version = models.CharField(_("version"), max_length=40)
    product_type = models.CharField(_("type"), max_length=20, choices=ProductType.choices)
    platforms = ArrayField(models.CharField(max_length=8, choices=Platform.choices), verbose_name=_("plateformes"))
    procedure = models.CharField(_("démarche"), max_length=16, choices=Procedure.choices)
    # CONV-<year>-<6 digits>, drawn from a PostgreSQL sequence: stable and never reused.
    reference = models.CharField(_("référence"), max_length=20, unique=True, editable=False)
    referential = models.ForeignKey(Referential, on_delete=models.PROTECT, related_name="products")
    answers_per_platform = models.BooleanField(_("réponses par plateforme"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("déclaré par")
    )
    created_at = models.DateTimeField(_("déclaré le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("produit Convergence")
        verbose_name_plural = _("produits Convergence")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reference__regex=r"^CONV-[0-9]{4}-[0-9]{6}$"), name="convergence_product_reference"
            ),
            models.CheckConstraint(
                condition=Q(platforms__len__gt=0) & Q(platforms__contained_by=PLATFORM_VALUES),
                name="convergence_product_platforms",
            ),
            models.CheckConstraint(condition=Q(procedure__in=Procedure.values), name="convergence_product_procedure"),
            models.CheckConstraint(condition=Q(product_type__in=ProductType.values), name="convergence_product_type"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.reference})"

    @property
    def answer_platforms(self) -> list[str]:
        """The platforms answered separately: each of the product's, or the single common set ("")."""
        return list(self.platforms) if self.answers_per_platform else [""]


class Answer(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="answers")
    platform = models.CharField(_("plateforme"), max_length=8, blank=True, default="")  # "" for all platforms
    value = models.JSONField(_("réponse"), null=True, blank=True)
    comment = models.TextField(_("commentaire"), blank=True)
    # Optimistic locking: a write names the revision it was based on and fails if another writer came first.
    revision = models.PositiveIntegerField(_("révision"), default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("modifié par")
    )
    updated_at = models.DateTimeField(_("modifié le"))

    class Meta:
        verbose_name = _("réponse")
        verbose_name_plural = _("réponses")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "criterion", "platform"], name="convergence_answer_unique_per_platform"
            ),
            models.CheckConstraint(
                condition=Q(platform__in=["", *PLATFORM_VALUES]), name="convergence_answer_platform"
            ),
            models.CheckConstraint(condition=Q(revision__gte=1), name="convergence_answer_revision"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion.criterion_id} {self.platform or '*'} r{self.revision}"


def evidence_upload_to(instance: EvidenceFile, filename: str) -> str:
    """A server-generated name: nothing of the uploaded name reaches the storage."""
    return f"convergence/{instance.product.public_id}/preuves/{uuid.uuid4().hex}"


class EvidenceFile(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="evidence_files")
    file = models.FileField(upload_to=evidence_upload_to, max_length=255)
    original_name = models.CharField(_("nom du fichier"), max_length=150)
    format = models.CharField(_("format"), max_length=4)
    content_type = models.CharField(max_length=50)
    size_bytes = models.BigIntegerField(_("taille (octets)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("déposé par")
    )
    uploaded_at = models.DateTimeField(_("déposé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("fichier de preuve")
        verbose_name_plural = _("fichiers de preuve")
        constraints = [
            models.CheckConstraint(condition=Q(format__in=["pdf", "jpeg", "png"]), name="convergence_evidence_format"),
            models.CheckConstraint(condition=Q(size_bytes__gt=0), name="convergence_evidence_size"),
        ]

    def __str__(self) -> str:
        return self.original_name


class AnswerEvidence(models.Model):
    """An evidence file attached to an answer; duplicating answers copies these links, never the files."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="evidence_links")
    evidence = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT, related_name="links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("preuve d’une réponse")
        verbose_name_plural = _("preuves des réponses")
        constraints = [
            models.UniqueConstraint(fields=["answer", "evidence"], name="convergence_answer_evidence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.answer_id} ← {self.evidence_id}"
