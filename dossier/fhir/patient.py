"""The citizen as a FHIR R4 Patient: INS identity, names, birth, contact details, postal address.

Follows FR Core (Interop'Santé) where it applies without a qualified-identity claim: the INS matricule is carried
with the system of the NIR-based INS (OID 1.2.250.1.213.1.4.8) and the identifier type ``INS-NIR``; the sex of the
INS referential (M, F, I) maps to the administrative genders FR Core allows for INS (male, female, unknown).
"""

from mes.comptes.models import Citizen, Sex

INS_NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
IDENTIFIER_TYPE_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
BIRTH_PLACE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
INSEE_CODE_EXTENSION = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"
INSEE_COMMUNE_SYSTEM = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
# INSEE codes of births abroad start with 99 and name a country, not a commune: another code system, left out.
BORN_ABROAD_PREFIX = "99"

GENDERS = {Sex.MALE: "male", Sex.FEMALE: "female", Sex.OTHER: "unknown"}


def patient_resource(citizen: Citizen) -> dict:
    """The Patient resource of ``citizen``, its ``id`` being the citizen's public identifier."""
    resource: dict = {
        "resourceType": "Patient",
        "id": str(citizen.public_id),
        "identifier": [
            {
                "use": "official",
                "type": {
                    "coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": "INS-NIR", "display": "NIR définitif"}],
                    "text": "Matricule INS",
                },
                "system": INS_NIR_SYSTEM,
                "value": citizen.ins,
            }
        ],
        "active": citizen.has_space,
        "name": _names(citizen),
        "gender": GENDERS.get(citizen.sex, "unknown"),
        "birthDate": citizen.birth_date.isoformat(),
    }
    telecom = _telecom(citizen)
    if telecom:
        resource["telecom"] = telecom
    address = _address(citizen)
    if address:
        resource["address"] = [address]
    if citizen.birthplace_code and not citizen.birthplace_code.startswith(BORN_ABROAD_PREFIX):
        resource["extension"] = [
            {
                "url": BIRTH_PLACE_EXTENSION,
                "valueAddress": {
                    "extension": [
                        {
                            "url": INSEE_CODE_EXTENSION,
                            "valueCoding": {"system": INSEE_COMMUNE_SYSTEM, "code": citizen.birthplace_code},
                        }
                    ],
                    "country": "FRA",
                },
            }
        ]
    return resource


def _names(citizen: Citizen) -> list[dict]:
    given = citizen.first_names.split()
    names = [{"use": "official", "family": citizen.birth_name, "given": given}]
    if citizen.used_first_name and citizen.used_first_name not in given[:1]:
        names.append({"use": "usual", "family": citizen.birth_name, "given": [citizen.used_first_name]})
    return names


def _telecom(citizen: Citizen) -> list[dict]:
    telecom = []
    if citizen.contact_phone:
        telecom.append({"system": "phone", "value": citizen.contact_phone})
    if citizen.contact_email:
        telecom.append({"system": "email", "value": citizen.contact_email})
    return telecom


def _address(citizen: Citizen) -> dict | None:
    lines = [line for line in (citizen.address_line, citizen.address_complement) if line]
    if not (lines or citizen.postal_code or citizen.city):
        return None
    address: dict = {"use": "home", "type": "postal"}
    if lines:
        address["line"] = lines
    if citizen.postal_code:
        address["postalCode"] = citizen.postal_code
    if citizen.city:
        address["city"] = citizen.city
    address["country"] = "FRA"
    return address
