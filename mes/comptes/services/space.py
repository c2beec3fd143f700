"""The citizen's own actions on their space: activate it or object to its creation with the code of the letter,
close it, and the job that deletes the content of closed spaces once their grace period is over.

Identification never tells whether a person exists: an unknown person, a wrong, expired, locked or already used
code all end in the same ``IdentificationFailed``. Each try on a known person's live code is claimed before the
comparison by a conditional ``UPDATE`` (``code_failures < MAX_CODE_FAILURES``), committed at once, so parallel
requests cannot try more than ``MAX_CODE_FAILURES`` codes, and the counter survives the failing request.
"""

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.hashers import make_password
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.acces.journal import register_action
from mes.acces.models import JournalEntry
from mes.acces.services import journal_append
from mes.comptes.codes import code_hash, code_matches, code_normalize
from mes.comptes.events import space_content_deleting
from mes.comptes.models import Citizen, CitizenStatus, ClosureReason, Role, User
from mes.comptes.services.lifecycle import TransitionRefused, citizen_transition

S = CitizenStatus

MAX_CODE_FAILURES = 5
# States in which the letter's code is still of use: the person may yet activate (or, from notified, object).
CODE_LIVE_STATUSES = (S.NOTIFIED, S.OPPOSED, S.CREATED_AUTOMATICALLY)
DELETION_CHUNK = 1_000
DELETED_EMAIL_DOMAIN = "compte-supprime.invalid"

ACTION_CODE_FAILED = "compte.code.echec"
ACTION_CODE_LOCKED = "compte.code.bloque"
ACTION_CONTENT_DELETED = "compte.espace.contenu_supprime"
register_action(ACTION_CODE_FAILED, _("Essai d’un code erroné pour activer votre espace ou vous y opposer"))
register_action(ACTION_CODE_LOCKED, _("Code de votre courrier bloqué après 5 essais erronés"))
register_action(ACTION_CONTENT_DELETED, _("Suppression du contenu de votre espace fermé"))


class IdentificationFailed(Exception):
    """The one answer to every failed identification, whatever the reason (see the module docstring)."""

    message = _(
        "Ces informations ne correspondent pas à un courrier en cours de validité. Vérifiez votre saisie et le code "
        "de votre courrier ou de votre courriel. Après 5 essais erronés, un code n’est plus utilisable : "
        "demandez-en un nouveau au 3422 (service gratuit + prix d’un appel)."
    )


class ActivationExpired(Exception):
    message = _(
        "Votre vérification a expiré ou le code de votre courrier a déjà été utilisé. Recommencez l’activation depuis "
        "le début ; en cas de difficulté, appelez le 3422."
    )


class OppositionNotPossible(Exception):
    message = _(
        "Votre espace a déjà été créé : il n’est plus possible de s’opposer à sa création. Vous pouvez l’activer puis "
        "le fermer à tout moment depuis ses paramètres, ou appeler le 3422 pour être accompagné."
    )


@dataclass(frozen=True)
class Identity:
    """What the person typed: the matricule INS, or else the birth traits."""

    ins: str = ""
    birth_name: str = ""
    first_name: str = ""
    birth_date: date | None = None
    birthplace_code: str = ""


def _plain(value: str) -> str:
    """Upper case, no accents, single spaces: the INS referential's traits are written that way."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.replace("-", " ").replace("'", " ").replace("’", " ").upper().split())


def _first_name_matches(typed: str, citizen: Citizen) -> bool:
    typed = _plain(typed)
    names = _plain(citizen.first_names)
    return bool(typed) and typed in {names, names.split(" ")[0], _plain(citizen.used_first_name)}


def _live_code_q(now: datetime) -> Q:
    return (
        Q(status__in=CODE_LIVE_STATUSES, user__isnull=True, code_failures__lt=MAX_CODE_FAILURES)
        & ~Q(code_hash="")
        & (Q(code_expires_at__isnull=True) | Q(code_expires_at__gt=now))
    )


def _candidates(identity: Identity, now: datetime) -> list[Citizen]:
    """The people whose live code this identity may unlock (usually one; homonyms share birth date and place)."""
    live = Citizen.objects.filter(_live_code_q(now))
    if identity.ins:
        return list(live.filter(ins=identity.ins))
    if not (identity.birth_name and identity.first_name and identity.birth_date and identity.birthplace_code):
        return []
    # Narrowed in SQL by date and place of birth, then the names are compared without accents or case.
    same_birth = live.filter(birth_date=identity.birth_date, birthplace_code=identity.birthplace_code.upper())
    birth_name = _plain(identity.birth_name)
    return [
        citizen
        for citizen in same_birth[:200]
        if _plain(citizen.birth_name) == birth_name and _first_name_matches(identity.first_name, citizen)
    ]


def _claim_try(citizen: Citizen) -> int | None:
    """Count one try on this person's code before comparing; ``None`` when the code is already locked."""
    updated = Citizen.objects.filter(pk=citizen.pk, code_failures__lt=MAX_CODE_FAILURES).update(
        code_failures=F("code_failures") + 1
    )
    if not updated:
        return None
    return Citizen.objects.values_list("code_failures", flat=True).get(pk=citizen.pk)


