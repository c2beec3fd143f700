"""The referential of the vaccines a citizen can record: those of the French vaccination calendar and the common ones.

Each vaccine is identified by its code in the WHO's ATC classification (group J07, "Vaccins"), system
``http://www.whocc.no/atc``. Why ATC rather than SNOMED CT or the CIS codes of the BDPM:

- the ANS's own CI-SIS value sets for vaccinations (e.g. « JDV Vaccin Cse24 CISIS », OID 1.2.250.1.213.1.1.5.107)
  code vaccines in ATC with this very system URL, and so does the International Patient Summary
  (ValueSet ``vaccines-whoatc-uv-ips``);
- ATC names what a person reads in a carnet de santé (« ROR », « DTCaPolio », « hépatite B ») at the level of the
  antigens, whereas a CIS code names one commercial product and presentation, which few people know;
- its codes are public and stable, with no licence needed to display them.

One code is one entry: where ATC groups several French abbreviations under one code (DTCaPolio for children and
dTcaPolio for adults are both J07CA02), the entry says so in its label. Brand names are hints shown to the person,
never codes.
"""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

ATC_SYSTEM = "http://www.whocc.no/atc"


@dataclass(frozen=True)
class Vaccine:
    code: str  # ATC code (J07…)
    label: str  # what the citizen reads, in French; also the FHIR display
    examples: str  # brand names sold in France, to help recognise the vaccine in a carnet
    group: str


GROUP_CHILDREN = _("Nourrissons et enfants")
GROUP_BOOSTERS = _("Diphtérie, tétanos, coqueluche, poliomyélite")
GROUP_ADULTS = _("Adolescents et adultes")
GROUP_SEASONAL = _("Grippe, COVID-19 et VRS")
GROUP_TRAVEL = _("Voyages et situations particulières")

