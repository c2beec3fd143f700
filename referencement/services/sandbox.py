"""Technical tests (tests d’accrochage) of a référencement dossier, against the sandbox.

When an administrator opens the tests (``technical_tests_start``), the dossier gets an app of its own in the real
API, marked as a sandbox one: an OAuth2 client (authorization code, confidential, id_token signed RS256, the
dossier's exact redirect URIs) with its habilitation (``sandbox=True``, the SMART scopes of the requested exchanges,
the dossier's OID), and a fictional test person (``Citizen.is_sandbox``) with a sign-in of their own. A sandbox app
pairs only test persons and a test person pairs only sandbox apps (``mes.acces.services.pairings.pairing_consent``);
everything else is the production path, so the checklist (``referencement.selectors_sandbox``) reads in the journal
what the editor's app really did.

The client secret and the test person's password are generated when the editor asks for them, handed back to the
view that shows them once, and stored hashed only: nobody, administrator included, can read them afterwards.
"""

from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from catalogue.models import exchange_scopes
from convergence.models import Procedure
from mes.acces.journal import register_action
from mes.acces.models import AppHabilitation, Pairing
from mes.acces.services import journal_append
from mes.acces.services.pairings import habilitation_grant, habilitation_reinstate, habilitation_suspend, pairing_revoke
from mes.comptes.identifiers import ins_key
from mes.comptes.models import Citizen, CitizenStatus, Role, Sex, User, mss_address_for
from referencement.access import dossiers_for_editor
from referencement.models import Dossier, State
from referencement.selectors_sandbox import SANDBOX_OPENED, sandbox_active_pairing
from referencement.workflow import TransitionRefused, dossier_transition, transition_allowed

SANDBOX_CLIENT_RENEWED = "referencement.bac_a_sable.secret_renouvele"
SANDBOX_SIGN_IN_RENEWED = "referencement.bac_a_sable.mot_de_passe_renouvele"
register_action(SANDBOX_OPENED, gettext_lazy("Ouverture des tests d’accrochage d’un service (usager de test)"))
register_action(SANDBOX_CLIENT_RENEWED, gettext_lazy("Nouveau secret du client de test (bac à sable)"))
register_action(SANDBOX_SIGN_IN_RENEWED, gettext_lazy("Nouveau mot de passe de l’usager de test (bac à sable)"))

CLOSING_LABEL = "Référencement — fin des tests d’accrochage"
# The test persons are born in one of Paris's arrondissements (INSEE 75101 to 75120); the factories and the demo use
# other communes, so a test person's INS never meets theirs.
_PARIS_ARRONDISSEMENTS = range(1, 21)
_INS_ATTEMPTS = 20


def _service_name(dossier: Dossier) -> str:
    return dossier.name or dossier.product.name


def sandbox_app_name(dossier: Dossier) -> str:
    return _("%(name)s — bac à sable") % {"name": _service_name(dossier)}


def _requested_scopes(dossier: Dossier) -> list[str]:
    return exchange_scopes(list(dossier.requested_exchanges.values_list("exchange", flat=True)))


def _check_testable(dossier: Dossier, scopes: list[str]) -> None:
    problems = {}
    if dossier.procedure != Procedure.AVEC_ECHANGE:
        raise ValidationError(
            _("Les tests d’accrochage ne concernent que la procédure avec échange de données."), code="procedure"
        )
    if not scopes:
        problems["requested_exchanges"] = _("Le dossier ne demande aucun échange de données : il n’y a rien à tester.")
    if not dossier.redirect_uris:
        problems["redirect_uris"] = _("Le dossier ne donne aucune URI de redirection pour l’application.")
    if not dossier.oid:
        problems["oid"] = _("Le dossier ne donne pas l’OID de l’organisation.")
    if problems:
        raise ValidationError(problems)


