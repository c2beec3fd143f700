"""After the convention: publication of a référencement, its suspension, reinstatement and withdrawal.

``dossier_publish`` runs in the signature's transaction: it writes the catalogue entry from the dossier's sheet (an
update dossier updates the entry of the dossier it replaces, which stayed published meanwhile, and supersedes it),
creates or updates the production OAuth2 client, grants its habilitation the scopes of the exchanges the decision
granted, and closes the sandbox of the technical tests.

A suspension cuts the app's access on its next call (``habilitation_suspend``: every API call checks it) and takes
the entry off the catalogue; a withdrawal ends the référencement, and with it every pairing of the app. The citizens
who paired the app are told in their notification centre by set-based statements (a chunk of pairings per
statement, never a row at a time), and by e-mail from a task once the step is committed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from catalogue.models import ServiceStatus, exchange_scopes
from catalogue.services import (
    SHEET_FIELDS,
    service_publish,
    service_save_from_sheet,
    service_suspend,
    service_withdraw,
)
from mes.acces.journal import register_action
from mes.acces.models import AppHabilitation, Pairing
from mes.acces.policy import majority_cutoff
from mes.acces.services import journal_append
from mes.acces.services.pairings import (
    PAIRING_REVOKED,
    habilitation_grant,
    habilitation_reinstate,
    habilitation_suspend,
)
from mes.comptes.models import Membership, Notification, User
from referencement.models import Dossier, State
from referencement.workflow import dossier_transition

logger = logging.getLogger(__name__)

DOSSIER_PUBLISHED = "referencement.dossier.published"
APPLICATION_SECRET_RENEWED = "referencement.application.secret_renewed"  # noqa: S105 - an action code
register_action(DOSSIER_PUBLISHED, gettext_lazy("Service référencé publié au catalogue"))
register_action(APPLICATION_SECRET_RENEWED, gettext_lazy("Nouveau secret du client OAuth2 d’un service référencé"))

REASON_MAX_LENGTH = 1000
PLATFORM_LABEL = gettext_lazy("Mon espace santé — référencement")


def _label(actor: User | None, actor_label: str = "") -> str:
    if actor is not None and actor.is_authenticated:
        return actor_label
    return actor_label or str(PLATFORM_LABEL)


def reason_clean(reason: str) -> str:
    """The reason of a suspension or a withdrawal, required, on one line; French errors on the field ``reason``."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Indiquez le motif de la décision : l’éditeur le recevra.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Le motif est limité à %(limit)s caractères.") % {"limit": REASON_MAX_LENGTH}}
        )
    return reason


# --- Publication ---------------------------------------------------------------------------------------------------


def _kept_habilitation(dossier: Dossier) -> AppHabilitation | None:
    """The production app of the référencement an update dossier replaces (kept across versions)."""
    previous = dossier.previous
    if previous is None or previous.habilitation_id is None:
        return None
    return previous.habilitation


def production_oid_problem(dossier: Dossier) -> str | None:
    """Why ``dossier``'s production app cannot carry its OID (each production app has its own), or ``None``."""
    if not dossier.with_data_exchange:
        return None
    if not dossier.oid:
        return _("L’OID de l’organisation manque au dossier : il est nécessaire à l’échange de données.")
    kept = _kept_habilitation(dossier)
    taken = AppHabilitation.objects.filter(oid=dossier.oid, sandbox=False)
    if kept is not None:
        taken = taken.exclude(pk=kept.pk)
    if taken.exists():
        return _(
            "L’OID %(oid)s est déjà celui d’une autre application habilitée : chaque application de production a son "
            "propre OID. L’éditeur doit en indiquer un autre."
        ) % {"oid": dossier.oid}
    return None


def _sheet_values(dossier: Dossier, granted: list[str]) -> dict:
    values = {
        "name": dossier.name or dossier.product.name,
        "editor_name": dossier.organisation.name[:120],
        "kind": dossier.service_kind,
        "data_exchanges": granted if dossier.with_data_exchange else [],
    }
    for name in SHEET_FIELDS:
        if name not in values:
            values[name] = getattr(dossier, name)
    return values


def _read(file_field) -> bytes:
    with file_field.open("rb") as stream:
        return stream.read()


