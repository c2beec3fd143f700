"""What the profil médical's tests share: making entries and vaccinations, opening a child's space."""

from datetime import date

from dossier.models import ProfileEntry, SourceKind
from dossier.services.profile import immunization_record, immunization_record_resource
from mes.acces.policy import CitizenAccess
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY


def make_entry(citizen, *, section: str = "allergies", label: str = "Pénicilline", **fields) -> ProfileEntry:
    return ProfileEntry.objects.create(citizen=citizen, section=section, label=label, **fields)


def make_immunization(
    access: CitizenAccess,
    *,
    vaccine_code: str = "J07BD52",
    occurrence_date: date = date(2020, 3, 2),
    dose_number: int | None = 1,
    lot_number: str = "AB1234",
    performer: str = "Dr Martin",
):
    return immunization_record(
        access=access,
        vaccine_code=vaccine_code,
        occurrence_date=occurrence_date,
        dose_number=dose_number,
        lot_number=lot_number,
        performer=performer,
    )


def app_resource(citizen, *, vaccine_code: str = "J07BB02", occurrence: str = "2023-10-20") -> dict:
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://www.whocc.no/atc", "code": vaccine_code}]},
        "patient": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": citizen.ins}},
        "occurrenceDateTime": occurrence,
        "lotNumber": "FLU-2023",
        "performer": [{"actor": {"display": "Pharmacie du Centre"}}],
        "protocolApplied": [{"doseNumberPositiveInt": 1}],
    }


def make_app_immunization(access: CitizenAccess, **kwargs):
    return immunization_record_resource(
        access=access,
        resource=app_resource(access.citizen, **kwargs),
        source_kind=SourceKind.APP,
        source_label="Carnet de vaccination (service référencé)",
    )


def act_for(client, citizen) -> None:
    """Open ``citizen``'s space in the signed-in account's session, as the header's switcher does."""
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    session.save()
