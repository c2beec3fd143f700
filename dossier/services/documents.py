"""Writes of the documents of the dossier: add (streamed, checked by content), hide, unhide, delete.

The same functions serve the citizen's pages and, later, the FHIR API of professionals and apps: each takes the
``access`` decided by ``mes.acces.policy`` and refuses (``PermissionDenied``) what it does not allow. Each action
writes one journal row in the transaction of the change; stored files follow the rows (a file written for a
transaction that does not commit is deleted, a deleted row's file goes once the deletion is committed).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.document_types import document_type_get
from dossier.models.documents import AuthorKind, Document
from dossier.uploads import (
    DocumentRefused,
    discard_unless_committed,
    filename_sanitize,
    store_upload,
    title_from_filename,
)
from mes.acces.journal import register_action
from mes.acces.models import Scope
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append
from mes.text import single_line

__all__ = [
    "DOCUMENT_ADDED",
    "DOCUMENT_DELETED",
    "DOCUMENT_HIDDEN",
    "DOCUMENT_UNHIDDEN",
    "DocumentNotDeletable",
    "DocumentRefused",
    "citizen_author_label",
    "document_add",
    "document_delete",
    "document_hide",
    "document_unhide",
]

DOCUMENT_ADDED = "dossier.document.ajoute"
DOCUMENT_HIDDEN = "dossier.document.masque"
DOCUMENT_UNHIDDEN = "dossier.document.demasque"
DOCUMENT_DELETED = "dossier.document.supprime"
register_action(DOCUMENT_ADDED, gettext_lazy("Ajout d’un document au dossier médical"))
register_action(DOCUMENT_HIDDEN, gettext_lazy("Document masqué aux professionnels de santé"))
register_action(DOCUMENT_UNHIDDEN, gettext_lazy("Document de nouveau visible par les professionnels de santé"))
register_action(DOCUMENT_DELETED, gettext_lazy("Suppression d’un document du dossier médical"))

TITLE_MAX_LENGTH = 200
EARLIEST_ACT_DATE = date(1900, 1, 1)


class DocumentNotDeletable(PermissionDenied):
    """Only the documents the person (or their legal representative) added may be deleted, as in the DMP."""


def citizen_author_label(access: CitizenAccess) -> str:
    """Who added a document from the citizen's side: the person, or the parent acting for their child."""
    actor = access.actor
    own = getattr(actor, "citizen", None)
    name = str(own) if own is not None else (actor.get_full_name() or actor.email)
    if access.kind == "representative":
        return _("%(name)s (représentant légal)") % {"name": name}
    return name


def _require_citizen_side(access: CitizenAccess, document: Document | None = None) -> None:
    if not (access.may_write and access.is_citizen_side):
        raise PermissionDenied(_("Seule la personne ou son représentant légal peut modifier ce document."))
    if document is not None and document.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Ce document n’appartient pas à ce dossier."))