def _application_save(application, *, name: str, redirect_uris: list[str]) -> None:
    Application = get_application_model()
    application.name = name[:255]
    application.redirect_uris = " ".join(redirect_uris)
    application.algorithm = Application.RS256_ALGORITHM
    try:
        application.full_clean(exclude=["client_secret", "user"])
    except ValidationError as error:
        raise ValidationError(
            _("Les adresses de retour du dossier sont refusées : %(errors)s") % {"errors": " ".join(error.messages)}
        ) from error
    application.save()


def _production_habilitation(
    *, actor: User | None, dossier: Dossier, granted: list[str], actor_label: str
) -> AppHabilitation | None:
    """The production app of ``dossier``, created or kept, with the scopes of the granted exchanges only."""
    kept = _kept_habilitation(dossier)
    if not dossier.with_data_exchange and kept is None:
        return None
    problem = production_oid_problem(dossier)
    if problem:
        raise ValidationError(problem, code="oid")
    Application = get_application_model()
    name = dossier.name or dossier.product.name
    if kept is not None:
        application = Application.objects.select_for_update().get(pk=kept.application_id)
        if dossier.with_data_exchange:
            _application_save(application, name=name, redirect_uris=dossier.redirect_uris)
    else:
        # Authorization code (with PKCE, required by the server) for a confidential client whose secret is stored
        # hashed: nobody knows the random one it is created with; the editor generates one on the portal.
        application = Application(
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            skip_authorization=False,
        )
        _application_save(application, name=name, redirect_uris=dossier.redirect_uris)
    habilitation = habilitation_grant(
        actor=actor,
        actor_label=actor_label,
        application=application,
        name=name,
        editor_name=dossier.organisation.name[:120],
        oid=dossier.oid or kept.oid,
        # An update without data exchange keeps its app, with no scope left: consents lose their data at once.
        approved_scopes=exchange_scopes(granted) if dossier.with_data_exchange else [],
    )
    if not habilitation.is_active:
        habilitation_reinstate(actor=actor, actor_label=actor_label, habilitation=habilitation)
        habilitation.refresh_from_db(fields=["suspended_at"])
    return habilitation


@transaction.atomic
def dossier_publish(*, actor: User | None, dossier: Dossier, now: datetime | None = None) -> Dossier:
    """Publish a dossier whose convention was just signed (state ``publie``, not yet published).

    Refused when the catalogue sheet, the images or the production app are refused (French messages), and then
    nothing of it stays: no entry, no app, no file.
    """
    from referencement.services.convention import granted_exchanges

    now = now or timezone.now()
    locked = (
        Dossier.objects.select_for_update(of=("self",))
        .select_related("organisation", "product", "previous__service", "previous__habilitation")
        .get(pk=dossier.pk)
    )
    if locked.state != State.PUBLISHED or locked.published_at is not None:
        raise ValidationError(
            _("Seul un dossier dont la convention vient d’être signée est publié (il est « %(state)s »).")
            % {"state": locked.get_state_display()},
            code="state",
        )
    label = _label(actor)
    granted = granted_exchanges(locked)
    previous = locked.previous
    service = service_save_from_sheet(
        actor=actor,
        actor_label=label,
        service=previous.service if previous is not None else None,
        values=_sheet_values(locked, granted),
        logo_bytes=_read(locked.logo),
        screenshots=[(_read(shot.image), shot.alt_text) for shot in locked.screenshots.all()],
    )
    habilitation = _production_habilitation(actor=actor, dossier=locked, granted=granted, actor_label=label)
    if habilitation is not None and service.habilitation_id != habilitation.pk:
        service.habilitation = habilitation
        service.save(update_fields=["habilitation", "updated_at"])
    if locked.sandbox_habilitation_id is not None:
        from referencement.services.sandbox import sandbox_close

        sandbox_close(dossier=locked)
    if previous is not None and previous.state in (State.PUBLISHED, State.SUSPENDED):
        dossier_transition(
            actor=None,
            actor_label=str(PLATFORM_LABEL),
            dossier=previous,
            transition="supersede",
            details={"remplace_par": locked.reference},
            now=now,
        )
    locked.service = service
    locked.habilitation = habilitation
    locked.published_at = now
    locked.valid_until = timezone.localdate(now) + relativedelta(years=settings.REFERENCEMENT_CONVENTION_YEARS)
    locked.save(update_fields=["service", "habilitation", "published_at", "valid_until", "updated_at"])
    journal_append(
        actor=actor,
        actor_label=label,
        action=DOSSIER_PUBLISHED,
        obj=locked,
        details={
            "reference": locked.reference,
            "service": service.slug,
            "scopes": habilitation.approved_scopes if habilitation is not None else [],
            "remplace": previous.reference if previous is not None else "",
        },
    )
    return locked


