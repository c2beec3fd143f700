"""Writes of Convergence: products, answers (with optimistic locking), evidence files and duplication.

Every service takes the ``actor`` and refuses (``PermissionDenied``) anyone who is not a member of the product's
organisation. Declaring, updating a product, duplicating answers and adding or removing evidence write a journal
row; saving an answer does not (the portal autosaves on every change: the answer row itself keeps its author, time
and revision).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from convergence.models import (
    PRODUCT_REFERENCE_SEQUENCE,
    Answer,
    AnswerEvidence,
    Criterion,
    CriterionType,
    EvidenceFile,
    Platform,
    Procedure,
    Product,
    ProductType,
    Referential,
)
from dossier.uploads import DocumentRefused, discard_unless_committed, filename_sanitize, store_upload
from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import Membership, Organisation, Role, User
from mes.text import single_line

__all__ = [
    "AnswerConflict",
    "DuplicationConflict",
    "answer_save",
    "answers_duplicate",
    "evidence_add",
    "evidence_remove",
    "product_declare",
    "product_update",
]

PRODUCT_DECLARED = "convergence.produit.declare"
PRODUCT_UPDATED = "convergence.produit.modifie"
ANSWERS_DUPLICATED = "convergence.reponses.dupliquees"
EVIDENCE_ADDED = "convergence.preuve.ajoutee"
EVIDENCE_REMOVED = "convergence.preuve.retiree"
register_action(PRODUCT_DECLARED, gettext_lazy("Déclaration d’un produit dans Convergence"))
register_action(PRODUCT_UPDATED, gettext_lazy("Modification d’un produit dans Convergence"))
register_action(ANSWERS_DUPLICATED, gettext_lazy("Duplication des réponses Convergence vers une autre plateforme"))
register_action(EVIDENCE_ADDED, gettext_lazy("Ajout d’une preuve à une réponse Convergence"))
register_action(EVIDENCE_REMOVED, gettext_lazy("Retrait d’une preuve d’une réponse Convergence"))

NAME_MAX_LENGTH = 150
VERSION_MAX_LENGTH = 40
TEXT_ANSWER_MAX_LENGTH = 5000
COMMENT_MAX_LENGTH = 2000
EVIDENCE_FORMATS = {"pdf", "jpeg", "png"}
YES_NO_NA_LABELS = {"oui": "Oui", "non": "Non", "na": "Non applicable"}


class AnswerConflict(Exception):
    """Another member saved this answer since the writer read it: nothing was written."""

    def __init__(self, current: Answer) -> None:
        self.current = current
        author = current.updated_by.display_name if current.updated_by else _("un autre membre")
        when = timezone.localtime(current.updated_at).strftime("%d/%m/%Y à %H:%M")
        self.message = _(
            "Cette réponse a été modifiée par %(author)s le %(when)s pendant que vous la saisissiez : votre saisie "
            "n’a pas été enregistrée. Rechargez la réponse, vérifiez-la, puis enregistrez de nouveau."
        ) % {"author": author, "when": when}
        super().__init__(self.message)


@dataclass(frozen=True)
class DuplicatedConflict:
    criterion_id: str
    reason: str


class DuplicationConflict(Exception):
    """Answers of the target platform differ from the source ones: nothing was copied (see ``overwrite``)."""

    def __init__(self, conflicts: list[DuplicatedConflict], target_platform: str) -> None:
        self.conflicts = conflicts
        ids = ", ".join(conflict.criterion_id for conflict in conflicts)
        self.message = _(
            "Aucune réponse n’a été copiée : %(count)s réponse(s) déjà saisie(s) pour %(platform)s diffère(nt) de "
            "la source (%(ids)s). Confirmez le remplacement pour les écraser."
        ) % {"count": len(conflicts), "platform": Platform(target_platform).label, "ids": ids}
        super().__init__(self.message)


# --- Membership ---------------------------------------------------------------------------------------------------


def is_member(actor: User, organisation_id: int) -> bool:
    return (
        getattr(actor, "is_authenticated", False)
        and actor.role == Role.EDITOR
        and Membership.objects.filter(user=actor, organisation_id=organisation_id).exists()
    )


def _require_member(actor: User, organisation_id: int) -> None:
    if not is_member(actor, organisation_id):
        raise PermissionDenied(_("Vous n’êtes pas membre de l’organisation éditrice de ce produit."))


# --- Products -----------------------------------------------------------------------------------------------------


def _product_fields_check(
    *, name: str, version: str, product_type: str, platforms: list[str], procedure: str
) -> tuple[str, str, list[str]]:
    errors: dict[str, str] = {}
    name, version = single_line(name or ""), single_line(version or "")
    if not name:
        errors["name"] = _("Indiquez le nom du service tel que les usagers le voient.")
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = _("Le nom ne doit pas dépasser %(max)s caractères.") % {"max": NAME_MAX_LENGTH}
    if not version:
        errors["version"] = _("Indiquez la version du service.")
    elif len(version) > VERSION_MAX_LENGTH:
        errors["version"] = _("La version ne doit pas dépasser %(max)s caractères.") % {"max": VERSION_MAX_LENGTH}
    if product_type not in ProductType.values:
        errors["product_type"] = _("Choisissez le type du service.")
    if not platforms or any(platform not in Platform.values for platform in platforms):
        errors["platforms"] = _("Choisissez au moins une plateforme parmi Web, Android et iOS.")
    if procedure not in Procedure.values:
        errors["procedure"] = _("Choisissez la démarche : sans ou avec échange de données.")
    if errors:
        raise ValidationError(errors)
    # In the order of Platform, without repetition.
    return name, version, [platform for platform in Platform.values if platform in platforms]


def _reference_next(now: datetime) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [PRODUCT_REFERENCE_SEQUENCE])
        (number,) = cursor.fetchone()
    return f"CONV-{now.year}-{number:06d}"


@transaction.atomic
def product_declare(
    *,
    actor: User,
    organisation: Organisation,
    name: str,
    version: str,
    product_type: str,
    platforms: list[str],
    procedure: str,
    answers_per_platform: bool = False,
) -> Product:
    """Declare a product of ``organisation``, assessed against the referential in force today."""
    _require_member(actor, organisation.pk)
    name, version, platforms = _product_fields_check(
        name=name, version=version, product_type=product_type, platforms=platforms, procedure=procedure
    )
    referential = Referential.objects.filter(is_current=True).first()
    if referential is None:
        raise ValidationError(_("Aucun référentiel Convergence n’est en vigueur : la déclaration est impossible."))
    product = Product.objects.create(
        organisation=organisation,
        name=name,
        version=version,
        product_type=product_type,
        platforms=platforms,
        procedure=procedure,
        reference=_reference_next(timezone.now()),
        referential=referential,
        answers_per_platform=answers_per_platform and len(platforms) > 1,
        created_by=actor,
    )
    journal_append(
        actor=actor,
        action=PRODUCT_DECLARED,
        obj=product,
        details={
            "reference": product.reference,
            "nom": product.name,
            "version": product.version,
            "demarche": product.procedure,
            "plateformes": product.platforms,
            "referentiel": referential.version,
        },
    )
    return product


@transaction.atomic
def product_update(
    *,
    actor: User,
    product: Product,
    name: str | None = None,
    version: str | None = None,
    product_type: str | None = None,
    platforms: list[str] | None = None,
    procedure: str | None = None,
    answers_per_platform: bool | None = None,
) -> Product:
    """Change what the editor declared; the reference and the referential version never change.

    A platform that has its own answers cannot be removed, and the way of answering (common or per platform) cannot
    change once answers exist: the answers would be lost or become ambiguous (duplication copies them instead).
    """
    product = Product.objects.select_for_update().get(pk=product.pk)
    _require_member(actor, product.organisation_id)
    name, version, platforms = _product_fields_check(
        name=product.name if name is None else name,
        version=product.version if version is None else version,
        product_type=product.product_type if product_type is None else product_type,
        platforms=product.platforms if platforms is None else platforms,
        procedure=product.procedure if procedure is None else procedure,
    )
    per_platform = product.answers_per_platform if answers_per_platform is None else answers_per_platform
    per_platform = per_platform and len(platforms) > 1
    answered_platforms = set(Answer.objects.filter(product=product).values_list("platform", flat=True).distinct())
    if answered_platforms and per_platform != product.answers_per_platform:
        raise ValidationError(
            {
                "answers_per_platform": _(
                    "Des réponses sont déjà saisies : la façon de répondre (commune ou par plateforme) ne peut plus "
                    "changer."
                )
            }
        )
    removed = (answered_platforms - {""}) - set(platforms)
    if removed:
        raise ValidationError(
            {
                "platforms": _("Des réponses sont saisies pour %(platforms)s : cette plateforme ne peut être retirée.")
                % {"platforms": ", ".join(str(Platform(platform).label) for platform in sorted(removed))}
            }
        )
    before = {field: getattr(product, field) for field in ("name", "version", "product_type", "platforms", "procedure")}
    product.name, product.version, product.platforms = name, version, platforms
    product.product_type = product.product_type if product_type is None else product_type
    product.procedure = product.procedure if procedure is None else procedure
    product.answers_per_platform = per_platform
    product.save(
        update_fields=[
            "name",
            "version",
            "product_type",
            "platforms",
            "procedure",
            "answers_per_platform",
            "updated_at",
        ]
    )
    changed = {field: getattr(product, field) for field, value in before.items() if getattr(product, field) != value}
    if changed:
        journal_append(
            actor=actor, action=PRODUCT_UPDATED, obj=product, details={"reference": product.reference, **changed}
        )
    return product


# --- Answers ------------------------------------------------------------------------------------------------------


def _criterion_check(product: Product, criterion: Criterion, platform: str) -> None:
    if criterion.referential_id != product.referential_id:
        raise ValidationError(_("Ce critère n’appartient pas à la version du référentiel de ce produit."))
    if product.procedure not in criterion.questionnaire.procedures:
        raise ValidationError(_("Ce questionnaire n’est pas demandé pour la démarche de ce produit."))
    if platform not in product.answer_platforms:
        if product.answers_per_platform:
            raise ValidationError(_("Choisissez l’une des plateformes du produit pour cette réponse."))
        raise ValidationError(_("Ce produit répond une seule fois pour toutes ses plateformes."))


def answer_value_clean(criterion: Criterion, value):
    """The value to store for ``criterion``, or ``ValidationError`` in French. ``None`` or "" clears the answer."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = criterion.type
    if kind == CriterionType.YES_NO_NA:
        if value not in YES_NO_NA_LABELS:
            raise ValidationError(_("Répondez Oui, Non ou Non applicable."))
        return value
    if kind == CriterionType.CHOICE:
        values = [choice["value"] for choice in criterion.choices]
        if value not in values:
            raise ValidationError(_("Choisissez l’une des réponses proposées."))
        return value
    if kind == CriterionType.NUMBER:
        return _number_clean(criterion, value)
    if kind == CriterionType.TEXT:
        if not isinstance(value, str):
            raise ValidationError(_("La réponse doit être un texte."))
        value = value.strip()
        if len(value) > TEXT_ANSWER_MAX_LENGTH:
            raise ValidationError(
                _("La réponse ne doit pas dépasser %(max)s caractères.") % {"max": TEXT_ANSWER_MAX_LENGTH}
            )
        return value
    # preuve: the answer is the evidence files themselves.
    raise ValidationError(_("Ce critère se renseigne en déposant un fichier de preuve."))


