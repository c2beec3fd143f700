"""Writes of the profil médical (structured entries) and of the vaccinations (FHIR Immunization).

Every write goes through the access the policy decided (``mes.acces.policy.citizen_access``): refused when the
access may not write, refused when the object belongs to another space, and recorded by one journal row in the same
transaction. Vaccinations coming from an app or a professional stay as they were sent: only the ones the citizen
side recorded can be changed or deleted from the citizen's pages.
"""

import uuid
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.fhir.immunization import (
    OLDEST_DATE,
    PARIS,
    ImmunizationInvalid,
    ValidatedImmunization,
    immunization_build,
    immunization_validate,
)
from dossier.models import Immunization, ProfileEntry, ProfileSection, SourceKind
from dossier.selectors.profile import immunization_is_editable
from mes.acces.journal import register_action
from mes.acces.models import Scope
from mes.acces.policy import ACCESS_REPRESENTATIVE, CitizenAccess
from mes.acces.services import journal_append
from mes.comptes.models import User

PROFILE_ENTRY_ADDED = "dossier.profil.ajoute"
PROFILE_ENTRY_CHANGED = "dossier.profil.modifie"
PROFILE_ENTRY_DELETED = "dossier.profil.supprime"
IMMUNIZATION_ADDED = "dossier.vaccination.ajoutee"
IMMUNIZATION_CHANGED = "dossier.vaccination.modifiee"
IMMUNIZATION_DELETED = "dossier.vaccination.supprimee"

register_action(PROFILE_ENTRY_ADDED, gettext_lazy("Ajout d’une information au profil médical"))
register_action(PROFILE_ENTRY_CHANGED, gettext_lazy("Modification d’une information du profil médical"))
register_action(PROFILE_ENTRY_DELETED, gettext_lazy("Suppression d’une information du profil médical"))
register_action(IMMUNIZATION_ADDED, gettext_lazy("Ajout d’une vaccination"))
register_action(IMMUNIZATION_CHANGED, gettext_lazy("Modification d’une vaccination"))
register_action(IMMUNIZATION_DELETED, gettext_lazy("Suppression d’une vaccination"))

LABEL_MAX = 200
NOTE_MAX = 2000
# Family history is about relatives: its dates may well precede the person's birth.
SECTIONS_DATED_AFTER_BIRTH = frozenset(ProfileSection.values) - {ProfileSection.FAMILY_HISTORY}
# Sources an incoming Immunization may carry; "computed" is for what Mon espace santé derives itself (BMI).
IMMUNIZATION_SOURCES = frozenset({SourceKind.CITIZEN, SourceKind.PROFESSIONAL, SourceKind.APP})


def _today() -> date:
    return datetime.now(PARIS).date()


def _require_write(access: CitizenAccess, scope: str) -> None:
    if not access.can_write(scope):
        raise PermissionDenied("Cet accès ne permet pas de modifier le dossier.")


def _require_own(access: CitizenAccess, obj: ProfileEntry | Immunization) -> None:
    if obj.citizen_id != access.citizen.pk:
        raise PermissionDenied("Cet élément n’appartient pas au dossier ouvert.")


def _has_control_characters(value: str, *, allow_newlines: bool) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(ord(character) < 32 and character not in allowed for character in value)


def _count(number: int) -> str:
    """A count written the French way: 2 000 (the space cannot break)."""
    return f"{number:,}".replace(",", "\u00a0")


# --- Profile entries ---


def profile_entry_problems(
    *,
    section: str,
    label: str,
    start_date: date | None,
    end_date: date | None,
    note: str,
    birth_date: date,
    today: date | None = None,
) -> dict[str, str]:
    """The problems of an entry, by field (``label``, ``start_date``, ``end_date``, ``note``), in French."""
    today = today or _today()
    problems: dict[str, str] = {}
    label = label.strip()
    if not label:
        problems["label"] = _("Indiquez un libellé.")
    elif len(label) > LABEL_MAX:
        problems["label"] = _("Le libellé ne peut pas dépasser %(max)s caractères (%(count)s saisis).") % {
            "max": LABEL_MAX,
            "count": len(label),
        }
    elif _has_control_characters(label, allow_newlines=False):
        problems["label"] = _("Le libellé tient sur une ligne, sans caractère de contrôle.")
    after_birth = section in SECTIONS_DATED_AFTER_BIRTH
    birth = {"date": birth_date.strftime("%d/%m/%Y")}
    if start_date is not None:
        if start_date > today:
            problems["start_date"] = _("La date de début ne peut pas être dans le futur.")
        elif after_birth and start_date < birth_date:
            problems["start_date"] = (
                _("La date de début ne peut pas être antérieure à la date de naissance (%(date)s).") % birth
            )
        elif start_date < OLDEST_DATE:
            problems["start_date"] = _("Saisissez une date postérieure au 1er janvier 1900.")
    if end_date is not None:
        if start_date is not None and end_date < start_date:
            problems["end_date"] = _("La date de fin doit être égale ou postérieure à la date de début.")
        elif after_birth and end_date < birth_date:
            problems["end_date"] = (
                _("La date de fin ne peut pas être antérieure à la date de naissance (%(date)s).") % birth
            )
        elif end_date < OLDEST_DATE:
            problems["end_date"] = _("Saisissez une date postérieure au 1er janvier 1900.")
    if len(note) > NOTE_MAX:
        problems["note"] = _("La note ne peut pas dépasser %(max)s caractères (%(count)s saisis).") % {
            "max": _count(NOTE_MAX),
            "count": _count(len(note)),
        }
    elif _has_control_characters(note, allow_newlines=True):
        problems["note"] = _("La note ne peut pas contenir de caractère de contrôle.")
    return problems