@transaction.atomic
def application_secret_renew(*, actor: User, dossier: Dossier) -> str:
    """A new secret for the production client of ``dossier``, returned once (it is stored hashed).

    Only a « Responsable » of the organisation may; the former secret stops working at once.
    """
    if not Membership.objects.filter(
        user=actor, organisation_id=dossier.organisation_id, level=Membership.Level.MANAGER
    ).exists():
        raise PermissionDenied(_("Seul un responsable de l’organisation peut générer le secret de l’application."))
    locked = Dossier.objects.select_for_update(of=("self",)).select_related("habilitation").get(pk=dossier.pk)
    if locked.state not in (State.PUBLISHED, State.SUSPENDED) or locked.habilitation is None:
        raise ValidationError(_("Ce dossier n’a pas d’application de production."), code="state")
    Application = get_application_model()
    application = Application.objects.select_for_update().get(pk=locked.habilitation.application_id)
    if application.client_type != Application.CLIENT_CONFIDENTIAL:
        raise ValidationError(_("Un client public n’a pas de secret."), code="public")
    secret = generate_client_secret()
    # Hashed by django-oauth-toolkit as it is saved: this value is shown once, and never again.
    application.client_secret = secret
    application.save(update_fields=["client_secret", "updated"])
    journal_append(
        actor=actor,
        action=APPLICATION_SECRET_RENEWED,
        obj=locked.habilitation,
        details={"reference": locked.reference, "client_id": application.client_id},
    )
    return secret


# --- Telling the citizens who paired the app ---------------------------------------------------------------------

# One statement per chunk of pairing ids. With ``revoke`` (a withdrawal) the active pairings are revoked, with the
# journal row of each in the concerned citizen's history; otherwise they are only read. The watchers of each
# concerned space (the holder, and the legal representatives of a minor, as notify_space does) get one
# notification each.
_NOTICES_SQL = """
WITH revoked AS (
    UPDATE acces_pairing p SET revoked_at = %(now)s, revoked_by_id = %(actor)s
    WHERE %(revoke)s AND p.habilitation_id = %(habilitation)s AND p.revoked_at IS NULL
      AND p.id BETWEEN %(low)s AND %(high)s
    RETURNING p.citizen_id, p.public_id
),
journal AS (
    INSERT INTO acces_journalentry (actor_id, actor_label, action, citizen_id, object_type, object_id, details)
    SELECT %(actor)s, %(label)s, %(action)s, r.citizen_id, 'acces.pairing', r.public_id::text,
           jsonb_build_object('service', %(service)s::text)
    FROM revoked r ORDER BY r.citizen_id
),
targets AS (
    SELECT citizen_id FROM revoked
    UNION
    SELECT p.citizen_id FROM acces_pairing p
    WHERE NOT %(revoke)s AND p.habilitation_id = %(habilitation)s AND p.revoked_at IS NULL
      AND p.id BETWEEN %(low)s AND %(high)s
),
watchers AS (
    SELECT c.user_id AS user_id, c.id AS citizen_id
    FROM targets t
    JOIN comptes_citizen c ON c.id = t.citizen_id
    JOIN comptes_user u ON u.id = c.user_id AND u.is_active
    UNION
    SELECT r.user_id, c.id
    FROM targets t
    JOIN comptes_citizen c ON c.id = t.citizen_id
    JOIN comptes_citizen_legal_representatives r ON r.citizen_id = c.id
    JOIN comptes_user u ON u.id = r.user_id AND u.is_active
    WHERE c.birth_date > %(cutoff)s
),
inserted AS (
    INSERT INTO comptes_notification (user_id, citizen_id, title, body, link, created_at)
    SELECT user_id, citizen_id, %(title)s, %(body)s, %(link)s, %(now)s FROM watchers ORDER BY citizen_id, user_id
    RETURNING id
)
SELECT min(id), max(id), count(*) FROM inserted
"""


