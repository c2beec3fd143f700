"""The convention of a granted référencement: its text, its PDF, and its electronic signature by the editor.

``convention_generate`` is called by the decision (inside its transaction) once the référencement is granted: it
renders the PDF from the dossier, the decision and the settings, stores it under a server-generated name with its
SHA-256, and deletes the file again if that transaction rolls back. The editor reads the same text on the portal
(``convention_content``, the one source of the PDF and of the page), and a « Responsable » of the organisation signs:
``convention_sign`` records who, when, in which capacity and the SHA-256 they approved, then moves the dossier by
``sign_convention`` and publishes it, in one transaction.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.models import DATA_EXCHANGE_SCOPES, DATA_EXCHANGE_SENTENCES, DataExchange
from convergence.models import Procedure
from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import Membership, User
from mes.uploads import discard_unless_committed
from referencement.models import Convention, Decision, DecisionResult, Dossier, Purpose, State
from referencement.workflow import dossier_transition

CONVENTION_GENERATED = "referencement.convention.generated"
register_action(CONVENTION_GENERATED, gettext_lazy("Convention de référencement établie"))

SIGNER_MAX_LENGTH = 200
MINISTRY = gettext_lazy("Le ministre chargé de la santé, représenté par la Délégation au numérique en santé (DNS)")


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GrantedExchange:
    code: str
    label: str
    sentence: str
    scope: str


@dataclass(frozen=True)
class ConventionContent:
    """What the convention says: the PDF and the editor's page are both drawn from it."""

    reference: str
    title: str
    ministry: str
    organisation: str
    siret: str
    service: str
    product_reference: str
    referential_version: str
    extract_checksum: str
    procedure: str
    purpose: str
    oid: str
    exchanges: list[GrantedExchange]
    years: int
    dated: date
    articles: list[Article]