def _validate_entry(access: CitizenAccess, section: str, **fields) -> None:
    if section not in ProfileSection.values:
        raise ValidationError({"section": _("Rubrique inconnue du profil médical.")})
    problems = profile_entry_problems(section=section, birth_date=access.citizen.birth_date, **fields)
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def profile_entry_add(
    *,
    access: CitizenAccess,
    section: str,
    label: str,
    start_date: date | None = None,
    end_date: date | None = None,
    note: str = "",
) -> ProfileEntry:
    _require_write(access, Scope.PROFILE)
    _validate_entry(access, section, label=label, start_date=start_date, end_date=end_date, note=note)
    entry = ProfileEntry.objects.create(
        citizen=access.citizen,
        section=section,
        label=label.strip(),
        start_date=start_date,
        end_date=end_date,
        note=note.strip(),
    )
    journal_append(
        actor=access.actor, action=PROFILE_ENTRY_ADDED, citizen=access.citizen, obj=entry, details={"section": section}
    )
    return entry


@transaction.atomic
def profile_entry_update(
    *,
    access: CitizenAccess,
    entry: ProfileEntry,
    label: str,
    start_date: date | None = None,
    end_date: date | None = None,
    note: str = "",
) -> ProfileEntry:
    _require_write(access, Scope.PROFILE)
    _require_own(access, entry)
    # The row as it is now, locked: a concurrent deletion answers DoesNotExist rather than a silent no-op.
    entry = ProfileEntry.objects.select_for_update().get(pk=entry.pk, citizen=access.citizen)
    _validate_entry(access, entry.section, label=label, start_date=start_date, end_date=end_date, note=note)
    entry.label, entry.start_date, entry.end_date, entry.note = label.strip(), start_date, end_date, note.strip()
    entry.save(update_fields=["label", "start_date", "end_date", "note", "updated_at"])
    journal_append(
        actor=access.actor,
        action=PROFILE_ENTRY_CHANGED,
        citizen=access.citizen,
        obj=entry,
        details={"section": entry.section},
    )
    return entry


@transaction.atomic
def profile_entry_delete(*, access: CitizenAccess, entry: ProfileEntry) -> None:
    _require_write(access, Scope.PROFILE)
    _require_own(access, entry)
    deleted, _ = ProfileEntry.objects.filter(pk=entry.pk, citizen=access.citizen).delete()
    if not deleted:
        raise ProfileEntry.DoesNotExist
    journal_append(
        actor=access.actor,
        action=PROFILE_ENTRY_DELETED,
        citizen=access.citizen,
        obj=entry,
        details={"section": entry.section},
    )


# --- Vaccinations ---


def _citizen_source_label(access: CitizenAccess) -> str:
    if access.kind == ACCESS_REPRESENTATIVE:
        return _("Saisie par %(name)s, représentant légal") % {"name": access.actor.display_name}
    return str(SourceKind.CITIZEN.label)


def _columns(validated: ValidatedImmunization) -> dict:
    return {
        "vaccine_code": validated.vaccine.code,
        "vaccine_label": validated.vaccine.label,
        "occurrence_date": validated.occurrence_date,
        "dose_number": validated.dose_number,
        "lot_number": validated.lot_number,
        "performer": validated.performer,
        "resource": validated.resource,
    }