def _notices_write(
    *,
    habilitation: AppHabilitation,
    title: str,
    body: str,
    now: datetime,
    revoke: bool = False,
    actor: User | None = None,
    actor_label: str = "",
) -> tuple[int, int, int]:
    """Notify the watchers of every space paired with ``habilitation`` (and revoke those pairings with ``revoke``),
    a chunk of pairing ids per statement; returns (first notification id, last one, count)."""
    bounds = Pairing.objects.filter(habilitation=habilitation, revoked_at__isnull=True).order_by("id")
    first = bounds.values_list("id", flat=True).first()
    if first is None:
        return 0, 0, 0
    last = bounds.order_by("-id").values_list("id", flat=True).first()
    chunk = settings.REFERENCEMENT_NOTICE_CHUNK
    params = {
        "habilitation": habilitation.pk,
        "cutoff": majority_cutoff(),
        "title": title[:200],
        "body": body[:2000],
        "link": reverse("access_apps")[:200],
        "now": now,
        "actor": actor.pk if actor is not None and actor.is_authenticated else None,
        "label": actor_label,
        "action": PAIRING_REVOKED,
        "service": habilitation.name,
        "revoke": revoke,
    }
    low_id, high_id, total = 0, 0, 0
    with connection.cursor() as cursor:
        for low in range(first, last + 1, chunk):
            cursor.execute(_NOTICES_SQL, {**params, "low": low, "high": low + chunk - 1})
            chunk_low, chunk_high, count = cursor.fetchone()
            if count:
                low_id = min(low_id, chunk_low) if low_id else chunk_low
                high_id = max(high_id, chunk_high)
                total += count
    if total:
        # The e-mails leave from a task once the step is committed: a million of them is no request's work.
        from referencement.tasks import notices_email

        marker = now.isoformat()
        transaction.on_commit(lambda: notices_email.delay(low_id, high_id, title[:200], marker))
    return low_id, high_id, total


def notices_email(*, low_id: int, high_id: int, title: str, created_at: datetime) -> int:
    """E-mail the notifications ``low_id``…``high_id`` written by one step (told apart by their title and time), in
    batches over one SMTP connection each; a refused batch is logged, the notifications stay. Returns how many."""
    base = settings.PUBLIC_BASE_URL
    footer = _("Ce message vous est envoyé par Mon espace santé ; n’y répondez pas.")
    subject = _("Mon espace santé : %(title)s") % {"title": title}
    rows = Notification.objects.filter(id__range=(low_id, high_id), title=title, created_at=created_at).order_by("id")
    sent, cursor_id, batch_size = 0, low_id - 1, settings.CAMPAIGN_EMAIL_BATCH_SIZE
    while True:
        batch = list(rows.filter(id__gt=cursor_id).values_list("id", "user__email", "body", "link")[:batch_size])
        if not batch:
            return sent
        cursor_id = batch[-1][0]
        messages = [
            EmailMessage(
                subject=subject,
                body=body
                + (("\n\n" + _("Pour en savoir plus : %(url)s") % {"url": base + link}) if link else "")
                + "\n\n"
                + footer,
                to=[email],
            )
            for _id, email, body, link in batch
            if email
        ]
        try:
            with get_connection() as mail:
                sent += mail.send_messages(messages) or 0
        except Exception:
            # As notify_space: the notification stays in the centre, a refused e-mail is only logged.
            logger.exception("Référencement notices could not be e-mailed (%s to %s)", batch[0][0], cursor_id)


# --- Suspension, reinstatement, withdrawal -------------------------------------------------------------------------


def _service_name(dossier: Dossier) -> str:
    return dossier.service.name if dossier.service_id else (dossier.name or dossier.product.name)