def _number_clean(criterion: Criterion, value) -> int | float:
    if isinstance(value, bool):
        raise ValidationError(_("La réponse doit être un nombre."))
    try:
        number = (
            Decimal(value.strip().replace(",", ".").replace("\u202f", "").replace(" ", ""))
            if isinstance(value, str)
            else Decimal(str(value))
        )
    except InvalidOperation as exc:
        raise ValidationError(_("La réponse doit être un nombre, par exemple 75 ou 12,5.")) from exc
    if not number.is_finite():
        raise ValidationError(_("La réponse doit être un nombre, par exemple 75 ou 12,5."))
    unit = f" {criterion.unit}" if criterion.unit else ""
    if criterion.min_value is not None and number < criterion.min_value:
        raise ValidationError(
            _("La réponse doit être au moins %(min)s%(unit)s.") % {"min": _fmt(criterion.min_value), "unit": unit}
        )
    if criterion.max_value is not None and number > criterion.max_value:
        raise ValidationError(
            _("La réponse doit être au plus %(max)s%(unit)s.") % {"max": _fmt(criterion.max_value), "unit": unit}
        )
    return int(number) if number == number.to_integral_value() else float(number)


def _fmt(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text.replace(".", ",")


@transaction.atomic
def answer_save(
    *,
    actor: User,
    product: Product,
    criterion: Criterion,
    platform: str = "",
    value,
    comment: str = "",
    expected_revision: int,
) -> Answer:
    """Save the answer to ``criterion`` (for ``platform``, "" when answered for all platforms).

    ``expected_revision`` is the revision the writer read (0 for a criterion not answered yet). When another member
    saved in between, ``AnswerConflict`` carries the current answer and nothing is written: the last writer never
    silently overwrites another's answer.
    """
    _require_member(actor, product.organisation_id)
    _criterion_check(product, criterion, platform)
    value = answer_value_clean(criterion, value)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            _("Le commentaire ne doit pas dépasser %(max)s caractères.") % {"max": COMMENT_MAX_LENGTH}
        )
    now = timezone.now()
    if expected_revision == 0:
        try:
            with transaction.atomic():
                return Answer.objects.create(
                    product=product,
                    criterion=criterion,
                    platform=platform,
                    value=value,
                    comment=comment,
                    revision=1,
                    updated_by=actor,
                    updated_at=now,
                )
        except IntegrityError:
            # Another member created it first (the unique constraint decided between the two inserts).
            raise AnswerConflict(_answer_current(product, criterion, platform)) from None
    # A guarded UPDATE: it changes the row only if its revision is still the one the writer read, and PostgreSQL
    # re-checks the condition after waiting for a concurrent writer's lock, so one of two writers wins.
    updated = Answer.objects.filter(
        product=product, criterion=criterion, platform=platform, revision=expected_revision
    ).update(value=value, comment=comment, revision=expected_revision + 1, updated_by=actor, updated_at=now)
    if not updated:
        current = _answer_current(product, criterion, platform)
        if current is None:
            raise ValidationError(_("Cette réponse n’existe plus : rechargez la page."))
        raise AnswerConflict(current)
    return Answer.objects.select_related("updated_by").get(product=product, criterion=criterion, platform=platform)