def citizen_identify_with_code(*, identity: Identity, code: str, now: datetime | None = None) -> Citizen:
    """The person whose live letter code is ``code``, or ``IdentificationFailed``.

    Not atomic on purpose: each try is counted and journaled in its own committed transaction, so that the count
    survives the failure it reports. A success gives the try back (the holder of the code is the person).
    """
    now = now or timezone.now()
    code = code_normalize(code)
    candidates = _candidates(identity, now)
    if not candidates:
        code_hash(code)  # about the same work as a known person's comparison
        raise IdentificationFailed
    # Compared first, counted next: a matching candidate spares its homonyms a failure. A match is only answered
    # if its try could be claimed, so even parallel guesses get no answer once the code is locked.
    matching = [candidate for candidate in candidates if code_matches(code, candidate.code_hash)]
    if matching:
        with transaction.atomic():
            if _claim_try(matching[0]) is None:
                raise IdentificationFailed
            Citizen.objects.filter(pk=matching[0].pk).update(code_failures=0)
        found = matching[0]
        found.refresh_from_db()
        return found
    for candidate in candidates:
        with transaction.atomic():
            failures = _claim_try(candidate)
            if failures is None:
                continue
            journal_append(
                actor=None,
                actor_label=str(_("Personne non identifiée")),
                action=ACTION_CODE_FAILED,
                citizen=candidate,
                obj=candidate,
                details={"failures": failures},
            )
            if failures >= MAX_CODE_FAILURES:
                journal_append(
                    actor=None,
                    actor_label="Mon espace santé",
                    action=ACTION_CODE_LOCKED,
                    citizen=candidate,
                    obj=candidate,
                    details={"failures": failures},
                )
    raise IdentificationFailed
    found.refresh_from_db()
    return found


def _send(*, to: str, subject: str, template: str, context: dict) -> None:
    """Mail after commit, without health content (the templates speak only of the space itself)."""
    if not to:
        return
    body = render_to_string(template, context)
    transaction.on_commit(lambda: send_mail(str(subject), body, None, [to]))


def code_hash_still_current(citizen: Citizen, expected_hash: str) -> bool:
    return bool(citizen.code_hash) and hmac.compare_digest(citizen.code_hash, expected_hash)


@transaction.atomic
def space_activate(
    *, citizen: Citizen, expected_code_hash: str, email: str, password: str, at: datetime | None = None
) -> User:
    """Create the person's account, link it and activate the space; the letter's code is then spent.

    ``expected_code_hash`` is the code hash seen when the person was identified: if the code was used, replaced or
    locked since, the activation is refused rather than done on stale grounds.
    """
    at = at or timezone.now()
    locked = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if (
        locked.user_id is not None
        or locked.status not in CODE_LIVE_STATUSES
        or locked.code_failures >= MAX_CODE_FAILURES
        or not code_hash_still_current(locked, expected_code_hash)
    ):
        raise ActivationExpired
    user = User.objects.create_user(
        email=email,
        password=password,
        role=Role.CITIZEN,
        first_name=locked.display_first_name.title(),
        last_name=locked.birth_name.title(),
    )
    locked.user = user
    locked.code_hash = ""
    locked.code_expires_at = None
    locked.code_failures = 0
    fields = ["user", "code_hash", "code_expires_at", "code_failures"]
    if not locked.contact_email:
        locked.contact_email = user.email
        fields.append("contact_email")
    locked.save(update_fields=fields)
    citizen_transition(citizen=locked, to=S.ACTIVATED, actor=user, at=at, details={"via": "code"})
    _send(
        to=user.email,
        subject=_("Votre espace Mon espace santé est activé"),
        template="space/email/activated.txt",
        context={"first_name": locked.display_first_name.title()},
    )
    return user


@dataclass(frozen=True)
class OppositionResult:
    citizen: Citizen
    already: bool


