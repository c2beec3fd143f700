"""Emergency access (bris de glace): a professional with the emergency role opens a space without a code.

The reason is required and shown to the citizen, who is notified at once. The access lasts
``EMERGENCY_ACCESS_HOURS``; hidden documents stay hidden; a person who refused emergency access in their settings,
or who blocked the professional, cannot be opened this way.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import register_action
from mes.acces.models import EmergencyAccess, ProfessionalBlock
from mes.acces.services import journal_append
from mes.acces.services.delegations import professional_label
from mes.comptes.models import Citizen, ProfessionalProfile, User
from mes.comptes.services.notifications import notify_space

EMERGENCY_OPENED = "acces.urgence.ouvert"
register_action(EMERGENCY_OPENED, gettext_lazy("Accès en urgence (bris de glace)"))
REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 500


class EmergencyRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def emergency_citizen_find(*, ins: str, birth_date: date) -> Citizen | None:
    """The space of the person with this INS and birth date (both must match), if it is open."""
    citizen = Citizen.objects.filter(ins=(ins or "").strip().upper(), birth_date=birth_date).first()
    return citizen if citizen is not None and citizen.has_space else None


@transaction.atomic
def emergency_access_open(
    *, professional: User, citizen: Citizen, reason: str, now: datetime | None = None
) -> EmergencyAccess:
    profile = ProfessionalProfile.objects.filter(user=professional).first()
    if profile is None or not profile.emergency_role:
        raise PermissionDenied(_("Votre compte n’est pas habilité à l’accès en urgence."))
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationError({"reason": _("Indiquez le motif de l’accès en urgence (au moins 10 caractères).")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": _("Le motif ne doit pas dépasser 500 caractères.")})
    if not citizen.has_space:
        raise EmergencyRefused(_("Cette personne n’a pas d’espace santé ouvert."))
    if citizen.emergency_access_refused:
        raise EmergencyRefused(_("Cette personne a refusé l’accès en urgence à son espace santé."))
    if ProfessionalBlock.objects.filter(citizen=citizen, professional=professional).exists():
        raise EmergencyRefused(_("Cette personne ne vous permet pas d’accéder à son espace santé."))
    now = now or timezone.now()
    emergency = EmergencyAccess.objects.create(
        citizen=citizen,
        professional=professional,
        reason=reason,
        expires_at=now + timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
    )
    journal_append(
        actor=professional,
        action=EMERGENCY_OPENED,
        citizen=citizen,
        obj=emergency,
        details={"motif": reason, "fin": emergency.expires_at.isoformat()},
    )
    until = formats.date_format(timezone.localtime(emergency.expires_at), "j F Y à H:i")
    notify_space(
        citizen=citizen,
        title=_("Accès en urgence à votre espace santé"),
        body=_("%(who)s a ouvert votre espace santé en urgence, jusqu’au %(until)s. Motif indiqué : « %(reason)s ».")
        % {"who": professional_label(professional), "until": until, "reason": reason},
        link=reverse("access_history"),
    )
    return emergency
