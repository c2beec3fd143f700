"""The state machine of a référencement dossier: which transition leads from which state to which, and who may make it.

Every change of state goes through ``dossier_transition``: it locks the dossier, refuses a transition that the table
does not allow from the current state (``TransitionRefused``, in French), records the step of the timeline
(``Event``), writes one journal row, and e-mails the editor's organisation after the commit. The services of
``referencement.services`` check the business rules of each step (a complete dossier, a green checklist, a vote...)
and then call it; nothing else writes ``Dossier.state``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import Role, User
from referencement.models import Dossier, Event, State

logger = logging.getLogger(__name__)


class TransitionRefused(ValidationError):
    """The transition is not possible from the dossier's current state (or by this actor)."""


@dataclass(frozen=True)
class Transition:
    code: str
    sources: tuple[str, ...]
    target: str
    # Who makes it: an editor of the organisation, a commission member, an administrator, or the platform itself
    # (a scheduled job, a consequence of another step), named ``None``.
    roles: tuple[str | None, ...]
    label: str
    # What the editor reads in the e-mail (and the timeline shows as the step's title).
    editor_message: str


def _t(code, sources, target, roles, label, editor_message) -> Transition:
    return Transition(code, tuple(sources), target, tuple(roles), label, editor_message)


EDITOR = Role.EDITOR
ADMIN = Role.ADMIN
COMMISSION = Role.COMMISSION
PLATFORM = None

TRANSITIONS: dict[str, Transition] = {
    t.code: t
    for t in [
        _t(
            "submit",
            [State.DRAFT, State.COMPLETION],
            State.SUBMITTED,
            [EDITOR],
            gettext_lazy("Dossier déposé"),
            gettext_lazy("Votre dossier a été déposé ; sa recevabilité va être examinée."),
        ),
        _t(
            "request_completion",
            [State.SUBMITTED, State.INSTRUCTION],
            State.COMPLETION,
            [ADMIN],
            gettext_lazy("Compléments demandés"),
            gettext_lazy("Des compléments sont demandés avant la date limite indiquée."),
        ),
        _t(
            "declare_admissible",
            [State.SUBMITTED],
            State.INSTRUCTION,
            [ADMIN],
            gettext_lazy("Dossier complet — instruction ouverte"),
            gettext_lazy("Votre dossier est complet : son instruction commence."),
        ),
        _t(
            "start_tests",
            [State.INSTRUCTION],
            State.TECHNICAL_TESTS,
            [ADMIN],
            gettext_lazy("Tests d’accrochage ouverts"),
            gettext_lazy("Les tests d’accrochage sont ouverts : vos accès au bac à sable sont disponibles."),
        ),
        _t(
            "refer_to_commission",
            [State.INSTRUCTION, State.TECHNICAL_TESTS],
            State.COMMISSION,
            [ADMIN],
            gettext_lazy("Transmis à la commission"),
            gettext_lazy("Votre dossier est transmis à la commission de référencement."),
        ),
        _t(
            "adjourn",
            [State.COMMISSION],
            State.ADJOURNED,
            [COMMISSION],
            gettext_lazy("Avis ajourné — informations demandées"),
            gettext_lazy("La commission a ajourné son avis et vous demande des informations."),
        ),
        _t(
            "answer_adjournment",
            [State.ADJOURNED],
            State.COMMISSION,
            [EDITOR],
            gettext_lazy("Informations transmises à la commission"),
            gettext_lazy("Vos informations ont été transmises à la commission."),
        ),
        _t(
            "adopt_opinion",
            [State.COMMISSION],
            State.OPINION,
            [COMMISSION],
            gettext_lazy("Avis de la commission rendu"),
            gettext_lazy("La commission a rendu son avis ; la décision va être prise."),
        ),
        _t(
            "grant",
            [State.OPINION],
            State.CONVENTION,
            [ADMIN],
            gettext_lazy("Référencement accordé — convention à signer"),
            gettext_lazy("Le référencement est accordé : lisez et signez la convention pour être publié."),
        ),
        _t(
            "refuse",
            [State.OPINION],
            State.REFUSED,
            [ADMIN],
            gettext_lazy("Référencement refusé"),
            gettext_lazy("Le référencement de votre service est refusé ; les motifs figurent dans votre dossier."),
        ),
        _t(
            "sign_convention",
            [State.CONVENTION],
            State.PUBLISHED,
            [EDITOR],
            gettext_lazy("Convention signée — service publié"),
            gettext_lazy("La convention est signée : votre service est publié au catalogue."),
        ),
        _t(
            "suspend",
            [State.PUBLISHED],
            State.SUSPENDED,
            [ADMIN, PLATFORM],
            gettext_lazy("Référencement suspendu"),
            gettext_lazy(
                "Le référencement de votre service est suspendu : il n’apparaît plus au catalogue et son "
                "accès aux données est coupé."
            ),
        ),
        _t(
            "reinstate",
            [State.SUSPENDED],
            State.PUBLISHED,
            [ADMIN],
            gettext_lazy("Suspension levée"),
            gettext_lazy("La suspension est levée : votre service est de nouveau publié."),
        ),
        _t(
            "withdraw",
            [State.PUBLISHED, State.SUSPENDED],
            State.WITHDRAWN,
            [ADMIN],
            gettext_lazy("Référencement retiré"),
            gettext_lazy("Le référencement de votre service est retiré."),
        ),
        _t(
            "supersede",
            [State.PUBLISHED, State.SUSPENDED],
            State.SUPERSEDED,
            [PLATFORM],
            gettext_lazy("Remplacé par une nouvelle décision"),
            gettext_lazy("Ce référencement est remplacé par celui de votre nouvelle demande."),
        ),
        _t(
            "abandon",
            [State.DRAFT, State.COMPLETION, State.ADJOURNED],
            State.ABANDONED,
            [EDITOR],
            gettext_lazy("Demande abandonnée"),
            gettext_lazy("Vous avez abandonné cette demande."),
        ),
        _t(
            "close_expired",
            [State.COMPLETION, State.ADJOURNED],
            State.CLOSED,
            [PLATFORM],
            gettext_lazy("Classé sans suite — délai de réponse dépassé"),
            gettext_lazy("Faute de réponse avant la date limite, votre demande est classée sans suite."),
        ),
    ]
}


