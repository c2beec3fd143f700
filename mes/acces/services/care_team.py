"""The citizen's care team, their blocks of professionals, and their choice about emergency access."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import register_action
from mes.acces.models import AccessDelegation, CareTeamMember, EmergencyAccess, ProfessionalBlock
from mes.acces.policy import CitizenAccess, citizen_side_required
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, ProfessionalProfile, Role, User

CARE_TEAM_ADDED = "acces.equipe.ajout"
CARE_TEAM_REMOVED = "acces.equipe.retrait"
TREATING_DOCTOR_SET = "acces.medecin_traitant.declare"
PROFESSIONAL_BLOCKED = "acces.professionnel.bloque"
PROFESSIONAL_UNBLOCKED = "acces.professionnel.debloque"
EMERGENCY_PREFERENCE = "acces.urgence.preference"
register_action(CARE_TEAM_ADDED, gettext_lazy("Ajout d’un professionnel à l’équipe de soins"))
register_action(CARE_TEAM_REMOVED, gettext_lazy("Retrait d’un professionnel de l’équipe de soins"))
register_action(TREATING_DOCTOR_SET, gettext_lazy("Déclaration du médecin traitant"))
register_action(PROFESSIONAL_BLOCKED, gettext_lazy("Blocage d’un professionnel"))
register_action(PROFESSIONAL_UNBLOCKED, gettext_lazy("Déblocage d’un professionnel"))
register_action(EMERGENCY_PREFERENCE, gettext_lazy("Choix sur l’accès en urgence"))


def professional_find(rpps: str) -> User | None:
    """The active professional account with this RPPS number, if any."""
    profile = (
        ProfessionalProfile.objects.select_related("user")
        .filter(rpps=(rpps or "").strip(), user__role=Role.PROFESSIONAL, user__is_active=True)
        .first()
    )
    return profile.user if profile else None


@transaction.atomic
def care_team_add(*, access: CitizenAccess, professional: User, treating_doctor: bool = False) -> CareTeamMember:
    """Add ``professional`` to the care team (as *médecin traitant* when asked: a doctor, and only one)."""
    citizen_side_required(access)
    citizen = access.citizen
    profile = ProfessionalProfile.objects.filter(user=professional).first()
    if profile is None or not professional.is_active:
        raise ValidationError({"rpps": _("Aucun professionnel de santé actif ne correspond à ce numéro RPPS.")})
    if treating_doctor and profile.profession != "medecin":
        raise ValidationError({"rpps": _("Le médecin traitant doit être un médecin.")})
    if ProfessionalBlock.objects.filter(citizen=citizen, professional=professional).exists():
        raise ValidationError(
            {"rpps": _("Vous avez bloqué ce professionnel : débloquez-le avant de l’ajouter à votre équipe de soins.")}
        )
    Citizen.objects.select_for_update().filter(pk=citizen.pk).first()  # one change of the care team at a time
    if treating_doctor:
        CareTeamMember.objects.filter(citizen=citizen, is_treating_doctor=True).exclude(
            professional=professional
        ).update(is_treating_doctor=False)
    member, created = CareTeamMember.objects.get_or_create(
        citizen=citizen,
        professional=professional,
        defaults={"is_treating_doctor": treating_doctor, "added_by": access.actor},
    )
    if not created and treating_doctor and not member.is_treating_doctor:
        member.is_treating_doctor = True
        member.save(update_fields=["is_treating_doctor"])
    elif not created:
        return member
    details = {"rpps": profile.rpps, "medecin_traitant": member.is_treating_doctor}
    action = TREATING_DOCTOR_SET if member.is_treating_doctor else CARE_TEAM_ADDED
    journal_append(actor=access.actor, action=action, citizen=citizen, obj=member, details=details)
    return member


@transaction.atomic
def care_team_remove(*, access: CitizenAccess, member: CareTeamMember) -> None:
    citizen_side_required(access)
    if member.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Ce professionnel n’est pas dans cette équipe de soins."))
    deleted, _rows = CareTeamMember.objects.filter(pk=member.pk).delete()
    if deleted:
        journal_append(
            actor=access.actor,
            action=CARE_TEAM_REMOVED,
            citizen=access.citizen,
            details={"professionnel": member.professional_id, "medecin_traitant": member.is_treating_doctor},
        )


@transaction.atomic
def professional_block(*, access: CitizenAccess, professional: User, now: datetime | None = None) -> ProfessionalBlock:
    """Block ``professional``: their codes and emergency accesses end now; the care team gives them nothing."""
    citizen_side_required(access)
    if not ProfessionalProfile.objects.filter(user=professional).exists():
        raise ValidationError({"professional": _("Seul un professionnel de santé peut être bloqué.")})
    now = now or timezone.now()
    block, created = ProfessionalBlock.objects.get_or_create(
        citizen=access.citizen, professional=professional, defaults={"created_by": access.actor}
    )
    if created:
        AccessDelegation.objects.filter(
            citizen=access.citizen, professional=professional, ended_at__isnull=True
        ).update(ended_at=now, ended_by=access.actor)
        EmergencyAccess.objects.filter(citizen=access.citizen, professional=professional, ended_at__isnull=True).update(
            ended_at=now
        )
        journal_append(
            actor=access.actor,
            action=PROFESSIONAL_BLOCKED,
            citizen=access.citizen,
            obj=block,
            details={"professionnel": professional.pk},
        )
    return block


@transaction.atomic
def professional_unblock(*, access: CitizenAccess, block: ProfessionalBlock) -> None:
    citizen_side_required(access)
    if block.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Ce blocage ne concerne pas cet espace."))
    deleted, _rows = ProfessionalBlock.objects.filter(pk=block.pk).delete()
    if deleted:
        journal_append(
            actor=access.actor,
            action=PROFESSIONAL_UNBLOCKED,
            citizen=access.citizen,
            details={"professionnel": block.professional_id},
        )


@transaction.atomic
def emergency_preference_set(*, access: CitizenAccess, refused: bool, now: datetime | None = None) -> None:
    """Refuse (or accept again) emergency access; refusing ends the emergency accesses open now."""
    citizen_side_required(access)
    citizen = access.citizen
    if citizen.emergency_access_refused == refused:
        return
    Citizen.objects.filter(pk=citizen.pk).update(emergency_access_refused=refused)
    citizen.emergency_access_refused = refused
    if refused:
        EmergencyAccess.objects.filter(citizen=citizen, ended_at__isnull=True).update(ended_at=now or timezone.now())
    journal_append(
        actor=access.actor, action=EMERGENCY_PREFERENCE, citizen=citizen, details={"acces_urgence_refuse": refused}
    )