@transaction.atomic
def dossier_suspend(*, actor: User | None, dossier: Dossier, reason: str, actor_label: str = "") -> Dossier:
    """Suspend a published référencement (an administrator, or the platform after an expired audit): the app's
    tokens stop working on its next call, the entry leaves the catalogue, the paired citizens are told."""
    reason = reason_clean(reason)
    label = _label(actor, actor_label)
    now = timezone.now()
    dossier = dossier_transition(
        actor=actor, actor_label=label, dossier=dossier, transition="suspend", comment=reason, now=now
    )
    dossier = Dossier.objects.select_related("service", "habilitation").get(pk=dossier.pk)
    if dossier.habilitation is not None:
        habilitation_suspend(actor=actor, actor_label=label, habilitation=dossier.habilitation)
    if dossier.service is not None and dossier.service.is_published:
        service_suspend(actor=actor, actor_label=label, service=dossier.service, reason=reason)
    if dossier.habilitation is not None:
        name = _service_name(dossier)
        _notices_write(
            habilitation=dossier.habilitation,
            title=_("Service suspendu : %(name)s") % {"name": name},
            body=_(
                "Le service « %(name)s » est suspendu du catalogue de Mon espace santé : tant que la suspension "
                "dure, il ne peut plus accéder à votre espace santé ni y ajouter de données. Les données qu’il a déjà "
                "partagées restent dans votre espace santé. Vous pouvez le déconnecter à tout moment."
            )
            % {"name": name},
            now=now,
        )
    return dossier


@transaction.atomic
def dossier_reinstate(*, actor: User, dossier: Dossier, reason: str) -> Dossier:
    """Lift a suspension (an administrator): the entry is published again, the app's access comes back within the
    citizens' consents, and the paired citizens are told."""
    reason = reason_clean(reason)
    now = timezone.now()
    dossier = dossier_transition(actor=actor, dossier=dossier, transition="reinstate", comment=reason, now=now)
    dossier = Dossier.objects.select_related("service", "habilitation").get(pk=dossier.pk)
    if dossier.service is not None and not dossier.service.is_published:
        service_publish(actor=actor, service=dossier.service)
    if dossier.habilitation is not None:
        habilitation_reinstate(actor=actor, habilitation=dossier.habilitation)
        name = _service_name(dossier)
        _notices_write(
            habilitation=dossier.habilitation,
            title=_("Service de nouveau disponible : %(name)s") % {"name": name},
            body=_(
                "La suspension du service « %(name)s » est levée : il peut de nouveau accéder à votre espace santé, "
                "dans les limites de l’autorisation que vous lui avez donnée et que vous pouvez retirer à tout moment."
            )
            % {"name": name},
            now=now,
        )
    return dossier


def _tokens_revoke(application_id: int, now: datetime) -> None:
    """Every token and pending code of the app dies (the withdrawal ends every pairing)."""
    get_refresh_token_model().objects.filter(application_id=application_id, revoked__isnull=True).update(revoked=now)
    get_access_token_model().objects.filter(application_id=application_id).delete()
    get_id_token_model().objects.filter(application_id=application_id).delete()
    get_grant_model().objects.filter(application_id=application_id).delete()


@transaction.atomic
def dossier_withdraw(*, actor: User, dossier: Dossier, reason: str) -> Dossier:
    """End a référencement (an administrator): the entry is withdrawn from the catalogue, the app suspended, every
    pairing of the app revoked (its tokens with it), and the citizens who had paired it are told.

    Withdrawal is the end of the référencement, so the consents end too: a new référencement would need the citizens
    to pair the app again.
    """
    reason = reason_clean(reason)
    now = timezone.now()
    dossier = dossier_transition(actor=actor, dossier=dossier, transition="withdraw", comment=reason, now=now)
    dossier = Dossier.objects.select_related("service", "habilitation").get(pk=dossier.pk)
    if dossier.service is not None and dossier.service.status != ServiceStatus.WITHDRAWN:
        service_withdraw(actor=actor, service=dossier.service, reason=reason)
    if dossier.habilitation is not None:
        habilitation_suspend(actor=actor, habilitation=dossier.habilitation)
        name = _service_name(dossier)
        _notices_write(
            habilitation=dossier.habilitation,
            title=_("Service retiré : %(name)s") % {"name": name},
            body=_(
                "Le service « %(name)s » n’est plus référencé par Mon espace santé : il est déconnecté de votre espace "
                "santé et ne peut plus y accéder. Les données qu’il a déjà partagées restent dans votre espace santé."
            )
            % {"name": name},
            now=now,
            revoke=True,
            actor=actor,
        )
        _tokens_revoke(dossier.habilitation.application_id, now)
    return dossier