def _answer_current(product: Product, criterion: Criterion, platform: str) -> Answer | None:
    return (
        Answer.objects.select_related("updated_by", "criterion")
        .filter(product=product, criterion=criterion, platform=platform)
        .first()
    )


# --- Evidence -----------------------------------------------------------------------------------------------------


@transaction.atomic
def evidence_add(
    *,
    actor: User,
    product: Product,
    upload,
    answer: Answer | None = None,
    criterion: Criterion | None = None,
    platform: str = "",
    max_bytes: int | None = None,
) -> AnswerEvidence:
    """Store ``upload`` (PDF, JPEG or PNG, checked by content like dossier documents) and attach it to ``answer``
    (or to the answer to ``criterion`` for ``platform``, created empty when there is none yet).

    Attaching a file does not change the answer's revision: it adds to the answer, it overwrites nothing.
    """
    _require_member(actor, product.organisation_id)
    if answer is None:
        if criterion is None:
            raise ValueError("evidence_add needs an answer or a criterion")
        _criterion_check(product, criterion, platform)
        answer, _created = Answer.objects.get_or_create(
            product=product,
            criterion=criterion,
            platform=platform,
            defaults={"value": None, "revision": 1, "updated_by": actor, "updated_at": timezone.now()},
        )
    elif answer.product_id != product.pk:
        raise PermissionDenied(_("Cette réponse n’appartient pas à ce produit."))
    evidence = EvidenceFile(
        product=product, original_name=filename_sanitize(getattr(upload, "name", "")), uploaded_by=actor
    )
    name = EvidenceFile._meta.get_field("file").generate_filename(evidence, evidence.original_name)
    stored = store_upload(upload, name=name, max_bytes=max_bytes or settings.DOSSIER_DOCUMENT_MAX_BYTES)
    discard_unless_committed(stored.name, model=EvidenceFile)
    if stored.format not in EVIDENCE_FORMATS:
        # Accepted for the dossier (CDA) but not as evidence: the file goes again when the transaction rolls back.
        raise DocumentRefused(
            _("Une preuve doit être un fichier PDF, JPEG ou PNG : ce fichier (%(format)s) est refusé.")
            % {"format": stored.format.upper()},
            "evidence_format",
        )
    evidence.file.name = stored.name
    evidence.format = stored.format
    evidence.content_type = stored.content_type
    evidence.size_bytes = stored.size
    evidence.sha256 = stored.sha256
    evidence.save(force_insert=True)
    link = AnswerEvidence.objects.create(answer=answer, evidence=evidence)
    journal_append(
        actor=actor,
        action=EVIDENCE_ADDED,
        obj=product,
        details={
            "reference": product.reference,
            "critere": answer.criterion.criterion_id,
            "plateforme": answer.platform,
            "fichier": evidence.original_name,
            "sha256": evidence.sha256,
        },
    )
    return link