def _day(value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = timezone.localdate(value)
    return formats.date_format(value, "j F Y")


def granted_exchanges(dossier: Dossier) -> list[str]:
    """The exchanges the decision granted, in the vocabulary's order (the decision is the source; the dossier's copy
    is used when the decision row holds none)."""
    decision = Decision.objects.filter(dossier=dossier).first()
    codes = decision.granted_exchanges if decision is not None and decision.granted_exchanges else []
    codes = codes or list(dossier.granted_exchanges)
    return [code for code in DataExchange.values if code in codes]


def _granted_decision(dossier: Dossier) -> Decision:
    decision = Decision.objects.filter(dossier=dossier).first()
    if decision is None or decision.result != DecisionResult.GRANTED:
        raise ValidationError(
            _("La convention suit une décision accordant le référencement : ce dossier n’en a pas."), code="decision"
        )
    return decision


def convention_content(dossier: Dossier, *, dated: date | None = None) -> ConventionContent:
    """The text of ``dossier``'s convention (dated ``dated``, today by default)."""
    decision = _granted_decision(dossier)
    dated = dated or timezone.localdate()
    extract = dossier.extract or {}
    product_reference = (extract.get("product") or {}).get("reference") or dossier.product.reference
    referential_version = (extract.get("referential") or {}).get("version", "")
    exchanges = [
        GrantedExchange(
            code=code,
            label=str(DataExchange(code).label),
            sentence=str(DATA_EXCHANGE_SENTENCES[code]),
            scope=DATA_EXCHANGE_SCOPES[code],
        )
        for code in granted_exchanges(dossier)
    ]
    with_exchange = dossier.procedure == Procedure.AVEC_ECHANGE
    organisation = dossier.organisation
    years = settings.REFERENCEMENT_CONVENTION_YEARS
    service = dossier.name or dossier.product.name
    purpose = str(Purpose(dossier.purpose).label) if dossier.purpose else ""
    articles = [
        Article(
            _("Article 1 — Objet"),
            [
                _(
                    "La présente convention fixe les conditions dans lesquelles le service « %(service)s », édité par "
                    "%(organisation)s, est référencé au catalogue de services de Mon espace santé, à la suite de la "
                    "décision du %(decided)s prise sur le dossier %(reference)s."
                )
                % {
                    "service": service,
                    "organisation": organisation.name,
                    "decided": _day(decision.decided_at),
                    "reference": dossier.reference,
                }
            ],
        ),
        Article(
            _("Article 2 — Service référencé"),
            items=[
                _("Nom du service : %(name)s") % {"name": service},
                _("Produit Convergence : %(reference)s, évalué avec le référentiel %(version)s")
                % {"reference": product_reference, "version": referential_version or "—"},
                _("Empreinte SHA-256 de l’extrait Convergence : %(checksum)s")
                % {"checksum": dossier.extract_checksum or "—"},
                _("Procédure : %(procedure)s") % {"procedure": Procedure(dossier.procedure).label},
                *([_("Finalité : %(purpose)s") % {"purpose": purpose}] if purpose else []),
                *([_("OID de l’éditeur : %(oid)s") % {"oid": dossier.oid}] if dossier.oid else []),
            ],
        ),
    ]
    if with_exchange and exchanges:
        articles.append(
            Article(
                _("Article 3 — Données échangées"),
                [
                    _(
                        "Le service n’accède qu’aux données ci-dessous, pour sa finalité déclarée, et seulement "
                        "avec le consentement de chaque usager, donné lors de l’appariement et révocable à tout "
                        "moment. Toute autre donnée demandée et non citée ici n’est pas accordée."
                    )
                ],
                [
                    _("%(sentence)s (périmètre %(scope)s)") % {"sentence": exchange.sentence, "scope": exchange.scope}
                    for exchange in exchanges
                ],
            )
        )
    else:
        articles.append(
            Article(
                _("Article 3 — Données échangées"),
                [_("Le service est référencé sans échange de données avec l’espace santé des usagers.")],
            )
        )
    articles += [
        Article(
            _("Article 4 — Obligations de l’éditeur"),
            [_("Pendant toute la durée de la convention, l’éditeur s’engage à :")],
            [
                _(
                    "respecter le règlement général sur la protection des données (RGPD) et la loi Informatique et "
                    "libertés : information des personnes, registre des traitements, exercice des droits ;"
                ),
                _(
                    "héberger les données de santé à caractère personnel que le service conserve chez un hébergeur "
                    "certifié pour l’hébergement de données de santé (HDS), conformément à l’article L. 1111-8 du code "
                    "de la santé publique ;"
                ),
                _(
                    "appliquer la politique générale de sécurité des systèmes d’information de santé (PGSSI-S) et "
                    "signaler sans délai tout incident de sécurité touchant le service ;"
                ),
                _("maintenir exactes et à jour ses réponses à l’auto-évaluation Convergence du service ;"),
                _(
                    "déposer une nouvelle demande de référencement pour toute nouvelle version majeure du service, "
                    "avant sa mise à disposition des usagers ;"
                ),
                _(
                    "se soumettre aux audits tirés au sort et fournir les pièces demandées dans le délai fixé ; un "
                    "audit sans réponse ou non conforme peut entraîner la suspension ou le retrait du référencement ;"
                ),
                _(
                    "informer clairement les usagers de la finalité du service, des données échangées avec leur "
                    "espace santé et des moyens de joindre son support."
                ),
            ],
        ),
        Article(
            _("Article 5 — Suspension et retrait"),
            [
                _(
                    "Le manquement à ces obligations peut entraîner la suspension du référencement : le service "
                    "disparaît du catalogue et son accès aux données des usagers est coupé jusqu’à la levée de la "
                    "suspension. Le retrait met fin au référencement et aux appariements des usagers. Les usagers "
                    "concernés en sont informés ; les données déjà partagées restent dans leur espace santé."
                )
            ],
        ),
        Article(
            _("Article 6 — Durée"),
            [
                _(
                    "La convention prend effet à sa signature, pour une durée de %(years)s ans. Son renouvellement est "
                    "demandé par une nouvelle demande de référencement avant son échéance."
                )
                % {"years": years}
            ],
        ),
        Article(
            _("Article 7 — Signature"),
            [
                _(
                    "La convention est signée électroniquement, au nom de %(organisation)s, par l’un de ses "
                    "responsables sur le portail éditeurs. La signature enregistre le nom et la qualité du signataire, "
                    "la date, et l’empreinte SHA-256 de ce document telle qu’elle lui a été présentée."
                )
                % {"organisation": organisation.name}
            ],
        ),
    ]
    return ConventionContent(
        reference=dossier.reference,
        title=_("Convention de référencement au catalogue de services de Mon espace santé"),
        ministry=str(MINISTRY),
        organisation=organisation.name,
        siret=organisation.siret,
        service=service,
        product_reference=product_reference,
        referential_version=referential_version,
        extract_checksum=dossier.extract_checksum,
        procedure=str(Procedure(dossier.procedure).label),
        purpose=purpose,
        oid=dossier.oid,
        exchanges=exchanges,
        years=years,
        dated=dated,
        articles=articles,
    )


def convention_pdf(content: ConventionContent) -> bytes:
    """The convention as an A4 PDF in French, its reference and page number in every page's footer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=10, leading=13)

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 10 * mm, f"Convention de référencement — dossier {content.reference}")
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"page {document.page}")
        canvas.restoreState()

    story = [
        Paragraph(escape(content.title), styles["Title"]),
        Paragraph(escape(_("Dossier %(reference)s") % {"reference": content.reference}), styles["Heading3"]),
        Spacer(1, 3 * mm),
        Paragraph(escape(_("Entre les soussignés")), styles["Heading2"]),
        Paragraph(escape(content.ministry) + ",", body),
        Paragraph(escape(_("d’une part,")), body),
        Spacer(1, 2 * mm),
        Paragraph(
            escape(
                _("et %(organisation)s, SIRET %(siret)s, dénommé ci-après « l’éditeur »,")
                % {"organisation": content.organisation, "siret": content.siret}
            ),
            body,
        ),
        Paragraph(escape(_("d’autre part,")), body),
        Paragraph(escape(_("il est convenu ce qui suit.")), body),
    ]
    for article in content.articles:
        story += [Spacer(1, 3 * mm), Paragraph(escape(article.title), styles["Heading2"])]
        story += [Paragraph(escape(paragraph), body) for paragraph in article.paragraphs]
        if article.items:
            story.append(
                ListFlowable(
                    [ListItem(Paragraph(escape(item), body), leftIndent=12) for item in article.items],
                    bulletType="bullet",
                    start="•",
                    leftIndent=12,
                )
            )
    story += [
        Spacer(1, 6 * mm),
        Paragraph(escape(_("Établie le %(date)s.") % {"date": _day(content.dated)}), body),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Convention de référencement — {content.reference}",
        author="Délégation au numérique en santé",
        subject=content.service,
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


@transaction.atomic
def convention_generate(*, dossier: Dossier) -> Convention:
    """Establish ``dossier``'s convention after a granted decision (called inside the decision's transaction).

    An unsigned convention is replaced (its file deleted once this commits); a signed one is never. The new file is
    deleted again if the transaction rolls back, so no file outlives a decision that was not recorded.
    """
    locked = Dossier.objects.select_for_update().select_related("organisation", "product").get(pk=dossier.pk)
    if locked.state not in (State.OPINION, State.CONVENTION):
        raise ValidationError(
            _("Une convention n’est établie qu’après la décision : le dossier est « %(state)s ».")
            % {"state": locked.get_state_display()},
            code="state",
        )
    # The production app will carry the organisation's OID: it must not be another app's already.
    from referencement.services.publication import production_oid_problem

    problem = production_oid_problem(locked)
    if problem:
        raise ValidationError(problem, code="oid")
    content = convention_content(locked)
    pdf = convention_pdf(content)
    sha256 = hashlib.sha256(pdf).hexdigest()
    convention = Convention.objects.select_for_update().filter(dossier=locked).first()
    if convention is not None and convention.is_signed:
        raise ValidationError(_("La convention de ce dossier est déjà signée."), code="signed")
    replaced = convention.document.name if convention is not None else ""
    convention = convention or Convention(dossier=locked)
    convention.sha256 = sha256
    convention.document.save("convention.pdf", ContentFile(pdf), save=False)
    discard_unless_committed(convention.document.name, model=Convention, field="document")
    convention.save()
    if replaced:
        transaction.on_commit(lambda: default_storage.delete(replaced))
    journal_append(
        actor=None,
        actor_label=str(_("Mon espace santé")),
        action=CONVENTION_GENERATED,
        obj=locked,
        details={"reference": locked.reference, "sha256": sha256, "exchanges": [e.code for e in content.exchanges]},
    )
    return convention


def may_sign(actor: User, dossier: Dossier) -> bool:
    """Only a « Responsable » of the dossier's organisation signs for it."""
    return Membership.objects.filter(
        user=actor, organisation_id=dossier.organisation_id, level=Membership.Level.MANAGER
    ).exists()