@transaction.atomic
def space_oppose(*, citizen: Citizen, actor: User | None, at: datetime | None = None) -> OppositionResult:
    """Record the person's objection (from ``notified`` only); the code stays valid so they may activate later."""
    locked = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if locked.status == S.OPPOSED:
        return OppositionResult(citizen=locked, already=True)
    if locked.status != S.NOTIFIED:
        raise OppositionNotPossible
    try:
        locked = citizen_transition(citizen=locked, to=S.OPPOSED, actor=actor, at=at)
    except TransitionRefused as refused:
        raise OppositionNotPossible from refused
    _send(
        to=locked.contact_email,
        subject=_("Votre opposition à la création de Mon espace santé est enregistrée"),
        template="space/email/opposed.txt",
        context={"first_name": locked.display_first_name.title()},
    )
    return OppositionResult(citizen=locked, already=False)


@transaction.atomic
def space_close(*, citizen: Citizen, actor: User, at: datetime | None = None) -> Citizen:
    """Close the space at the person's request: the account is deactivated at once, the content is deleted by
    ``spaces_delete_content_due`` after ``SPACE_CLOSURE_GRACE_DAYS``. A closed space is not reopened online."""
    locked = citizen_transition(citizen=citizen, to=S.CLOSED, actor=actor, at=at, closure_reason=ClosureReason.PERSON)
    Citizen.objects.filter(pk=locked.pk).update(code_hash="", code_expires_at=None)
    user = locked.user
    recipient = user.email if user is not None else locked.contact_email
    if user is not None:
        User.objects.filter(pk=user.pk).update(is_active=False)
    _send(
        to=recipient,
        subject=_("Votre espace Mon espace santé est fermé"),
        template="space/email/closed.txt",
        context={
            "first_name": locked.display_first_name.title(),
            "deletion_date": locked.content_deletion_due_at,
        },
    )
    return locked


def spaces_delete_content_due(*, now: datetime | None = None, chunk_size: int = DELETION_CHUNK) -> int:
    """Delete the personal content of the closed spaces whose grace period (or archive period) is over.

    The bricks delete what they hold (documents, measures, ...) on ``space_content_deleting``, in the same
    transaction. The account row is anonymised and disabled rather than deleted (journal rows and other tables keep
    pointing at it), its e-mail addresses, second factors and social links are deleted, and the space forgets its
    contact data and MSS address. The INS identity row stays, closed, so that no campaign imports and notifies the
    person again. Chunks are claimed with ``SKIP LOCKED`` and each is one transaction; re-running finds nothing left
    to do. Returns the spaces emptied.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount

    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            rows = list(
                Citizen.objects.select_for_update(skip_locked=True)
                .filter(status=S.CLOSED, content_deletion_due_at__lte=now, content_deleted_at__isnull=True)
                .order_by("pk")
                .values_list("pk", "user_id", "public_id")[:chunk_size]
            )
            if not rows:
                return done
            citizen_ids = [pk for pk, _user_id, _public_id in rows]
            space_content_deleting.send(sender=Citizen, citizen_ids=citizen_ids)
            user_ids = [user_id for _pk, user_id, _public_id in rows if user_id is not None]
            if user_ids:
                EmailAddress.objects.filter(user_id__in=user_ids).delete()
                Authenticator.objects.filter(user_id__in=user_ids).delete()
                SocialAccount.objects.filter(user_id__in=user_ids).delete()
                User.objects.filter(pk__in=user_ids).update(
                    email=_deleted_email_expression(),
                    password=make_password(None),  # unusable: no password ever matches it
                    first_name="",
                    last_name="",
                    is_active=False,
                )
            Citizen.objects.filter(pk__in=citizen_ids).update(
                user=None,
                contact_email="",
                contact_phone="",
                mss_address="",
                code_hash="",
                code_expires_at=None,
                content_deleted_at=now,
            )
            # One INSERT statement for the chunk: one seal of the journal.
            JournalEntry.objects.bulk_create(
                [
                    JournalEntry(
                        actor=None,
                        actor_label="Mon espace santé",
                        action=ACTION_CONTENT_DELETED,
                        citizen_id=pk,
                        object_type="comptes.citizen",
                        object_id=str(public_id),
                        details={"account_anonymised": user_id is not None},
                    )
                    for pk, user_id, public_id in rows
                ]
            )
            done += len(rows)


def _deleted_email_expression() -> Concat:
    return Concat(
        Value("supprime-"), Cast("public_id", CharField()), Value(f"@{DELETED_EMAIL_DOMAIN}"), output_field=CharField()
    )