def _sandbox_application(dossier: Dossier, application=None):
    """The dossier's sandbox OAuth2 client, created or brought up to date with the dossier (name, redirect URIs)."""
    Application = get_application_model()
    created = application is None
    if created:
        application = Application(
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            skip_authorization=False,
            # A secret nobody is shown (it is stored hashed): the editor generates the one they will use.
            client_secret=generate_client_secret(),
        )
    application.name = sandbox_app_name(dossier)
    application.redirect_uris = " ".join(dossier.redirect_uris)
    application.algorithm = Application.RS256_ALGORITHM
    try:
        application.full_clean(exclude=["client_secret", "user"])
    except ValidationError as error:
        raise ValidationError(
            {
                "redirect_uris": _("Le client de test ne peut pas être créé avec ces URI de redirection : %(why)s")
                % {"why": " ".join(error.messages)}
            }
        ) from None
    application.save()
    return application


def _sandbox_identity(rng: secrets.SystemRandom) -> dict:
    """A fictional person with a valid matricule INS (NIR and key), born in Paris."""
    sex = rng.choice([Sex.FEMALE, Sex.MALE])
    birth = date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
    arrondissement = rng.choice(_PARIS_ARRONDISSEMENTS)
    commune = f"1{arrondissement:02d}"
    nir = f"{1 if sex == Sex.MALE else 2}{birth:%y}{birth:%m}75{commune}{rng.randint(1, 999):03d}"
    return {"ins": nir + ins_key(nir), "sex": sex, "birth_date": birth, "birthplace_code": f"75{commune}"}


def _sandbox_citizen_create(dossier: Dossier) -> Citizen:
    """The test person of the dossier: a citizen account with an open space, a sign-in address on the reserved
    sandbox domain and a random password nobody knows yet (the editor generates the one they use)."""
    token = secrets.token_hex(3)
    email = f"usager-test.{dossier.reference.lower()}.{token}@{settings.REFERENCEMENT_SANDBOX_EMAIL_DOMAIN}"
    user = User.objects.create_user(
        email=email,
        password=secrets.token_urlsafe(32),
        role=Role.CITIZEN,
        first_name=_("Usager"),
        last_name=_("de test"),
    )
    rng = secrets.SystemRandom()
    now = timezone.now()
    for _attempt in range(_INS_ATTEMPTS):
        identity = _sandbox_identity(rng)
        if Citizen.objects.filter(ins=identity["ins"]).exists():
            continue
        try:
            # A savepoint: another request may take the same INS in between (the unique constraint says so).
            with transaction.atomic():
                return Citizen.objects.create(
                    user=user,
                    birth_name="TEST",
                    first_names="Usager",
                    department="75",
                    status=CitizenStatus.ACTIVATED,
                    activated_at=now,
                    mss_address=mss_address_for(identity["ins"]),
                    is_sandbox=True,
                    **identity,
                )
        except IntegrityError:
            continue
    raise ValidationError(_("Aucun matricule INS de test libre n’a été trouvé : réessayez."), code="ins")


@transaction.atomic
def technical_tests_start(*, actor: User, dossier: Dossier) -> Dossier:
    """Open the technical tests of ``dossier`` (ADMIN, from INSTRUCTION, procedure with data exchange).

    In one transaction: the transition ``start_tests``, the sandbox app (OAuth2 client and habilitation) and the test
    person, stored in ``dossier.sandbox_habilitation`` and ``dossier.sandbox_citizen``. A dossier whose tests are
    opened again (after a request for completion) keeps its sandbox app and test person, brought up to date with the
    dossier, and reopened if it had been closed.
    """
    if not transition_allowed(dossier, "start_tests", actor):
        # Checked before anything is created; dossier_transition checks it again under the lock.
        raise TransitionRefused(
            _("Les tests d’accrochage ne peuvent pas être ouverts : le dossier est « %(state)s ».")
            % {"state": dossier.get_state_display()},
            code="state",
        )
    scopes = _requested_scopes(dossier)
    _check_testable(dossier, scopes)
    habilitation = (
        AppHabilitation.objects.select_related("application").filter(pk=dossier.sandbox_habilitation_id).first()
    )
    application = _sandbox_application(dossier, habilitation.application if habilitation is not None else None)
    habilitation = habilitation_grant(
        actor=actor,
        application=application,
        name=sandbox_app_name(dossier)[:120],
        editor_name=dossier.organisation.name[:120],
        oid=dossier.oid,
        approved_scopes=scopes,
        sandbox=True,
    )
    if not habilitation.is_active:
        habilitation_reinstate(actor=actor, habilitation=habilitation)
    citizen = Citizen.objects.filter(pk=dossier.sandbox_citizen_id, is_sandbox=True).first()
    if citizen is None:
        citizen = _sandbox_citizen_create(dossier)
    else:
        # A new round starts from scratch: the test person's pairing of the previous round is withdrawn.
        pairing = sandbox_active_pairing(dossier)
        if pairing is not None:
            pairing_revoke(actor=actor, pairing=pairing)
    # The round starts here in the test person's journal: the checklist counts only what comes after this row.
    journal_append(
        actor=actor,
        action=SANDBOX_OPENED,
        citizen=citizen,
        obj=dossier,
        details={"reference": dossier.reference, "application": str(habilitation.public_id)},
    )
    return dossier_transition(
        actor=actor,
        dossier=dossier,
        transition="start_tests",
        details={"client_id": application.client_id, "scopes": habilitation.approved_scopes},
        changes={"sandbox_habilitation": habilitation, "sandbox_citizen": citizen},
    )