@transaction.atomic
def immunization_record_resource(
    *, access: CitizenAccess, resource: dict, source_kind: str, source_label: str
) -> Immunization:
    """Record an Immunization sent as FHIR JSON (by the API, or built by ``immunization_record``).

    Raises ``ImmunizationInvalid`` (French messages with their FHIR paths) when a rule is broken; nothing is
    written then.
    """
    _require_write(access, Scope.IMMUNIZATIONS)
    if source_kind not in IMMUNIZATION_SOURCES:
        raise ValueError(f"Source de vaccination non permise : {source_kind}")
    if source_kind == SourceKind.CITIZEN and not access.is_citizen_side:
        raise PermissionDenied("Seuls la personne et ses représentants légaux saisissent en leur nom.")
    source_label = source_label.strip()[:200] or (
        _citizen_source_label(access) if source_kind == SourceKind.CITIZEN else str(SourceKind(source_kind).label)
    )
    public_id = uuid.uuid4()
    validated = immunization_validate(resource, citizen=access.citizen, resource_id=str(public_id))
    immunization = Immunization.objects.create(
        public_id=public_id,
        citizen=access.citizen,
        source_kind=source_kind,
        source_label=source_label,
        recorded_by=access.actor if isinstance(access.actor, User) else None,
        **_columns(validated),
    )
    journal_append(
        actor=access.actor,
        action=IMMUNIZATION_ADDED,
        citizen=access.citizen,
        obj=immunization,
        details={"vaccine_code": immunization.vaccine_code, "source_kind": source_kind},
    )
    return immunization


def immunization_record(
    *,
    access: CitizenAccess,
    vaccine_code: str,
    occurrence_date: date,
    dose_number: int | None = None,
    lot_number: str = "",
    performer: str = "",
    source_kind: str = SourceKind.CITIZEN,
    source_label: str = "",
) -> Immunization:
    """Record a vaccination entered in a form: the resource is built, then checked like any incoming one."""
    resource = immunization_build(
        citizen=access.citizen,
        vaccine_code=vaccine_code,
        occurrence_date=occurrence_date,
        dose_number=dose_number,
        lot_number=lot_number.strip(),
        performer=performer.strip(),
    )
    return immunization_record_resource(
        access=access, resource=resource, source_kind=source_kind, source_label=source_label
    )


@transaction.atomic
def immunization_update(
    *,
    access: CitizenAccess,
    immunization: Immunization,
    vaccine_code: str,
    occurrence_date: date,
    dose_number: int | None = None,
    lot_number: str = "",
    performer: str = "",
) -> Immunization:
    _require_write(access, Scope.IMMUNIZATIONS)
    _require_own(access, immunization)
    immunization = Immunization.objects.select_for_update().get(pk=immunization.pk, citizen=access.citizen)
    if not immunization_is_editable(access, immunization):
        raise PermissionDenied("Cette vaccination a été enregistrée par un tiers : elle ne peut pas être modifiée.")
    resource = immunization_build(
        citizen=access.citizen,
        vaccine_code=vaccine_code,
        occurrence_date=occurrence_date,
        dose_number=dose_number,
        lot_number=lot_number.strip(),
        performer=performer.strip(),
    )
    validated = immunization_validate(resource, citizen=access.citizen, resource_id=str(immunization.public_id))
    for field, value in _columns(validated).items():
        setattr(immunization, field, value)
    immunization.save(update_fields=[*_columns(validated), "updated_at"])
    journal_append(
        actor=access.actor,
        action=IMMUNIZATION_CHANGED,
        citizen=access.citizen,
        obj=immunization,
        details={"vaccine_code": immunization.vaccine_code},
    )
    return immunization


@transaction.atomic
def immunization_delete(*, access: CitizenAccess, immunization: Immunization) -> None:
    _require_write(access, Scope.IMMUNIZATIONS)
    _require_own(access, immunization)
    immunization = Immunization.objects.select_for_update().get(pk=immunization.pk, citizen=access.citizen)
    if not immunization_is_editable(access, immunization):
        raise PermissionDenied("Cette vaccination a été enregistrée par un tiers : elle ne peut pas être supprimée.")
    immunization.delete()
    journal_append(
        actor=access.actor,
        action=IMMUNIZATION_DELETED,
        citizen=access.citizen,
        obj=immunization,
        details={"vaccine_code": immunization.vaccine_code},
    )


__all__ = [
    "IMMUNIZATION_ADDED",
    "IMMUNIZATION_CHANGED",
    "IMMUNIZATION_DELETED",
    "PROFILE_ENTRY_ADDED",
    "PROFILE_ENTRY_CHANGED",
    "PROFILE_ENTRY_DELETED",
    "ImmunizationInvalid",
    "immunization_delete",
    "immunization_record",
    "immunization_record_resource",
    "immunization_update",
    "profile_entry_add",
    "profile_entry_delete",
    "profile_entry_problems",
    "profile_entry_update",
]