_VACCINES = [
    # Calendrier vaccinal du nourrisson et de l'enfant.
    Vaccine(
        "J07CA09",
        "Hexavalent : diphtérie, tétanos, coqueluche, poliomyélite, Haemophilus influenzae b, hépatite B",
        "Infanrix Hexa, Hexyon, Vaxelis",
        GROUP_CHILDREN,
    ),
    Vaccine(
        "J07CA06",
        "Pentavalent : diphtérie, tétanos, coqueluche, poliomyélite, Haemophilus influenzae b",
        "Pentavac, Infanrix Quinta",
        GROUP_CHILDREN,
    ),
    Vaccine(
        "J07AL02", "Pneumocoque, vaccin conjugué", "Prevenar 13, Prevenar 20, Vaxneuvance, Capvaxive", GROUP_CHILDREN
    ),
    Vaccine("J07AH08", "Méningocoques A, C, W et Y", "Nimenrix, Menveo, MenQuadfi", GROUP_CHILDREN),
    Vaccine("J07AH07", "Méningocoque C", "Neisvac, Menjugate", GROUP_CHILDREN),
    Vaccine("J07AH09", "Méningocoque B", "Bexsero, Trumenba", GROUP_CHILDREN),
    Vaccine("J07BD52", "Rougeole, oreillons, rubéole (ROR)", "M-M-RVaxPro, Priorix", GROUP_CHILDREN),
    Vaccine("J07BD54", "Rougeole, oreillons, rubéole, varicelle (RORV)", "ProQuad, Priorix-Tetra", GROUP_CHILDREN),
    Vaccine("J07BK01", "Varicelle", "Varivax, Varilrix", GROUP_CHILDREN),
    Vaccine("J07BH01", "Rotavirus, vaccin monovalent", "Rotarix", GROUP_CHILDREN),
    Vaccine("J07BH02", "Rotavirus, vaccin pentavalent", "RotaTeq", GROUP_CHILDREN),
    Vaccine("J07AG01", "Haemophilus influenzae b (Hib)", "Act-HIB", GROUP_CHILDREN),
    Vaccine("J07AN01", "Tuberculose (BCG)", "Vaccin BCG", GROUP_CHILDREN),
    # Rappels.
    Vaccine(
        "J07CA02",
        "Diphtérie, tétanos, coqueluche, poliomyélite (DTCaPolio, dTcaPolio)",
        "Tetravac, Infanrix Tetra, Repevax, Boostrixtetra",
        GROUP_BOOSTERS,
    ),
    Vaccine("J07CA01", "Diphtérie, tétanos, poliomyélite (dTPolio)", "Revaxis", GROUP_BOOSTERS),
    Vaccine("J07AJ52", "Coqueluche, avec diphtérie et tétanos (dTca)", "Boostrix", GROUP_BOOSTERS),
    Vaccine("J07AM51", "Diphtérie et tétanos (DT, dT)", "", GROUP_BOOSTERS),
    Vaccine("J07AM01", "Tétanos", "Vaccin tétanique Pasteur", GROUP_BOOSTERS),
    Vaccine("J07BF03", "Poliomyélite", "Imovax Polio", GROUP_BOOSTERS),
    # Adolescents et adultes.
    Vaccine("J07BM03", "Papillomavirus humains (HPV), vaccin 9-valent", "Gardasil 9", GROUP_ADULTS),
    Vaccine("J07BM01", "Papillomavirus humains (HPV), vaccin 4-valent", "Gardasil", GROUP_ADULTS),
    Vaccine("J07BM02", "Papillomavirus humains (HPV), vaccin 2-valent", "Cervarix", GROUP_ADULTS),
    Vaccine("J07BC01", "Hépatite B", "Engerix B, HBVaxPro", GROUP_ADULTS),
    Vaccine("J07BC02", "Hépatite A", "Havrix, Avaxim, Vaqta", GROUP_ADULTS),
    Vaccine("J07BC20", "Hépatites A et B", "Twinrix", GROUP_ADULTS),
    Vaccine("J07AL01", "Pneumocoque, vaccin polyosidique non conjugué (23-valent)", "Pneumovax", GROUP_ADULTS),
    Vaccine("J07BK03", "Zona, vaccin recombinant", "Shingrix", GROUP_ADULTS),
    Vaccine("J07BK02", "Zona, vaccin vivant atténué", "Zostavax", GROUP_ADULTS),
    # Campagnes saisonnières.
    Vaccine(
        "J07BB02",
        "Grippe saisonnière, vaccin inactivé",
        "Vaxigrip Tetra, Influvac Tetra, Efluelda, Fluad",
        GROUP_SEASONAL,
    ),
    Vaccine("J07BB03", "Grippe saisonnière, vaccin vivant par voie nasale", "Fluenz", GROUP_SEASONAL),
    Vaccine("J07BN01", "COVID-19, vaccin à ARN messager", "Comirnaty, Spikevax", GROUP_SEASONAL),
    Vaccine("J07BN04", "COVID-19, vaccin à protéine recombinante", "Nuvaxovid, VidPrevtyn Beta", GROUP_SEASONAL),
    Vaccine("J07BN02", "COVID-19, vaccin à vecteur viral", "Vaxzevria, Jcovden", GROUP_SEASONAL),
    Vaccine("J07BX05", "Virus respiratoire syncytial (VRS)", "Abrysvo, Arexvy, mResvia", GROUP_SEASONAL),
    # Voyages, expositions professionnelles.
    Vaccine("J07BL01", "Fièvre jaune", "Stamaril", GROUP_TRAVEL),
    Vaccine("J07BG01", "Rage", "Verorab, Rabipur", GROUP_TRAVEL),
    Vaccine("J07AP03", "Fièvre typhoïde", "Typhim Vi", GROUP_TRAVEL),
    Vaccine("J07CA10", "Fièvre typhoïde et hépatite A", "Tyavax", GROUP_TRAVEL),
    Vaccine("J07BA01", "Encéphalite à tiques", "Ticovac, Encepur", GROUP_TRAVEL),
    Vaccine("J07BA02", "Encéphalite japonaise", "Ixiaro", GROUP_TRAVEL),
    Vaccine("J07AE01", "Choléra", "Dukoral", GROUP_TRAVEL),
    Vaccine("J07BX04", "Dengue", "Qdenga", GROUP_TRAVEL),
    Vaccine("J07BX01", "Variole et mpox", "Imvanex", GROUP_TRAVEL),
]

VACCINES: dict[str, Vaccine] = {vaccine.code: vaccine for vaccine in _VACCINES}
if len(VACCINES) != len(_VACCINES):
    # A code stands for one entry, or stored vaccinations would be shown under the wrong name.
    raise ImproperlyConfigured("Référentiel des vaccins : un code ATC figure deux fois.")


def vaccine_by_code(code: str) -> Vaccine | None:
    return VACCINES.get(code)


def vaccine_option_label(vaccine: Vaccine) -> str:
    return f"{vaccine.label} — {vaccine.examples}" if vaccine.examples else vaccine.label


def vaccine_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The referential grouped for a ``<select>`` (one ``<optgroup>`` per group, in the order above)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for vaccine in _VACCINES:
        groups.setdefault(str(vaccine.group), []).append((vaccine.code, vaccine_option_label(vaccine)))
    return list(groups.items())