def transitions_from(state: str) -> list[Transition]:
    return [transition for transition in TRANSITIONS.values() if state in transition.sources]


def action_code(transition: str) -> str:
    return f"referencement.dossier.{transition}"


for _transition in TRANSITIONS.values():
    register_action(action_code(_transition.code), _transition.label)


def _actor_role(actor: User | None) -> str | None:
    if actor is None or not actor.is_authenticated:
        return None
    return actor.role


def transition_allowed(dossier: Dossier, code: str, actor: User | None) -> bool:
    transition = TRANSITIONS.get(code)
    return transition is not None and dossier.state in transition.sources and _actor_role(actor) in transition.roles


def _email_send(*, to: list[str], subject: str, body: str) -> None:
    try:
        EmailMessage(subject=subject, body=body, to=to).send()
    except Exception:
        # The step is recorded and shown on the portal; a refused e-mail must not undo it.
        logger.exception("Référencement e-mail could not be sent")


def email_organisation(
    dossier: Dossier, *, subject: str, heading: str, lines: list, link_label: str, link: str
) -> None:
    """E-mail the active members of the dossier's organisation after the commit (a step, an audit...).

    ``subject`` follows « Référencement <reference> : »; ``link`` is a path of the portal, ``link_label`` its
    sentence with ``%(url)s``."""
    recipients = list(
        dossier.organisation.members.filter(is_active=True).order_by("pk").values_list("email", flat=True)
    )
    if not recipients:
        return
    full_subject = _("Référencement %(reference)s : %(subject)s") % {"reference": dossier.reference, "subject": subject}
    body = "\n".join(
        str(line)
        for line in [
            _("Bonjour,"),
            "",
            heading,
            *lines,
            "",
            link_label % {"url": settings.PUBLIC_BASE_URL + link},
            "",
            _("Portail éditeurs de Mon espace santé"),
        ]
    )
    transaction.on_commit(lambda: _email_send(to=recipients, subject=str(full_subject), body=body))


def _email_editor(dossier: Dossier, transition: Transition, comment: str) -> None:
    lines = [str(transition.editor_message)]
    if comment:
        lines += ["", comment]
    if dossier.response_deadline and dossier.state in (State.COMPLETION, State.ADJOURNED):
        deadline = timezone.localtime(dossier.response_deadline)
        lines += ["", _("Date limite de réponse : %(date)s") % {"date": deadline.strftime("%d/%m/%Y %H:%M")}]
    email_organisation(
        dossier,
        subject=str(transition.label),
        heading=_("Dossier %(reference)s — %(name)s")
        % {"reference": dossier.reference, "name": dossier.name or dossier.product.name},
        lines=lines,
        link_label=_("Suivre votre dossier : %(url)s"),
        link=reverse("referencement_dossier", args=[dossier.public_id]),
    )


@transaction.atomic
def dossier_transition(
    *,
    actor: User | None,
    dossier: Dossier,
    transition: str,
    comment: str = "",
    details: dict | None = None,
    changes: dict | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> Dossier:
    """Move ``dossier`` by ``transition``; ``changes`` are other fields of the dossier saved in the same step.

    Returns the locked, updated dossier. Raises ``TransitionRefused`` when the state or the actor does not allow it.
    """
    spec = TRANSITIONS.get(transition)
    if spec is None:
        raise TransitionRefused(_("Étape inconnue."), code="unknown")
    locked = Dossier.objects.select_for_update().select_related("organisation", "product").get(pk=dossier.pk)
    if locked.state not in spec.sources:
        raise TransitionRefused(
            _("Cette étape n’est pas possible : le dossier est « %(state)s ».") % {"state": locked.get_state_display()},
            code="state",
        )
    if _actor_role(actor) not in spec.roles:
        raise TransitionRefused(_("Vous ne pouvez pas effectuer cette étape."), code="actor")
    now = now or timezone.now()
    previous = locked.state
    locked.state = spec.target
    locked.state_changed_at = now
    fields = {"state", "state_changed_at", "updated_at"}
    for name, value in (changes or {}).items():
        setattr(locked, name, value)
        fields.add(name)
    locked.save(update_fields=sorted(fields))
    label = actor_label or (actor.display_name if actor is not None and actor.is_authenticated else "")
    Event.objects.create(
        dossier=locked,
        transition=transition,
        from_state=previous,
        to_state=spec.target,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=label or _("Mon espace santé"),
        comment=comment,
        details=details or {},
    )
    journal_append(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        action=action_code(transition),
        obj=locked,
        details={"reference": locked.reference, "from": previous, "to": spec.target, **(details or {})},
    )
    _email_editor(locked, spec, comment)
    dossier.state = locked.state
    dossier.state_changed_at = now
    for name, value in (changes or {}).items():
        setattr(dossier, name, value)
    return locked
