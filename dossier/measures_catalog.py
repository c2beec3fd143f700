"""The ten mesures de santé: what each one is in FHIR (profile, LOINC code, UCUM units) and which values are plausible.

One definition per measure, read by the FHIR builder and validator (``dossier.fhir.measures``), the forms, the pages
and the chart, so that the rules cannot drift apart between the citizen's form and the API. The reasons behind each
bound are written in ``docs/mesures.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.models import MeasureKind

PROFILE_BASE = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/"
LOINC = "http://loinc.org"
# The ANS terminology server publishes LOINC under its own URL too; the guide's examples use it (glucose).
LOINC_SYSTEMS = frozenset({LOINC, "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc"})
UCUM = "http://unitsofmeasure.org"
CISP2 = "https://mos.esante.gouv.fr/NOS/TRE_R313-CISP2/FHIR/TRE-R313-CISP2"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
MOMENT_EXTENSION = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/mesures-moment-of-measurement"
# Patient identifiers accepted as the subject: the matricule INS (the citizen's own space) and the idPe, the
# pseudonymous identifier an app receives for the person at appariement.
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
IDPE_SYSTEM = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2560"


@dataclass(frozen=True)
class UnitSpec:
    """One accepted UCUM unit of a measure, with its plausible bounds expressed in that unit."""

    code: str  # UCUM code, stored as is
    label: str  # shown to people, also the Quantity's human-readable ``unit``
    minimum: Decimal
    maximum: Decimal
    decimals: int  # digits accepted after the decimal point
    # Factor to the measure's chart unit (the first unit): glucose entered in g/L or mmol/L is drawn in one unit.
    to_reference: Decimal = Decimal(1)


@dataclass(frozen=True)
class ComponentSpec:
    """A component of a panel (blood pressure): its LOINC code and the label of its form field."""

    loinc: str
    display: str
    label: str
    minimum: Decimal
    maximum: Decimal


@dataclass(frozen=True)
class MeasureSpec:
    kind: str
    label: str  # "Poids"
    profile_name: str
    loinc: str
    loinc_display: str
    units: tuple[UnitSpec, ...]
    accepted_loinc: frozenset[str] = frozenset()  # other LOINC codes accepted on input (glucose in plasma)
    components: tuple[ComponentSpec, ...] = ()
    computed: bool = False  # BMI: computed by Mon espace santé, never written by anyone
    needs_moment: bool = False  # glucose: the moment of measurement is required
    hint: str = ""

    @property
    def profile(self) -> str:
        return PROFILE_BASE + self.profile_name

    @property
    def unit(self) -> UnitSpec:
        """The reference unit: the default of the form and the unit of the chart."""
        return self.units[0]

    @property
    def is_panel(self) -> bool:
        return bool(self.components)

    @property
    def loinc_codes(self) -> frozenset[str]:
        return frozenset({self.loinc}) | self.accepted_loinc

    def unit_for(self, code: str | None) -> UnitSpec | None:
        if code is None:
            return self.unit
        return next((unit for unit in self.units if unit.code == code), None)


def _d(value: str) -> Decimal:
    return Decimal(value)


MMHG = UnitSpec("mm[Hg]", "mmHg", _d("20"), _d("300"), 0)

# Glucose: 1 g/L = 100 mg/dL; 1 mmol/L = 18.016 mg/dL (molar mass of glucose 180.16 g/mol).
MG_DL_PER_MMOL_L = _d("18.016")

MEASURES: dict[str, MeasureSpec] = {
    spec.kind: spec
    for spec in (
        MeasureSpec(
            kind=MeasureKind.WEIGHT,
            label=gettext_lazy("Poids"),
            profile_name="FrObservationBodyWeight",
            loinc="29463-7",
            loinc_display="Body weight",
            units=(UnitSpec("kg", "kg", _d("0.2"), _d("650"), 3),),
            hint=gettext_lazy("En kilogrammes, par exemple 72,5."),
        ),
        MeasureSpec(
            kind=MeasureKind.HEIGHT,
            label=gettext_lazy("Taille"),
            profile_name="FrObservationBodyHeight",
            loinc="8302-2",
            loinc_display="Body height",
            units=(UnitSpec("cm", "cm", _d("20"), _d("275"), 1),),
            hint=gettext_lazy("En centimètres, par exemple 172."),
        ),
        MeasureSpec(
            kind=MeasureKind.BMI,
            label=gettext_lazy("Indice de masse corporelle (IMC)"),
            profile_name="FrObservationBmi",
            loinc="39156-5",
            loinc_display="Body mass index (BMI) [Ratio]",
            units=(UnitSpec("kg/m2", "kg/m²", _d("5"), _d("250"), 1),),
            computed=True,
        ),
        MeasureSpec(
            kind=MeasureKind.WAIST,
            label=gettext_lazy("Tour de taille"),
            profile_name="FrObservationWaistCircumference",
            loinc="8280-0",
            loinc_display="Waist Circumference at umbilicus by Tape measure",
            units=(UnitSpec("cm", "cm", _d("20"), _d("300"), 1),),
            hint=gettext_lazy("En centimètres, mesuré au niveau du nombril."),
        ),
        MeasureSpec(
            kind=MeasureKind.BLOOD_PRESSURE,
            label=gettext_lazy("Tension artérielle"),
            profile_name="FrObservationBp",
            loinc="85354-9",
            loinc_display="Blood pressure panel with all children optional",
            units=(MMHG,),
            components=(
                ComponentSpec(
                    "8480-6", "Systolic blood pressure", gettext_lazy("Pression systolique"), _d("50"), _d("300")
                ),
                ComponentSpec(
                    "8462-4", "Diastolic blood pressure", gettext_lazy("Pression diastolique"), _d("20"), _d("200")
                ),
            ),
            hint=gettext_lazy("En millimètres de mercure (mmHg), par exemple 125 et 80 pour « 12/8 »."),
        ),
        MeasureSpec(
            kind=MeasureKind.HEART_RATE,
            label=gettext_lazy("Fréquence cardiaque"),
            profile_name="FrObservationHeartrate",
            loinc="8867-4",
            loinc_display="Heart rate",
            units=(UnitSpec("/min", "battements/min", _d("20"), _d("300"), 0),),
            hint=gettext_lazy("En battements par minute, par exemple 68."),
        ),
        MeasureSpec(
            kind=MeasureKind.GLUCOSE,
            label=gettext_lazy("Glycémie"),
            profile_name="FrObservationGlucose",
            loinc="2339-0",
            loinc_display="Glucose [Mass/volume] in Blood",
            accepted_loinc=frozenset({"2345-7"}),
            units=(
                UnitSpec("g/L", "g/L", _d("0.10"), _d("27"), 2, to_reference=Decimal(1)),
                UnitSpec("mg/dL", "mg/dL", _d("10"), _d("2700"), 0, to_reference=_d("0.01")),
                UnitSpec("mmol/L", "mmol/L", _d("0.6"), _d("150"), 1, to_reference=MG_DL_PER_MMOL_L / 100),
            ),
            needs_moment=True,
            hint=gettext_lazy("Recopiez la valeur et l’unité affichées par votre lecteur."),
        ),
        MeasureSpec(
            kind=MeasureKind.TEMPERATURE,
            label=gettext_lazy("Température"),
            profile_name="FrObservationBodyTemperature",
            loinc="8310-5",
            loinc_display="Body temperature",
            units=(UnitSpec("Cel", "°C", _d("25"), _d("46.5"), 2),),
            hint=gettext_lazy("En degrés Celsius, par exemple 37,8."),
        ),
        MeasureSpec(
            kind=MeasureKind.PAIN,
            label=gettext_lazy("Niveau de douleur"),
            profile_name="FrObservationPainSeverity",
            loinc="72514-3",
            loinc_display="Pain severity - 0-10 verbal numeric rating [Score] - Reported",
            units=(UnitSpec("{score}", "/10", _d("0"), _d("10"), 0),),
            hint=gettext_lazy("De 0 (aucune douleur) à 10 (douleur maximale imaginable)."),
        ),
        MeasureSpec(
            kind=MeasureKind.STEPS,
            label=gettext_lazy("Nombre de pas"),
            profile_name="FrObservationStepsByDay",
            loinc="41950-7",
            loinc_display="Number of steps in 24 hour Measured",
            units=(UnitSpec("1/(24.h)", "pas/jour", _d("0"), _d("250000"), 0),),
            hint=gettext_lazy("Le nombre de pas de la journée, par exemple 8500."),
        ),
    )
}

# Pain: the guide's early versions wrote the score with the UCUM unity « 1 »; accepted on input, written as {score}.
PAIN_UNIT_ALIASES = {"1": "{score}"}


def measure_spec(kind: str) -> MeasureSpec:
    """The definition of ``kind``; ``KeyError`` for anything that is not one of the ten measures."""
    return MEASURES[kind]


def spec_for_profile(profile: str) -> MeasureSpec | None:
    return next((spec for spec in MEASURES.values() if spec.profile == profile), None)


@dataclass(frozen=True)
class GlucoseMoment:
    """A moment of measurement of the ANS value set JDV_J157-MomentGlucose-ENS (OID 1.2.250.1.213.1.1.5.612).

    The value set is bound as *required*: « au coucher » and « au hasard » have no code of their own and are
    written as « Autre » (LA46-8) with the moment in the concept's text.
    """

    key: str
    label: str
    system: str
    code: str
    display: str
    text: str = ""


GLUCOSE_MOMENTS: dict[str, GlucoseMoment] = {
    moment.key: moment
    for moment in (
        GlucoseMoment("a-jeun", gettext_lazy("À jeun"), LOINC, "53049-3", "Glucose à jeun"),
        GlucoseMoment("avant-repas", gettext_lazy("Avant le repas"), LOINC, "88365-2", "Avant repas"),
        GlucoseMoment(
            "apres-repas", gettext_lazy("Après le repas (post-prandial)"), LOINC, "16915-1", "Glucose post prandial"
        ),
        GlucoseMoment("coucher", gettext_lazy("Au coucher"), LOINC, "LA46-8", "Autre", text="Au coucher"),
        GlucoseMoment("effort", gettext_lazy("Après un effort physique"), LOINC, "LA11865-5", "Après exercice"),
        GlucoseMoment("malaise", gettext_lazy("Lors d’un malaise"), CISP2, "A05", "Lors d'un malaise"),
        GlucoseMoment("autre", gettext_lazy("Au hasard, à un autre moment"), LOINC, "LA46-8", "Autre"),
    )
}
_MOMENT_CODES = {(moment.code, moment.text): moment for moment in GLUCOSE_MOMENTS.values()}
GLUCOSE_MOMENT_CODES = frozenset(moment.code for moment in GLUCOSE_MOMENTS.values())


def glucose_moment_for(code: str, text: str = "") -> GlucoseMoment | None:
    """The moment of a coded concept; an « Autre » with a text of its own is « autre »."""
    if code not in GLUCOSE_MOMENT_CODES:
        return None
    return _MOMENT_CODES.get((code, text)) or _MOMENT_CODES.get((code, ""))


def format_number(value: Decimal | int | float, decimals: int | None = None) -> str:
    """A number the French way: « 72,5 », « 10 000 »; trailing zeros dropped unless ``decimals`` is given."""
    value = Decimal(str(value))
    if decimals is None:
        value = value.normalize()
        exponent = value.as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return number_format(value, decimals, use_l10n=True, force_grouping=True)


def bounds_message(spec: MeasureSpec, unit: UnitSpec, *, component: ComponentSpec | None = None) -> str:
    minimum = component.minimum if component else unit.minimum
    maximum = component.maximum if component else unit.maximum
    what = component.label if component else spec.label
    return _("%(what)s : la valeur doit être comprise entre %(min)s et %(max)s %(unit)s.") % {
        "what": what,
        "min": format_number(minimum),
        "max": format_number(maximum),
        "unit": unit.label,
    }


def check_value(
    spec: MeasureSpec, value: Decimal, unit: UnitSpec, *, component: ComponentSpec | None = None
) -> list[str]:
    """The French reasons why ``value`` cannot be a real measure (empty when plausible)."""
    problems = []
    if not value.is_finite():
        return [_("Saisissez un nombre.")]
    exponent = value.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if decimals > unit.decimals:
        if unit.decimals == 0:
            problems.append(_("Saisissez un nombre entier, sans virgule."))
        else:
            problems.append(_("Saisissez au plus %(count)s chiffre(s) après la virgule.") % {"count": unit.decimals})
    minimum = component.minimum if component else unit.minimum
    maximum = component.maximum if component else unit.maximum
    if not minimum <= value <= maximum:
        problems.append(bounds_message(spec, unit, component=component) + _unit_hint(spec, value, unit))
    return problems


def _unit_hint(spec: MeasureSpec, value: Decimal, unit: UnitSpec) -> str:
    """When the number is plausible in another unit of the measure, say so: 105 « g/L » is surely 105 mg/dL."""
    others = [other.label for other in spec.units if other is not unit and other.minimum <= value <= other.maximum]
    if not others:
        return ""
    return " " + _("Vérifiez l’unité : cette valeur correspond peut-être à des %(units)s.") % {
        "units": _(" ou des ").join(others)
    }


def check_blood_pressure(systolic: Decimal, diastolic: Decimal) -> list[str]:
    if systolic <= diastolic:
        return [_("La pression systolique (le premier chiffre) doit être supérieure à la pression diastolique.")]
    return []