@transaction.atomic
def document_add(
    *,
    access: CitizenAccess,
    upload,
    title: str,
    type_code: str,
    act_date: date,
    hidden: bool = False,
    author_kind: str = AuthorKind.CITIZEN,
    author_label: str = "",
    source_label: str = "",
    max_bytes: int | None = None,
) -> Document:
    """Add a document to ``access.citizen``'s dossier from ``upload`` (a Django ``UploadedFile`` or any ``File``).

    The content is streamed to the storage while it is checked and hashed (``DocumentRefused`` with a French message
    when it is refused, nothing stored). An empty ``title`` is made from the file's name. For citizens (and their
    representatives) the author and the source are filled in; professionals and apps pass their own labels.
    Metadata errors are a ``ValidationError`` keyed by field (``title``, ``type_code``, ``act_date``).
    """
    if not access.can_write(Scope.DOCUMENTS):
        raise PermissionDenied(_("Vous ne pouvez pas ajouter de document à ce dossier."))
    if author_kind not in AuthorKind.values:
        raise ValueError(f"author_kind inconnu : {author_kind}")
    if author_kind == AuthorKind.CITIZEN and not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal peut ajouter un document en son nom."))
    errors: dict[str, str] = {}
    document_type = document_type_get(type_code)
    if document_type is None:
        errors["type_code"] = _("Choisissez un type de document dans la liste.")
    elif access.document_categories is not None and document_type.category not in access.document_categories:
        errors["type_code"] = _("Votre profession ne permet pas d’ajouter ce type de document à ce dossier.")
    if act_date > timezone.localdate():
        errors["act_date"] = _("La date de l’acte ne peut pas être dans le futur.")
    elif act_date < EARLIEST_ACT_DATE:
        errors["act_date"] = _("La date de l’acte doit être postérieure au 1er janvier 1900.")
    original_name = filename_sanitize(getattr(upload, "name", ""))
    title = single_line(title) or title_from_filename(original_name, max_length=TITLE_MAX_LENGTH)
    if len(title) > TITLE_MAX_LENGTH:
        errors["title"] = _("Le titre ne doit pas dépasser %(max)s caractères.") % {"max": TITLE_MAX_LENGTH}
    if author_kind == AuthorKind.CITIZEN:
        author_label = author_label or citizen_author_label(access)
        source_label = source_label or _("Ajouté depuis Mon espace santé")
    elif not (author_label.strip() and source_label.strip()):
        raise ValueError("Un document de professionnel ou de service référencé doit nommer son auteur et sa source.")
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    document = Document(
        citizen=access.citizen,
        title=title,
        category=document_type.category,
        type_code=document_type.code,
        act_date=act_date,
        author_kind=author_kind,
        author_label=author_label[:200],
        author_user=access.actor if access.actor.is_authenticated else None,
        source_label=source_label[:200],
        hidden_from_professionals=hidden,
        hidden_at=now if hidden else None,
        original_name=original_name,
    )
    name = Document._meta.get_field("file").generate_filename(document, original_name)
    stored = store_upload(upload, name=name, max_bytes=max_bytes or settings.DOSSIER_DOCUMENT_MAX_BYTES)
    discard_unless_committed(stored.name, model=Document)
    document.file.name = stored.name
    document.format = stored.format
    document.content_type = stored.content_type
    document.size_bytes = stored.size
    document.sha256 = stored.sha256
    document.save(force_insert=True)
    journal_append(
        actor=access.actor,
        action=DOCUMENT_ADDED,
        citizen=access.citizen,
        obj=document,
        details={
            "titre": document.title,
            "type": document.type_code,
            "format": document.format,
            "taille": document.size_bytes,
            "sha256": document.sha256,
            "masque": hidden,
            "auteur": document.author_label,
        },
    )
    return document


@transaction.atomic
def document_hide(*, access: CitizenAccess, document: Document) -> Document:
    """Hide ``document`` from professionals (confidentiality MASQUE_PS; the médecin traitant still sees it)."""
    _require_citizen_side(access, document)
    now = timezone.now()
    changed = Document.objects.filter(pk=document.pk, hidden_from_professionals=False).update(
        hidden_from_professionals=True, hidden_at=now
    )
    document.refresh_from_db(fields=["hidden_from_professionals", "hidden_at"])
    if changed:
        journal_append(
            actor=access.actor,
            action=DOCUMENT_HIDDEN,
            citizen=access.citizen,
            obj=document,
            details={"titre": document.title},
        )
    return document


@transaction.atomic
def document_unhide(*, access: CitizenAccess, document: Document) -> Document:
    """Make ``document`` visible to professionals again."""
    _require_citizen_side(access, document)
    changed = Document.objects.filter(pk=document.pk, hidden_from_professionals=True).update(
        hidden_from_professionals=False, hidden_at=None
    )
    document.refresh_from_db(fields=["hidden_from_professionals", "hidden_at"])
    if changed:
        journal_append(
            actor=access.actor,
            action=DOCUMENT_UNHIDDEN,
            citizen=access.citizen,
            obj=document,
            details={"titre": document.title},
        )
    return document


def document_deletable(document: Document) -> bool:
    return document.author_kind == AuthorKind.CITIZEN


def document_not_deletable_reason(document: Document) -> str:
    if document.author_kind == AuthorKind.APP:
        return _(
            "Ce document a été ajouté par un service référencé : il ne peut pas être supprimé. "
            "Vous pouvez le masquer aux professionnels de santé."
        )
    return _(
        "Ce document a été ajouté par un professionnel de santé : comme dans le DMP, il ne peut pas être supprimé. "
        "Vous pouvez le masquer aux professionnels de santé."
    )


@transaction.atomic
def document_delete(*, access: CitizenAccess, document: Document) -> None:
    """Delete a document the person or their representative added; its file goes once the deletion is committed."""
    _require_citizen_side(access, document)
    if not document_deletable(document):
        raise DocumentNotDeletable(document_not_deletable_reason(document))
    name = document.file.name
    deleted, _rows = Document.objects.filter(pk=document.pk, citizen=access.citizen).delete()
    if not deleted:
        return  # already deleted by a concurrent request, which wrote its journal row
    journal_append(
        actor=access.actor,
        action=DOCUMENT_DELETED,
        citizen=access.citizen,
        obj=document,
        details={"titre": document.title, "type": document.type_code, "sha256": document.sha256},
    )
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