def _open_sandbox(actor: User, dossier: Dossier) -> Dossier:
    """The dossier, locked, if ``actor`` is an editor of its organisation and its tests are open."""
    if not dossiers_for_editor(actor).filter(pk=dossier.pk).exists():
        raise PermissionDenied(_("Ce dossier n’est pas celui de votre organisation."))
    locked = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if locked.state != State.TECHNICAL_TESTS or locked.sandbox_habilitation_id is None:
        raise ValidationError(
            _("Les tests d’accrochage ne sont pas ouverts : le dossier est « %(state)s ».")
            % {"state": locked.get_state_display()},
            code="state",
        )
    return locked


@transaction.atomic
def sandbox_secret_regenerate(*, actor: User, dossier: Dossier) -> str:
    """A new secret for the sandbox client, returned to be shown once; the previous one stops working at once."""
    locked = _open_sandbox(actor, dossier)
    application = get_application_model().objects.select_for_update().get(habilitation=locked.sandbox_habilitation_id)
    secret = generate_client_secret()
    # Hashed by django-oauth-toolkit when saved: this value is never stored in clear.
    application.client_secret = secret
    application.save(update_fields=["client_secret", "updated"])
    journal_append(actor=actor, action=SANDBOX_CLIENT_RENEWED, obj=locked, details={"client_id": application.client_id})
    return secret


@transaction.atomic
def sandbox_password_regenerate(*, actor: User, dossier: Dossier) -> str:
    """A new password for the test person, returned to be shown once; their open sessions end with the old one."""
    locked = _open_sandbox(actor, dossier)
    user = User.objects.select_for_update().get(citizen__pk=locked.sandbox_citizen_id, citizen__is_sandbox=True)
    password = secrets.token_urlsafe(15)
    user.set_password(password)
    user.save(update_fields=["password"])
    journal_append(actor=actor, action=SANDBOX_SIGN_IN_RENEWED, obj=locked, details={"compte": user.email})
    return password


@transaction.atomic
def sandbox_consent_revoke(*, actor: User, dossier: Dossier) -> Pairing:
    """Withdraw the test person's consent to the sandbox app, as the person would: its tokens die at once, so the
    editor sees how their app reacts (the checklist's last step)."""
    locked = _open_sandbox(actor, dossier)
    pairing = sandbox_active_pairing(locked)
    if pairing is None:
        raise ValidationError(
            _("L’usager de test n’est pas connecté à votre application : faites d’abord l’appariement."),
            code="no_pairing",
        )
    return pairing_revoke(actor=actor, pairing=pairing)


@transaction.atomic
def sandbox_close(*, dossier: Dossier) -> None:
    """End the technical tests for good (publication, refusal): the sandbox app is suspended, every call refused.

    Idempotent, and a no-op for a dossier without a sandbox.
    """
    habilitation = AppHabilitation.objects.filter(pk=dossier.sandbox_habilitation_id).first()
    if habilitation is None:
        return
    habilitation_suspend(actor=None, habilitation=habilitation, actor_label=CLOSING_LABEL)
