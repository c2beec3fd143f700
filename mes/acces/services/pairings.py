"""Referenced apps: their habilitation (granted at référencement) and the citizens' appariements (pairings).

A habilitation says which SMART scopes an app may ever ask for. A pairing records the citizen's consent: which of
those scopes, for which account of the app (``external_id``), under which pseudonymous identifier (``idpe``).
Revoking a pairing kills the app's tokens for that person at once; suspending a habilitation stops every call.
"""

import re
import uuid
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model, get_refresh_token_model

from mes.acces import scopes as app_scopes
from mes.acces.journal import register_action
from mes.acces.models import AppHabilitation, Pairing
from mes.acces.policy import may_act_for
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, User

PAIRING_CREATED = "acces.appariement.cree"
PAIRING_CHANGED = "acces.appariement.modifie"
PAIRING_REVOKED = "acces.appariement.revoque"
HABILITATION_GRANTED = "acces.habilitation.accordee"
HABILITATION_SUSPENDED = "acces.habilitation.suspendue"
HABILITATION_REINSTATED = "acces.habilitation.retablie"
register_action(PAIRING_CREATED, gettext_lazy("Connexion d’un service référencé à votre espace"))
register_action(PAIRING_CHANGED, gettext_lazy("Modification des autorisations d’un service connecté"))
register_action(PAIRING_REVOKED, gettext_lazy("Déconnexion d’un service référencé"))
register_action(HABILITATION_GRANTED, gettext_lazy("Habilitation d’un service référencé"))
register_action(HABILITATION_SUSPENDED, gettext_lazy("Suspension d’un service référencé"))
register_action(HABILITATION_REINSTATED, gettext_lazy("Rétablissement d’un service référencé"))

EXTERNAL_ID_MAX_LENGTH = 128
# What an app's own identifier of the person may hold: visible ASCII, no spaces (it travels in URLs and logs).
_EXTERNAL_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
# The last access of a pairing is written at most this often (every API call reads it; few need to write it).
LAST_ACCESS_RESOLUTION_SECONDS = 60


def external_id_problem(value: str | None) -> str | None:
    """Why an app's identifier of the person is refused, or ``None``."""
    if not value:
        return _("Le service doit indiquer l’identifiant qu’il vous donne (paramètre external_id).")
    if not _EXTERNAL_ID.match(value):
        return _(
            "L’identifiant transmis par le service (external_id) doit compter de 1 à %(max)s caractères visibles, "
            "sans espace."
        ) % {"max": EXTERNAL_ID_MAX_LENGTH}
    return None


def scopes_problem(scopes: list[str], habilitation: AppHabilitation) -> str | None:
    unknown = [scope for scope in scopes if not app_scopes.is_known(scope)]
    if unknown:
        return _("Périmètre inconnu : %(scopes)s.") % {"scopes": ", ".join(unknown)}
    beyond = [
        scope for scope in scopes if not app_scopes.covered(scope, [app_scopes.OPENID, *habilitation.approved_scopes])
    ]
    if beyond:
        return _("Périmètre non approuvé pour ce service : %(scopes)s.") % {"scopes": ", ".join(beyond)}
    return None


@transaction.atomic
def habilitation_grant(
    *,
    actor: User | None,
    application,
    name: str,
    editor_name: str,
    oid: str,
    approved_scopes: list[str],
    actor_label: str = "",
    sandbox: bool = False,
) -> AppHabilitation:
    """Grant (or update) the habilitation of an app's OAuth2 client: the scopes approved at référencement.

    Scopes taken away also leave the consents at once (the policy intersects them), so no pairing keeps a scope
    its app no longer holds. ``sandbox`` makes the app of a dossier's technical tests, which pairs only test
    persons; an app never changes from one kind to the other.
    """
    unknown = [scope for scope in approved_scopes if app_scopes.parse(scope) is None]
    if unknown:
        raise ValidationError({"approved_scopes": _("Périmètre inconnu : %(s)s.") % {"s": ", ".join(unknown)}})
    existing = AppHabilitation.objects.filter(application=application).values_list("sandbox", flat=True).first()
    if existing is not None and existing != sandbox:
        raise ValidationError(
            _("Une application de test (bac à sable) ne devient pas une application de production, ni l’inverse.")
        )
    values = {
        "name": name,
        "editor_name": editor_name,
        "oid": oid,
        "approved_scopes": app_scopes.normalise(approved_scopes),
    }
    habilitation, created = AppHabilitation.objects.update_or_create(
        application=application, defaults=values, create_defaults={**values, "sandbox": sandbox}
    )
    if application.algorithm != application.RS256_ALGORITHM:
        # The id_token (with the idPe) is signed with the server's RSA key.
        application.algorithm = application.RS256_ALGORITHM
        application.save(update_fields=["algorithm"])
    journal_append(
        actor=actor,
        actor_label=actor_label,
        action=HABILITATION_GRANTED,
        obj=habilitation,
        details={"scopes": habilitation.approved_scopes, "nouvelle": created}
        | ({"bac_a_sable": True} if habilitation.sandbox else {}),
    )
    return habilitation


@transaction.atomic
def habilitation_suspend(*, actor: User | None, habilitation: AppHabilitation, actor_label: str = "") -> None:
    """Stop every API call of the app and every new pairing (an audit, a withdrawal); pairings are kept."""
    if habilitation.suspended_at is not None:
        return
    habilitation.suspended_at = timezone.now()
    habilitation.save(update_fields=["suspended_at"])
    journal_append(actor=actor, actor_label=actor_label, action=HABILITATION_SUSPENDED, obj=habilitation)