@transaction.atomic
def evidence_remove(*, actor: User, product: Product, answer: Answer, evidence: EvidenceFile) -> bool:
    """Detach ``evidence`` from ``answer``; the file itself is deleted, after commit, once nothing refers to it."""
    _require_member(actor, product.organisation_id)
    if answer.product_id != product.pk or evidence.product_id != product.pk:
        raise PermissionDenied(_("Cette preuve n’appartient pas à ce produit."))
    deleted, _rows = AnswerEvidence.objects.filter(answer=answer, evidence=evidence).delete()
    if not deleted:
        return False
    _evidence_discard_if_unreferenced(evidence)
    journal_append(
        actor=actor,
        action=EVIDENCE_REMOVED,
        obj=product,
        details={
            "reference": product.reference,
            "critere": answer.criterion.criterion_id,
            "plateforme": answer.platform,
            "fichier": evidence.original_name,
        },
    )
    return True


def _evidence_discard_if_unreferenced(evidence: EvidenceFile) -> None:
    # Lock the file's row so a concurrent duplication cannot link it while it is being deleted.
    locked = EvidenceFile.objects.select_for_update().filter(pk=evidence.pk).first()
    if locked is None or AnswerEvidence.objects.filter(evidence=locked).exists():
        return
    name = locked.file.name
    locked.delete()
    transaction.on_commit(lambda: default_storage.delete(name))


