"""Documents of the dossier, with the metadata of the PDSm / XDS profile (CI-SIS « Partage de documents de santé »)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Citizen


class DocumentCategory(models.TextChoices):
    """The simplified categories shown to citizens (DOMAIN.md §5)."""

    PRESCRIPTIONS = "ordonnances_soins", _("Ordonnances et soins")
    RESULTS = "resultats_examens", _("Résultats d’examens")
    IMAGING = "imagerie", _("Imagerie médicale")
    REPORTS = "comptes_rendus", _("Comptes rendus")
    CERTIFICATES = "certificats", _("Certificats")
    VACCINATIONS = "vaccinations", _("Vaccinations")
    PREVENTION = "prevention", _("Prévention")
    OTHER = "autres", _("Autres documents")


class AuthorKind(models.TextChoices):
    CITIZEN = "citizen", _("L’usager")
    PROFESSIONAL = "professional", _("Un professionnel de santé")
    APP = "app", _("Un service référencé")


class DocumentFormat(models.TextChoices):
    """Formats accepted, recognised by content (never by name or declared type)."""

    PDF = "pdf", "PDF"
    JPEG = "jpeg", "JPEG"
    PNG = "png", "PNG"
    CDA = "cda", _("CDA R2 (XML)")


def document_upload_to(instance: "Document", filename: str) -> str:
    """A server-generated name: nothing of the uploaded name reaches the storage."""
    return f"dossier/{instance.citizen.public_id}/documents/{uuid.uuid4().hex}"


class Document(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("titre"), max_length=200)
    category = models.CharField(_("catégorie"), max_length=20, choices=DocumentCategory.choices)
    type_code = models.CharField(_("type de document (LOINC)"), max_length=20)
    act_date = models.DateField(_("date de l’acte"))
    author_kind = models.CharField(_("auteur"), max_length=12, choices=AuthorKind.choices)
    # The author as shown: « Vous », « Dr Marie Curie », the app's name. The account, when it still exists.
    author_label = models.CharField(_("auteur (affiché)"), max_length=200)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where the document came from (XDS sourceId / app name / « Ajouté depuis Mon espace santé »).
    source_label = models.CharField(_("source"), max_length=200)
    # Confidentiality: MASQUE_PS (hidden from professionals, except the médecin traitant), set by the citizen.
    hidden_from_professionals = models.BooleanField(_("masqué aux professionnels"), default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)
    # The stored file: server-generated name, detected format, size and SHA-256 computed while streaming.
    file = models.FileField(upload_to=document_upload_to, max_length=255)
    original_name = models.CharField(_("nom du fichier"), max_length=150)
    format = models.CharField(_("format"), max_length=4, choices=DocumentFormat.choices)
    content_type = models.CharField(max_length=50)
    size_bytes = models.BigIntegerField(_("taille (octets)"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("ajouté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.CheckConstraint(condition=models.Q(category__in=DocumentCategory.values), name="document_category"),
            models.CheckConstraint(condition=models.Q(author_kind__in=AuthorKind.values), name="document_author"),
            models.CheckConstraint(condition=models.Q(format__in=DocumentFormat.values), name="document_format"),
            models.CheckConstraint(condition=models.Q(size_bytes__gte=0), name="document_size"),
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256"),
        ]
        indexes = [
            # The list: newest act first, keyset on (act_date, id).
            models.Index(fields=["citizen", "-act_date", "-id"], name="document_list_idx"),
            models.Index(fields=["citizen", "category", "-act_date", "-id"], name="document_category_idx"),
        ]

    def __str__(self) -> str:
        return self.title
