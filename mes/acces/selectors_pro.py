"""Reads of the professionals' portal: the spaces a professional may open now, and how to name their access.

``professional_patients`` answers in four queries whatever the number of patients, with exactly the conditions of
``mes.acces.policy.professional_access``: no space where the professional is blocked, no space that is closed or
opposed, only codes still running and not ended, emergency accesses only for an emergency role and a person who did
not refuse them. A space reached several ways is listed once, with the way the policy would choose (care team first,
then codes, then emergency).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from mes.acces.models import AccessDelegation, CareTeamMember, EmergencyAccess, ProfessionalBlock, Scope
from mes.acces.policy import (
    ACCESS_CARE_TEAM,
    ACCESS_DELEGATION,
    ACCESS_EMERGENCY,
    ACCESS_TREATING_DOCTOR,
    CitizenAccess,
)
from mes.acces.services.delegations import scopes_label
from mes.comptes.models import Citizen, CitizenStatus, ProfessionalProfile, User

# The statuses of an open space (``Citizen.has_space``), for querysets.
OPEN_SPACE_STATUSES = (CitizenStatus.ACTIVATED, CitizenStatus.CREATED_AUTOMATICALLY)
_PRECEDENCE = {ACCESS_TREATING_DOCTOR: 0, ACCESS_CARE_TEAM: 0, ACCESS_DELEGATION: 1, ACCESS_EMERGENCY: 2}


def _until_text(until: datetime) -> str:
    return formats.date_format(timezone.localtime(until), "j F Y à H:i")


def access_way_label(kind: str, until: datetime | None = None) -> str:
    """How a professional is let in, in plain French: « Médecin traitant », « Code d’accès jusqu’au … »."""
    if kind == ACCESS_TREATING_DOCTOR:
        return _("Médecin traitant")
    if kind == ACCESS_CARE_TEAM:
        return _("Équipe de soins")
    if kind == ACCESS_DELEGATION and until is not None:
        return _("Code d’accès jusqu’au %(until)s") % {"until": _until_text(until)}
    if kind == ACCESS_EMERGENCY and until is not None:
        return _("Accès en urgence jusqu’au %(until)s") % {"until": _until_text(until)}
    return ""


def access_label(access: CitizenAccess) -> str:
    return access_way_label(access.kind, access.until)


@dataclass
class PatientLine:
    """One space of « Mes patients »."""

    citizen: Citizen
    kind: str
    until: datetime | None = None
    scopes: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return access_way_label(self.kind, self.until)

    @property
    def is_treating_doctor(self) -> bool:
        return self.kind == ACCESS_TREATING_DOCTOR

    @property
    def scopes_text(self) -> str:
        return scopes_label(self.scopes)


def professional_patients(professional: User, *, now: datetime | None = None) -> list[PatientLine]:
    """The spaces ``professional`` may open now, by name."""
    profile = ProfessionalProfile.objects.filter(user=professional).first()
    if profile is None:
        return []
    now = now or timezone.now()
    blocked = ProfessionalBlock.objects.filter(professional=professional).values("citizen_id")
    lines: dict[int, PatientLine] = {}

    def offer(line: PatientLine) -> None:
        current = lines.get(line.citizen.pk)
        if current is None or _PRECEDENCE[line.kind] < _PRECEDENCE[current.kind]:
            lines[line.citizen.pk] = line
        elif current.kind == line.kind == ACCESS_DELEGATION:
            current.scopes |= line.scopes
            current.until = max(current.until, line.until)

    members = (
        CareTeamMember.objects.filter(professional=professional, citizen__status__in=OPEN_SPACE_STATUSES)
        .exclude(citizen_id__in=blocked)
        .select_related("citizen")
    )
    for member in members:
        kind = ACCESS_TREATING_DOCTOR if member.is_treating_doctor else ACCESS_CARE_TEAM
        offer(PatientLine(member.citizen, kind, scopes=set(Scope.values)))
    delegations = (
        AccessDelegation.objects.filter(
            professional=professional,
            ended_at__isnull=True,
            expires_at__gt=now,
            citizen__status__in=OPEN_SPACE_STATUSES,
        )
        .exclude(citizen_id__in=blocked)
        .select_related("citizen")
    )
    for delegation in delegations:
        offer(
            PatientLine(
                delegation.citizen,
                ACCESS_DELEGATION,
                until=delegation.expires_at,
                scopes=set(delegation.scopes) & set(Scope.values),
            )
        )
    if profile.emergency_role:
        emergencies = (
            EmergencyAccess.objects.filter(
                professional=professional,
                ended_at__isnull=True,
                expires_at__gt=now,
                citizen__status__in=OPEN_SPACE_STATUSES,
                citizen__emergency_access_refused=False,
            )
            .exclude(citizen_id__in=blocked)
            .select_related("citizen")
        )
        for emergency in emergencies:
            line = PatientLine(
                emergency.citizen, ACCESS_EMERGENCY, until=emergency.expires_at, scopes=set(Scope.values)
            )
            current = lines.get(emergency.citizen_id)
            if current is not None and current.kind == ACCESS_EMERGENCY:
                current.until = max(current.until, line.until)
            else:
                offer(line)
    return sorted(
        lines.values(), key=lambda line: (line.citizen.birth_name.lower(), line.citizen.display_first_name.lower())
    )
