"""Writes of the editors' side of a référencement dossier: creating it, filling it section by section (procedure and
purpose, requested exchanges, catalogue sheet, logo and screenshots), submitting it, abandoning it, answering the
commission's adjournment, and re-declaring a published service (new major version, renewal).

Every service takes the ``actor`` and refuses (``PermissionDenied``) anyone but an editor of the dossier's organisation.
The rules of each section live in ``referencement.services.dossier_rules``: a section is saved only when it is valid
as a whole, and the submission runs the same rules over the stored dossier. Changes of state go through
``referencement.workflow.dossier_transition`` (which writes the timeline and the journal); the other writes append
their own journal row.

Files: images are checked and re-encoded by ``catalogue.images`` before anything is written; a written file that its
transaction does not commit is deleted again (``mes.uploads.discard_unless_committed``), and a replaced
or removed one is deleted once the change commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.images import LOGO, SCREENSHOT, ImageRefused, image_prepare
from catalogue.models import MAX_SCREENSHOTS, DataExchange
from convergence.exports import export_data
from convergence.models import Procedure, Product
from convergence.scoring import product_readiness
from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import Membership, Role, User
from mes.text import single_line
from mes.uploads import discard_unless_committed
from referencement.models import (
    FINAL_STATES,
    Dossier,
    DossierKind,
    DossierScreenshot,
    Purpose,
    RequestedExchange,
    State,
    dossier_reference_next,
)
from referencement.services.dossier_rules import (
    ALT_TEXT_MAX_LENGTH,
    ANSWER_MAX_LENGTH,
    COPIED_FIELDS,
    REASON_MAX_LENGTH,
    SECTION_EXCHANGES,
    SECTION_IMAGES,
    SECTION_PROCEDURE,
    SECTION_SHEET,
    SECTION_TITLES,
    SHEET_FIELDS,
    DossierIncomplete,
    Problem,
    dossier_problems,
    dossier_section_errors,
    french_number,
    justification_key,
    procedure_errors,
    redirect_uris_parse,
    section_clean,
)
from referencement.workflow import dossier_transition

logger = logging.getLogger(__name__)

__all__ = [
    "SECTION_EXCHANGES",
    "SECTION_IMAGES",
    "SECTION_PROCEDURE",
    "SECTION_SHEET",
    "SECTION_TITLES",
    "SHEET_FIELDS",
    "DossierIncomplete",
    "Problem",
    "dossier_abandon",
    "dossier_adjournment_answer",
    "dossier_create",
    "dossier_logo_set",
    "dossier_problems",
    "dossier_redeclare",
    "dossier_screenshot_add",
    "dossier_screenshot_move",
    "dossier_screenshot_remove",
    "dossier_section_errors",
    "dossier_submit",
    "dossier_update",
    "justification_key",
    "redirect_uris_parse",
]

DOSSIER_CREATED = "referencement.dossier.create"
DOSSIER_UPDATED = "referencement.dossier.update"
DOSSIER_LOGO_SET = "referencement.dossier.logo_set"
DOSSIER_SCREENSHOT_ADDED = "referencement.dossier.screenshot_add"
DOSSIER_SCREENSHOT_REMOVED = "referencement.dossier.screenshot_remove"
DOSSIER_SCREENSHOT_MOVED = "referencement.dossier.screenshot_move"
DOSSIER_REDECLARED = "referencement.dossier.redeclare"
register_action(DOSSIER_CREATED, gettext_lazy("Création d’un dossier de référencement"))
register_action(DOSSIER_UPDATED, gettext_lazy("Modification d’un dossier de référencement"))
register_action(DOSSIER_LOGO_SET, gettext_lazy("Logo d’un dossier de référencement remplacé"))
register_action(DOSSIER_SCREENSHOT_ADDED, gettext_lazy("Capture d’écran ajoutée à un dossier de référencement"))
register_action(DOSSIER_SCREENSHOT_REMOVED, gettext_lazy("Capture d’écran retirée d’un dossier de référencement"))
register_action(DOSSIER_SCREENSHOT_MOVED, gettext_lazy("Captures d’écran d’un dossier de référencement réordonnées"))
register_action(DOSSIER_REDECLARED, gettext_lazy("Nouvelle demande sur un service référencé"))

# --- Access and locking -----------------------------------------------------------------------------------------------


def _is_member(actor: User | None, organisation_id: int) -> bool:
    return bool(
        getattr(actor, "is_authenticated", False)
        and actor.is_active
        and actor.role == Role.EDITOR
        and Membership.objects.filter(user=actor, organisation_id=organisation_id).exists()
    )


def _require_member(actor: User | None, organisation_id: int) -> None:
    if not _is_member(actor, organisation_id):
        raise PermissionDenied(_("Vous n’êtes pas membre de l’organisation éditrice de ce dossier."))


def _locked(dossier: Dossier) -> Dossier:
    return Dossier.objects.select_for_update().select_related("organisation", "product").get(pk=dossier.pk)


def _require_editable(dossier: Dossier) -> None:
    if not dossier.is_editable:
        raise ValidationError(
            _("Ce dossier ne peut plus être modifié : il est « %(state)s ».") % {"state": dossier.get_state_display()},
            code="state",
        )


def _journal(actor: User, action: str, dossier: Dossier, **details) -> None:
    journal_append(actor=actor, action=action, obj=dossier, details={"reference": dossier.reference, **details})


# --- Files ------------------------------------------------------------------------------------------------------------


def _delete_on_commit(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def _image_error(field: str, error: ImageRefused) -> ValidationError:
    return ValidationError({field: error.messages}, code=error.code)


# --- Creation ---------------------------------------------------------------------------------------------------------


def _open_dossier(product: Product, *, exclude: Dossier | None = None) -> Dossier | None:
    """The dossier of ``product`` still in progress, if any (the database allows only one)."""
    queryset = Dossier.objects.filter(product=product).exclude(
        state__in=[*FINAL_STATES, State.PUBLISHED, State.SUSPENDED]
    )
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.first()


def _open_dossier_error(open_dossier: Dossier | None) -> ValidationError:
    reference = open_dossier.reference if open_dossier else ""
    return ValidationError(
        {
            "product": _(
                "Une demande est déjà en cours pour ce produit (%(reference)s) : poursuivez-la plutôt que d’en créer "
                "une autre."
            )
            % {"reference": reference}
        },
        code="open",
    )


def _readiness_error(product: Product) -> ValidationError | None:
    readiness = product_readiness(product)
    if readiness.ready:
        return None
    count = len(readiness.gaps)
    return ValidationError(
        {
            "product": _(
                "Le produit « %(name)s » n’est pas prêt pour le référencement : %(count)s écart(s) bloquant(s) restent "
                "à corriger dans Convergence."
            )
            % {"name": product.name, "count": count}
        },
        code="not_ready",
    )


def _create_row(**values) -> Dossier:
    """Insert a dossier; the one-open-dossier-per-product constraint, should a concurrent request win, says so in
    French."""
    try:
        with transaction.atomic():
            return Dossier.objects.create(**values)
    except IntegrityError as error:
        if "referencement_dossier_one_open_per_product" in str(error):
            raise _open_dossier_error(_open_dossier(values["product"])) from None
        raise


@transaction.atomic
def dossier_create(*, actor: User, product: Product, procedure: str) -> Dossier:
    """A new dossier (a first request) for ``product``, a Convergence product of the actor's organisation that is ready.

    The procedure with data exchange needs a product evaluated for that procedure; the simple one suits either.
    """
    _require_member(actor, product.organisation_id)
    # Serialise the creations for one product: the second one then sees the first one's dossier.
    product = Product.objects.select_for_update().select_related("organisation").get(pk=product.pk)
    errors = procedure_errors(product, {"procedure": procedure, "purpose": Purpose.CARE, "purpose_details": "-"})
    if "procedure" in errors:
        raise ValidationError({"procedure": errors["procedure"]}, code="procedure")
    open_dossier = _open_dossier(product)
    if open_dossier is not None:
        raise _open_dossier_error(open_dossier)
    published = Dossier.objects.filter(product=product, state__in=[State.PUBLISHED, State.SUSPENDED]).first()
    if published is not None:
        raise ValidationError(
            {
                "product": _(
                    "Ce produit est déjà référencé (%(reference)s) : demandez son renouvellement ou déclarez une "
                    "nouvelle version majeure depuis son dossier."
                )
                % {"reference": published.reference}
            },
            code="published",
        )
    readiness_error = _readiness_error(product)
    if readiness_error is not None:
        raise readiness_error
    now = timezone.now()
    dossier = _create_row(
        reference=dossier_reference_next(now),
        organisation=product.organisation,
        product=product,
        kind=DossierKind.INITIAL,
        procedure=procedure,
        name=product.name[: Dossier._meta.get_field("name").max_length],
        created_by=actor,
    )
    _journal(actor, DOSSIER_CREATED, dossier, product=product.reference, procedure=procedure)
    return dossier


# --- Sections ---------------------------------------------------------------------------------------------------------


@transaction.atomic
def dossier_update(*, actor: User, dossier: Dossier, section: str, values: dict) -> Dossier:
    """Save one section of the dossier (``SECTION_PROCEDURE``, ``SECTION_EXCHANGES`` or ``SECTION_SHEET``).

    ``values`` holds the section's fields; for the exchanges: ``exchanges`` (a dict code → justification of the data
    asked for), ``oid`` and ``redirect_uris`` (a list). A section is saved whole or not at all: ``ValidationError``
    names each field to correct.
    """
    _require_member(actor, dossier.organisation_id)
    locked = _locked(dossier)
    _require_editable(locked)
    cleaned, errors = section_clean(locked, section, values)
    if errors:
        raise ValidationError(errors)
    if section == SECTION_PROCEDURE:
        changes = cleaned
        # The simple procedure exchanges nothing: what was asked for the other one would mislead the commission.
        if cleaned["procedure"] == Procedure.SANS_ECHANGE:
            locked.requested_exchanges.all().delete()
            changes |= {"oid": "", "redirect_uris": []}
    elif section == SECTION_EXCHANGES:
        locked.requested_exchanges.all().delete()
        RequestedExchange.objects.bulk_create(
            RequestedExchange(dossier=locked, exchange=code, justification=text)
            for code in DataExchange.values
            if (text := cleaned["exchanges"].get(code))
        )
        changes = {"oid": cleaned["oid"], "redirect_uris": cleaned["redirect_uris"]}
    else:
        changes = cleaned
    changed = sorted(name for name, value in changes.items() if getattr(locked, name) != value)
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*changes, "updated_at"])
    _journal(actor, DOSSIER_UPDATED, locked, section=section, fields=changed)
    return locked


# --- Images -----------------------------------------------------------------------------------------------------------


@transaction.atomic
def dossier_logo_set(*, actor: User, dossier: Dossier, upload) -> Dossier:
    """Check and re-encode ``upload`` and make it the logo of the service; the replaced file is deleted on commit."""
    _require_member(actor, dossier.organisation_id)
    locked = _locked(dossier)
    _require_editable(locked)
    try:
        prepared = image_prepare(upload, LOGO)
    except ImageRefused as error:
        raise _image_error("logo", error) from None
    old = locked.logo.name
    locked.logo.save("logo.png", prepared.as_file("logo.png"), save=False)
    discard_unless_committed(locked.logo.name, model=Dossier, field="logo")
    locked.logo_sha256 = prepared.sha256
    locked.save(update_fields=["logo", "logo_sha256", "updated_at"])
    if old and old != locked.logo.name:
        _delete_on_commit(old)
    _journal(actor, DOSSIER_LOGO_SET, locked, sha256=prepared.sha256)
    return locked


@transaction.atomic
def dossier_screenshot_add(*, actor: User, dossier: Dossier, upload, alt_text: str) -> DossierScreenshot:
    """Check and re-encode ``upload`` and add it last to the screenshots, with its text alternative."""
    _require_member(actor, dossier.organisation_id)
    locked = _locked(dossier)
    _require_editable(locked)
    alt_text = single_line(alt_text)
    if not alt_text:
        raise ValidationError(
            {"alt_text": _("Décrivez ce que montre la capture d’écran, pour les personnes qui ne la voient pas.")}
        )
    if len(alt_text) > ALT_TEXT_MAX_LENGTH:
        raise ValidationError(
            {"alt_text": _("Le texte alternatif est limité à %(limit)s caractères.") % {"limit": ALT_TEXT_MAX_LENGTH}}
        )
    count = locked.screenshots.count()
    if count >= MAX_SCREENSHOTS:
        raise ValidationError(
            {
                "image": _("Un service a au plus %(limit)s captures d’écran : retirez-en une avant d’en ajouter.")
                % {"limit": MAX_SCREENSHOTS}
            },
            code="too_many",
        )
    try:
        prepared = image_prepare(upload, SCREENSHOT)
    except ImageRefused as error:
        raise _image_error("image", error) from None
    last = locked.screenshots.order_by("-position").values_list("position", flat=True).first()
    screenshot = DossierScreenshot(
        dossier=locked,
        alt_text=alt_text,
        position=0 if last is None else last + 1,
        sha256=prepared.sha256,
        width=prepared.width,
        height=prepared.height,
    )
    screenshot.image.save("capture.png", prepared.as_file("capture.png"), save=False)
    discard_unless_committed(screenshot.image.name, model=DossierScreenshot, field="image")
    screenshot.save()
    locked.save(update_fields=["updated_at"])
    _journal(actor, DOSSIER_SCREENSHOT_ADDED, locked, sha256=prepared.sha256)
    return screenshot


def _own_screenshot(dossier: Dossier, screenshot: DossierScreenshot) -> DossierScreenshot:
    locked = DossierScreenshot.objects.select_for_update().filter(pk=screenshot.pk, dossier=dossier).first()
    if locked is None:
        raise PermissionDenied(_("Cette capture d’écran n’appartient pas à ce dossier."))
    return locked


@transaction.atomic
def dossier_screenshot_remove(*, actor: User, dossier: Dossier, screenshot: DossierScreenshot) -> None:
    """Remove a screenshot; its file is deleted once this commits."""
    _require_member(actor, dossier.organisation_id)
    locked = _locked(dossier)
    _require_editable(locked)
    screenshot = _own_screenshot(locked, screenshot)
    name, sha256 = screenshot.image.name, screenshot.sha256
    screenshot.delete()
    _delete_on_commit(name)
    locked.save(update_fields=["updated_at"])
    _journal(actor, DOSSIER_SCREENSHOT_REMOVED, locked, sha256=sha256)


@transaction.atomic
def dossier_screenshot_move(*, actor: User, dossier: Dossier, screenshot: DossierScreenshot, offset: int) -> None:
    """Move a screenshot one place earlier (``offset=-1``) or later (``offset=1``); positions become 0, 1, 2…"""
    if offset not in (-1, 1):
        raise ValidationError(_("Une capture se déplace d’un rang à la fois."), code="offset")
    _require_member(actor, dossier.organisation_id)
    locked = _locked(dossier)
    _require_editable(locked)
    screenshot = _own_screenshot(locked, screenshot)
    ordered = list(locked.screenshots.select_for_update().order_by("position", "id"))
    index = next(i for i, item in enumerate(ordered) if item.pk == screenshot.pk)
    target = index + offset
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, item in enumerate(ordered):
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])
    locked.save(update_fields=["updated_at"])
    _journal(actor, DOSSIER_SCREENSHOT_MOVED, locked, sha256=screenshot.sha256, position=target)


# --- Steps of the workflow --------------------------------------------------------------------------------------------


@transaction.atomic
def dossier_submit(*, actor: User, dossier: Dossier, now: datetime | None = None) -> Dossier:
    """Submit the dossier (first time, or after a request for completion).

    The whole dossier is checked (``DossierIncomplete`` lists every missing point), the product must still be ready in
    Convergence, and its extract is frozen into the dossier with its checksum: what the commission reads will not
    change, whatever happens in Convergence afterwards.
    """
    _require_member(actor, dossier.organisation_id)
    locked = _locked(dossier)
    _require_editable(locked)
    problems = dossier_problems(locked)
    if problems:
        raise DossierIncomplete(problems)
    product = (
        Product.objects.select_for_update().select_related("organisation", "referential").get(pk=locked.product_id)
    )
    readiness_error = _readiness_error(product)
    if readiness_error is not None:
        raise ValidationError(readiness_error.message_dict["product"], code="not_ready")
    now = now or timezone.now()
    extract = export_data(product, now=now)
    return dossier_transition(
        actor=actor,
        dossier=locked,
        transition="submit",
        details={"extract_checksum": extract["checksum"], "product": product.reference},
        changes={
            "extract": extract,
            "extract_checksum": extract["checksum"],
            "submitted_at": now,
            "response_deadline": None,
        },
        now=now,
    )


@transaction.atomic
def dossier_abandon(*, actor: User, dossier: Dossier, reason: str = "") -> Dossier:
    """The editor gives the request up (from the draft, a request for completion or an adjournment): it ends there."""
    _require_member(actor, dossier.organisation_id)
    reason = (reason or "").replace("\r\n", "\n").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Le motif est limité à %(limit)s caractères.") % {"limit": french_number(REASON_MAX_LENGTH)}}
        )
    return dossier_transition(actor=actor, dossier=dossier, transition="abandon", comment=reason)


@transaction.atomic
def dossier_adjournment_answer(*, actor: User, dossier: Dossier, answer: str) -> Dossier:
    """Answer the information the commission asked for when it adjourned its opinion: the dossier goes back to the
    commission for a new round of examination."""
    _require_member(actor, dossier.organisation_id)
    answer = (answer or "").replace("\r\n", "\n").strip()
    if not answer:
        raise ValidationError({"answer": _("Rédigez votre réponse aux questions de la commission.")})
    if len(answer) > ANSWER_MAX_LENGTH:
        raise ValidationError(
            {
                "answer": _("La réponse est limitée à %(limit)s caractères (vous en avez saisi %(count)s).")
                % {"limit": french_number(ANSWER_MAX_LENGTH), "count": french_number(len(answer))}
            }
        )
    locked = _locked(dossier)
    return dossier_transition(
        actor=actor,
        dossier=locked,
        transition="answer_adjournment",
        comment=answer,
        changes={"response_deadline": None, "commission_round": locked.commission_round + 1},
    )


# --- After publication ------------------------------------------------------------------------------------------------


@transaction.atomic
def dossier_redeclare(*, actor: User, dossier: Dossier, kind: str, product: Product | None = None) -> Dossier:
    """A new request on a published service: a new major version (``product`` is the new version's Convergence
    product, ready) or a renewal (the same product). The sheet, the procedure, the requested exchanges, the logo and
    the screenshots are copied into the new draft; the catalogue entry stays as it is until the decision on it.
    """
    _require_member(actor, dossier.organisation_id)
    previous = _locked(dossier)
    if previous.state != State.PUBLISHED:
        raise ValidationError(
            _("Seul un service publié peut déclarer une nouvelle version majeure ou demander son renouvellement."),
            code="state",
        )
    if kind not in (DossierKind.MAJOR_VERSION, DossierKind.RENEWAL):
        raise ValidationError({"kind": _("Choisissez : nouvelle version majeure ou renouvellement.")}, code="kind")
    pending = (
        Dossier.objects.filter(previous=previous)
        .exclude(state__in=[*FINAL_STATES, State.PUBLISHED, State.SUSPENDED])
        .first()
    )
    if pending is not None:
        raise ValidationError(
            {
                "kind": _("Une demande est déjà en cours pour ce service (%(reference)s).")
                % {"reference": pending.reference}
            },
            code="pending",
        )
    if kind == DossierKind.RENEWAL:
        product = previous.product
    elif product is None:
        raise ValidationError({"product": _("Choisissez le produit Convergence de la nouvelle version.")})
    elif product.organisation_id != previous.organisation_id:
        raise ValidationError({"product": _("Choisissez un produit de l’organisation éditrice de ce service.")})
    elif product.pk == previous.product_id:
        raise ValidationError(
            {
                "product": _(
                    "Une nouvelle version majeure se déclare comme un nouveau produit dans Convergence : déclarez-la, "
                    "évaluez-la, puis choisissez-la ici."
                )
            }
        )
    product = Product.objects.select_for_update().select_related("organisation").get(pk=product.pk)
    if kind == DossierKind.MAJOR_VERSION and (open_dossier := _open_dossier(product)) is not None:
        raise _open_dossier_error(open_dossier)
    readiness_error = _readiness_error(product)
    if readiness_error is not None:
        raise readiness_error
    procedure = previous.procedure
    if procedure == Procedure.AVEC_ECHANGE and product.procedure != Procedure.AVEC_ECHANGE:
        procedure = Procedure.SANS_ECHANGE
    now = timezone.now()
    values = {name: getattr(previous, name) for name in COPIED_FIELDS}
    if procedure == Procedure.SANS_ECHANGE:
        values |= {"oid": "", "redirect_uris": []}
    dossier = _create_row(
        reference=dossier_reference_next(now),
        organisation=previous.organisation,
        product=product,
        kind=kind,
        previous=previous,
        procedure=procedure,
        service=previous.service,
        habilitation=previous.habilitation,
        created_by=actor,
        **values,
    )
    if procedure == Procedure.AVEC_ECHANGE:
        RequestedExchange.objects.bulk_create(
            RequestedExchange(dossier=dossier, exchange=row.exchange, justification=row.justification)
            for row in previous.requested_exchanges.all()
        )
    # The images are copied, not shared: replacing the logo of the new draft must leave the published one intact.
    if previous.logo:
        with previous.logo.open("rb") as source:
            dossier.logo.save("logo.png", ContentFile(source.read()), save=False)
        discard_unless_committed(dossier.logo.name, model=Dossier, field="logo")
        dossier.logo_sha256 = previous.logo_sha256
        dossier.save(update_fields=["logo", "logo_sha256"])
    for original in previous.screenshots.order_by("position", "id"):
        copy = DossierScreenshot(
            dossier=dossier,
            alt_text=original.alt_text,
            position=original.position,
            sha256=original.sha256,
            width=original.width,
            height=original.height,
        )
        with original.image.open("rb") as source:
            copy.image.save("capture.png", ContentFile(source.read()), save=False)
        discard_unless_committed(copy.image.name, model=DossierScreenshot, field="image")
        copy.save()
    _journal(actor, DOSSIER_REDECLARED, dossier, previous=previous.reference, kind=kind, product=product.reference)
    return dossier
