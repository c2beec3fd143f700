"""The citizen's MSS inbox: conversations with professionals, their messages and attachments (DOMAIN.md §7).

Mail reaches ``<INS>@patient.mssante.fr`` by SMTP (``messagerie.smtp``) and is stored by one ingestion service;
the citizen's replies, forwards and documents sent from the dossier are stored here too, as outbound messages of
the same conversations. Only a professional starts a conversation: each address that wrote to the citizen becomes
one of the citizen's ``Correspondent`` rows, and only those may receive the citizen's mail.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Citizen


class Correspondent(models.Model):
    """A professional (or institution) address that wrote to the citizen: the only ones the citizen may write to."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="mss_correspondents")
    # Lower-cased addr-spec (``dr.martin@hopital.mssante.fr``), as it came in the From header.
    address = models.EmailField(_("adresse de messagerie sécurisée"), max_length=254)
    display_name = models.CharField(_("nom affiché"), max_length=200, blank=True)
    first_message_at = models.DateTimeField(_("premier message le"))
    last_message_at = models.DateTimeField(_("dernier message le"))

    class Meta:
        verbose_name = _("correspondant")
        verbose_name_plural = _("correspondants")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "address"], name="mss_correspondent_unique"),
            models.CheckConstraint(
                condition=models.Q(address=models.functions.Lower("address")), name="mss_correspondent_lower"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.address}>" if self.display_name else self.address


class Conversation(models.Model):
    """A thread: messages linked by Message-ID / In-Reply-To / References, started by a professional."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="mss_conversations")
    # Who started it (a professional); the citizen's replies go back to them.
    correspondent = models.ForeignKey(Correspondent, on_delete=models.PROTECT, related_name="conversations")
    subject = models.TextField(_("objet"), blank=True)
    started_at = models.DateTimeField(_("commencée le"))
    last_message_at = models.DateTimeField(_("dernier message le"))
    archived_at = models.DateTimeField(_("archivée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        indexes = [
            # The inbox and the archive: newest activity first, keyset on (last_message_at, id).
            models.Index(fields=["citizen", "-last_message_at", "-id"], name="mss_conversation_list_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or str(_("(sans objet)"))


class Direction(models.TextChoices):
    INBOUND = "entrant", _("Reçu")
    OUTBOUND = "sortant", _("Envoyé")


class DeliveryStatus(models.TextChoices):
    """Outbound messages only: handed to the mail server or not (inbound messages have no status)."""

    NONE = "", _("—")
    PENDING = "en_attente", _("En cours d’envoi")
    SENT = "envoye", _("Envoyé")
    FAILED = "echec", _("Échec de l’envoi")


class Message(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Denormalised from the conversation: every query of the inbox filters on the citizen first.
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="mss_messages")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("sens"), max_length=8, choices=Direction.choices)
    # RFC 5322 Message-ID with its angle brackets; one delivery of the same message to the same person is stored once.
    message_id = models.CharField(max_length=998)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    from_address = models.EmailField(_("expéditeur"), max_length=254)
    from_name = models.CharField(_("nom de l’expéditeur"), max_length=200, blank=True)
    to_addresses = ArrayField(models.EmailField(max_length=254), default=list, blank=True)
    cc_addresses = ArrayField(models.EmailField(max_length=254), default=list, blank=True)
    subject = models.TextField(_("objet"), blank=True)
    # The Date header (null when absent or unreadable); received_at is when the platform accepted it.
    sent_at = models.DateTimeField(_("date d’envoi"), null=True, blank=True)
    received_at = models.DateTimeField(_("reçu le"))
    body_text = models.TextField(_("texte"), blank=True)
    # Only the sanitised HTML is ever stored (nh3, at ingestion): no script, handler, style or remote resource.
    body_html = models.TextField(_("texte mis en forme"), blank=True)
    size_bytes = models.BigIntegerField(_("taille (octets)"), default=0)
    read_at = models.DateTimeField(_("lu le"), null=True, blank=True)
    # Outbound: the account that sent it (the citizen or their legal representative) and the delivery.
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery_status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default="", blank=True)
    delivery_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "message_id"], name="mss_message_unique"),
            models.CheckConstraint(condition=models.Q(direction__in=Direction.values), name="mss_message_direction"),
            models.CheckConstraint(
                condition=(models.Q(direction=Direction.INBOUND, delivery_status=""))
                | models.Q(direction=Direction.OUTBOUND, delivery_status__in=DeliveryStatus.values[1:]),
                name="mss_message_delivery",
            ),
            models.CheckConstraint(condition=models.Q(size_bytes__gte=0), name="mss_message_size"),
        ]
        indexes = [
            models.Index(fields=["conversation", "received_at", "id"], name="mss_message_thread_idx"),
            # The header's unread count: one index-only COUNT.
            models.Index(
                fields=["citizen"],
                condition=models.Q(read_at__isnull=True, direction="entrant"),
                name="mss_message_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or str(_("(sans objet)"))


class AttachmentFormat(models.TextChoices):
    """Recognised by content, never by name or declared type (the dossier's formats, plus iCalendar and text)."""

    PDF = "pdf", "PDF"
    JPEG = "jpeg", "JPEG"
    PNG = "png", "PNG"
    CDA = "cda", _("CDA R2 (XML)")
    ICS = "ics", _("iCalendar")
    TEXT = "texte", _("Texte")
    OTHER = "autre", _("Autre")


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    """A server-generated name: nothing of the sender's file name reaches the storage."""
    return f"messagerie/{instance.citizen.public_id}/pieces/{uuid.uuid4().hex}"


class Attachment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="mss_attachments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("nom du fichier"), max_length=150)
    declared_type = models.CharField(_("type déclaré"), max_length=255, blank=True)
    format = models.CharField(_("format"), max_length=8, choices=AttachmentFormat.choices)
    # The Content-Type the platform serves it with (from the detected format, never the declared one).
    content_type = models.CharField(max_length=50)
    # Blocked: kept (nothing is lost) but never served — an executable, an SVG, markup, a disguised file.
    blocked_reason = models.CharField(_("motif du blocage"), max_length=200, blank=True)
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    size_bytes = models.BigIntegerField(_("taille (octets)"))
    sha256 = models.CharField(max_length=64)
    # Saved into the dossier (dossier.services.document_add): the document's public id, once.
    saved_document_id = models.UUIDField(null=True, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)
    # An iCalendar attachment whose events or tasks were added to the agenda (agenda.services), once.
    calendar_added_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(format__in=AttachmentFormat.values), name="mss_attachment_format"
            ),
            models.CheckConstraint(condition=models.Q(size_bytes__gte=0), name="mss_attachment_size"),
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="mss_attachment_sha256"),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_reason)