def _file_sha256(convention: Convention) -> str:
    digest = hashlib.sha256()
    with convention.document.open("rb") as stream:
        for chunk in iter(lambda: stream.read(256 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _text(value: str, field_name: str, missing: str, errors: dict) -> str:
    value = " ".join((value or "").split())
    if not value:
        errors[field_name] = missing
    elif len(value) > SIGNER_MAX_LENGTH:
        errors[field_name] = _("%(limit)s caractères au plus.") % {"limit": SIGNER_MAX_LENGTH}
    return value


@transaction.atomic
def convention_sign(
    *, actor: User, dossier: Dossier, signer_name: str, signer_capacity: str, sha256_seen: str
) -> Dossier:
    """Sign ``dossier``'s convention for its organisation, then publish the service (one transaction).

    Refused, field by field in French: a missing name or capacity, a signer who is not a « Responsable » of the
    organisation, a convention already signed, or a SHA-256 that is not the one of the stored document (the editor
    read another version than the one to sign).
    """
    if not Membership.objects.filter(user=actor, organisation_id=dossier.organisation_id).exists():
        raise PermissionDenied(_("Vous n’êtes pas membre de l’organisation de ce dossier."))
    errors: dict[str, str] = {}
    signer_name = _text(signer_name, "signer_name", _("Indiquez vos prénom et nom."), errors)
    signer_capacity = _text(
        signer_capacity, "signer_capacity", _("Indiquez votre qualité (par exemple : président)."), errors
    )
    if not may_sign(actor, dossier):
        errors["__all__"] = _(
            "Seul un responsable de %(organisation)s peut signer la convention : demandez-le à l’un d’eux."
        ) % {"organisation": dossier.organisation.name}
    if errors:
        raise ValidationError(errors)
    convention = Convention.objects.select_for_update().filter(dossier=dossier).first()
    if convention is None:
        raise ValidationError(_("Aucune convention n’est établie pour ce dossier."), code="missing")
    if convention.is_signed:
        raise ValidationError(_("La convention est déjà signée."), code="signed")
    if (sha256_seen or "").strip().lower() != convention.sha256 or _file_sha256(convention) != convention.sha256:
        raise ValidationError(
            {
                "sha256_seen": _(
                    "L’empreinte de la convention ne correspond pas à celle du document à signer : rechargez la page, "
                    "relisez la convention puis signez de nouveau."
                )
            }
        )
    now = timezone.now()
    convention.signed_by = actor
    convention.signer_name = signer_name
    convention.signer_capacity = signer_capacity
    convention.signed_at = now
    convention.signed_sha256 = convention.sha256
    convention.save(update_fields=["signed_by", "signer_name", "signer_capacity", "signed_at", "signed_sha256"])
    # The step's journal row (written by the transition) records the signature: who, in which capacity, which hash.
    dossier = dossier_transition(
        actor=actor,
        dossier=dossier,
        transition="sign_convention",
        details={"sha256": convention.sha256, "signataire": signer_name, "qualite": signer_capacity},
        comment=_("Signée par %(name)s (%(capacity)s).") % {"name": signer_name, "capacity": signer_capacity},
        now=now,
    )
    from referencement.services.publication import dossier_publish

    return dossier_publish(actor=actor, dossier=dossier, now=now)