@transaction.atomic
def habilitation_reinstate(*, actor: User | None, habilitation: AppHabilitation, actor_label: str = "") -> None:
    if habilitation.suspended_at is None:
        return
    habilitation.suspended_at = None
    habilitation.save(update_fields=["suspended_at"])
    journal_append(actor=actor, actor_label=actor_label, action=HABILITATION_REINSTATED, obj=habilitation)


def _idpe(citizen: Citizen, habilitation: AppHabilitation) -> str:
    """The person's idPe for this app: the one of an earlier pairing, else a new random one (random, so that no
    two apps can derive or correlate each other's identifiers)."""
    earlier = (
        Pairing.objects.filter(citizen=citizen, habilitation=habilitation)
        .order_by("created_at")
        .values_list("idpe", flat=True)
    ).first()
    return earlier or str(uuid.uuid4())


@transaction.atomic
def pairing_consent(
    *, actor: User, citizen: Citizen, habilitation: AppHabilitation, external_id: str, scopes: list[str]
) -> Pairing:
    """Record the citizen's consent to pair their space with an app, for ``scopes`` (already ticked by them).

    A second consent to the same app replaces the first one's account and scopes (the app asked again).
    """
    if not may_act_for(actor, citizen) or citizen.user_id != actor.pk:
        raise PermissionDenied(_("Seule la personne elle-même peut connecter un service à son espace."))
    if not citizen.has_space:
        raise PermissionDenied(_("Cet espace n’est pas ouvert."))
    if not habilitation.is_active:
        raise PermissionDenied(_("Ce service est suspendu : il ne peut pas être connecté."))
    # The technical tests of référencement stay apart from real people: a sandbox app pairs only test persons, and a
    # test person pairs only sandbox apps.
    if habilitation.sandbox and not citizen.is_sandbox:
        raise PermissionDenied(
            _(
                "Ce service est en tests d’accrochage : seul l’usager de test fourni à son éditeur peut le connecter, "
                "pas un espace réel."
            )
        )
    if citizen.is_sandbox and not habilitation.sandbox:
        raise PermissionDenied(
            _("Un usager de test ne peut connecter que l’application de test (bac à sable) d’un service.")
        )
    problem = external_id_problem(external_id) or scopes_problem(scopes, habilitation)
    if problem:
        raise ValidationError(problem)
    scopes = app_scopes.normalise(scopes)
    now = timezone.now()
    Citizen.objects.select_for_update().filter(pk=citizen.pk).first()
    pairing = Pairing.objects.filter(citizen=citizen, habilitation=habilitation, revoked_at__isnull=True).first()
    if pairing is None:
        pairing = Pairing.objects.create(
            citizen=citizen,
            habilitation=habilitation,
            external_id=external_id,
            idpe=_idpe(citizen, habilitation),
            scopes=scopes,
            consented_at=now,
        )
        action = PAIRING_CREATED
    else:
        pairing.external_id = external_id
        pairing.scopes = scopes
        pairing.consented_at = now
        pairing.save(update_fields=["external_id", "scopes", "consented_at"])
        action = PAIRING_CHANGED
    journal_append(
        actor=actor,
        action=action,
        citizen=citizen,
        obj=pairing,
        details={"service": habilitation.name, "scopes": scopes},
    )
    return pairing


def _revoke_tokens(*, user_id: int | None, application_id: int) -> None:
    """Kill every token and pending code of the app for this account, now."""
    if user_id is None:
        return
    now = timezone.now()
    get_refresh_token_model().objects.filter(
        user_id=user_id, application_id=application_id, revoked__isnull=True
    ).update(revoked=now)
    get_access_token_model().objects.filter(user_id=user_id, application_id=application_id).delete()
    get_id_token_model().objects.filter(user_id=user_id, application_id=application_id).delete()
    get_grant_model().objects.filter(user_id=user_id, application_id=application_id).delete()


@transaction.atomic
def pairing_revoke(*, actor: User | None, pairing: Pairing, actor_label: str = "") -> Pairing:
    """End a pairing: the app's tokens for this person die at once, its next call is refused."""
    pairing = Pairing.objects.select_for_update().select_related("habilitation", "citizen").get(pk=pairing.pk)
    if pairing.revoked_at is not None:
        return pairing
    pairing.revoked_at = timezone.now()
    pairing.revoked_by = actor if actor is not None and actor.is_authenticated else None
    pairing.save(update_fields=["revoked_at", "revoked_by"])
    _revoke_tokens(user_id=pairing.citizen.user_id, application_id=pairing.habilitation.application_id)
    journal_append(
        actor=actor,
        actor_label=actor_label,
        action=PAIRING_REVOKED,
        citizen=pairing.citizen,
        obj=pairing,
        details={"service": pairing.habilitation.name},
    )
    return pairing


def pairing_touch(pairing: Pairing) -> None:
    """Note that the app has just used the pairing (at most one write a minute per pairing)."""
    now = timezone.now()
    if (
        pairing.last_access_at is not None
        and (now - pairing.last_access_at).total_seconds() < LAST_ACCESS_RESOLUTION_SECONDS
    ):
        return
    threshold = now - timedelta(seconds=LAST_ACCESS_RESOLUTION_SECONDS)
    Pairing.objects.filter(Q(last_access_at__isnull=True) | Q(last_access_at__lt=threshold), pk=pairing.pk).update(
        last_access_at=now
    )
    pairing.last_access_at = now