# --- Duplication --------------------------------------------------------------------------------------------------


@transaction.atomic
def answers_duplicate(
    *, actor: User, product: Product, source_platform: str, target_platform: str, overwrite: bool = False
) -> int:
    """Copy the answers of ``source_platform`` and their evidence links (never the files) to ``target_platform``.

    Without ``overwrite``, a target answer that exists and differs (value, comment or evidence) is a conflict:
    ``DuplicationConflict`` lists them and nothing is written. Returns the number of answers created or changed.
    """
    _require_member(actor, product.organisation_id)
    product = Product.objects.select_for_update().get(pk=product.pk)
    if not product.answers_per_platform:
        raise ValidationError(_("Ce produit répond une seule fois pour toutes ses plateformes : rien à dupliquer."))
    for platform in (source_platform, target_platform):
        if platform not in product.platforms:
            raise ValidationError(_("Choisissez deux plateformes du produit."))
    if source_platform == target_platform:
        raise ValidationError(_("Choisissez une plateforme cible différente de la source."))
    answers = list(
        Answer.objects.select_for_update()
        .filter(product=product, platform__in=[source_platform, target_platform])
        .select_related("criterion")
        .order_by("criterion__questionnaire__position", "criterion__section__position", "criterion__position")
    )
    links: dict[int, set[int]] = {}
    for answer_id, evidence_id in AnswerEvidence.objects.filter(answer__in=answers).values_list(
        "answer_id", "evidence_id"
    ):
        links.setdefault(answer_id, set()).add(evidence_id)
    sources = [answer for answer in answers if answer.platform == source_platform]
    targets = {answer.criterion_id: answer for answer in answers if answer.platform == target_platform}

    def differs(source: Answer, target: Answer) -> bool:
        return (source.value, source.comment, links.get(source.pk, set())) != (
            target.value,
            target.comment,
            links.get(target.pk, set()),
        )

    conflicts = [
        DuplicatedConflict(source.criterion.criterion_id, _("réponse différente"))
        for source in sources
        if source.criterion_id in targets and differs(source, targets[source.criterion_id])
    ]
    if conflicts and not overwrite:
        raise DuplicationConflict(conflicts, target_platform)
    now = timezone.now()
    copied = 0
    new_links: list[AnswerEvidence] = []
    dropped: set[int] = set()
    for source in sources:
        target = targets.get(source.criterion_id)
        evidence_ids = links.get(source.pk, set())
        if target is None:
            target = Answer.objects.create(
                product=product,
                criterion=source.criterion,
                platform=target_platform,
                value=source.value,
                comment=source.comment,
                revision=1,
                updated_by=actor,
                updated_at=now,
            )
            current: set[int] = set()
        elif differs(source, target):
            Answer.objects.filter(pk=target.pk).update(
                value=source.value,
                comment=source.comment,
                revision=target.revision + 1,
                updated_by=actor,
                updated_at=now,
            )
            current = links.get(target.pk, set())
            stale = current - evidence_ids
            if stale:
                AnswerEvidence.objects.filter(answer=target, evidence_id__in=stale).delete()
                dropped |= stale
        else:
            continue
        copied += 1
        new_links.extend(
            AnswerEvidence(answer=target, evidence_id=evidence_id) for evidence_id in evidence_ids - current
        )
    AnswerEvidence.objects.bulk_create(new_links)
    for evidence in EvidenceFile.objects.filter(pk__in=dropped):
        _evidence_discard_if_unreferenced(evidence)
    journal_append(
        actor=actor,
        action=ANSWERS_DUPLICATED,
        obj=product,
        details={
            "reference": product.reference,
            "source": source_platform,
            "cible": target_platform,
            "reponses": copied,
            "preuves": len(new_links),
            "ecrasement": bool(conflicts),
        },
    )
    return copied
