"""Mesures de santé: record a value (the citizen's form, an app or a professional through the API), delete an
erroneous entry, and keep the computed body mass index in step with the weights and heights.

Body mass index (BMI, IMC) — never written by anyone, always computed here:
- there is one BMI per weight, at the weight's date and time: weight (kg) / height (m)²,  rounded to 0.1;
- the height is the latest one measured at or before the weight (a child grows: a later height says nothing of the
  height they had then). When no height precedes the weight, the first height measured after it is used if the
  person was an adult at the time of the weight (adult height is stable), or if it was measured at most 31 days
  after the weight (so that a weight and a height entered one after the other give a BMI at any age);
- so an old weight entered late gets the height of its time, and a new height recomputes the BMIs of the weights
  it now applies to: those between the previous height and the next one. Deleting a weight deletes its BMI;
  deleting a height recomputes the same span;
- a weight and a height that give a BMI outside 5–250 kg/m² (a typing error in one of them) give no BMI.
The person's row is locked while a weight or height changes, so that two simultaneous entries cannot leave BMIs
computed from a height that another transaction has just replaced.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID, uuid4

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.fhir.devices import ParsedDevice, check_source
from dossier.fhir.measures import (
    ObservationError,
    ObservationIssue,
    ParsedObservation,
    build_observation,
    validate_observation,
)
from dossier.measures_catalog import GLUCOSE_MOMENTS, MEASURES, measure_spec
from dossier.models import Device, Measure, MeasureKind, SourceKind
from mes.acces.journal import register_action, register_detail
from mes.acces.models import Scope
from mes.acces.policy import ACCESS_REPRESENTATIVE, MAJORITY_AGE, CitizenAccess
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, User
from mes.db import RowInserter

MEASURE_ADDED = "dossier.mesure.ajoutee"
MEASURE_DELETED = "dossier.mesure.supprimee"
register_action(MEASURE_ADDED, gettext_lazy("Ajout d’une mesure de santé"))
register_action(MEASURE_DELETED, gettext_lazy("Suppression d’une mesure de santé"))
register_detail(
    "kind",
    gettext_lazy("Mesure"),
    lambda value: str(MeasureKind(value).label) if value in MeasureKind.values else None,
)
DEVICE_ADDED = "dossier.appareil.ajoute"
register_action(DEVICE_ADDED, gettext_lazy("Déclaration d’un appareil de mesure par un service"))

BMI_SPEC = MEASURES[MeasureKind.BMI]
# A height measured this long after a child's weight still gives that weight a BMI (a child grows about 0.5 cm a
# month at most after infancy: the error stays under 1 %).
BMI_HEIGHT_AFTER_WEIGHT = timedelta(days=31)
BMI_KINDS = (MeasureKind.WEIGHT, MeasureKind.HEIGHT)


def measure_source_label(access: CitizenAccess) -> str:
    """How an entry of the citizen's side is shown in the list of values."""
    if access.kind == ACCESS_REPRESENTATIVE:
        return _("Saisie par %(name)s (représentant légal)") % {"name": access.actor.display_name}
    return str(SourceKind.CITIZEN.label)


def measure_is_deletable(measure: Measure) -> bool:
    """Only a value entered from the citizen's side may be deleted (an erroneous entry): values sent by an app or a
    professional stay, as in the DMP, and the BMI follows its weight."""
    return measure.source_kind == SourceKind.CITIZEN and measure.kind != MeasureKind.BMI


def _check_writer(access: CitizenAccess, source_kind: str) -> None:
    if not access.can_write(Scope.MEASURES):
        raise PermissionDenied(_("Vous ne pouvez pas ajouter de mesure dans cet espace."))
    if source_kind == SourceKind.COMPUTED or source_kind not in SourceKind.values:
        raise PermissionDenied(_("Seul Mon espace santé calcule des mesures."))
    if source_kind == SourceKind.CITIZEN and not access.is_citizen_side:
        raise PermissionDenied(_("Seuls la personne et ses représentants légaux saisissent des mesures en son nom."))


@transaction.atomic
def measure_record(
    *,
    access: CitizenAccess,
    kind: str,
    effective_at: datetime,
    value: Decimal,
    value_secondary: Decimal | None = None,
    unit: str | None = None,
    glucose_moment: str = "",
    source_kind: str = SourceKind.CITIZEN,
    source_label: str,
) -> Measure:
    """Record one value: build its Observation, validate it, store it with its search columns.

    ``glucose_moment`` is a key of ``GLUCOSE_MOMENTS`` (required for glucose); ``unit`` a UCUM code of the
    measure (default: its reference unit). Raises ``ObservationError`` for a value that cannot be a real measure.
    """
    _check_writer(access, source_kind)
    spec = measure_spec(kind)
    if spec.computed:
        raise ObservationError(
            [ObservationIssue("Observation.code", _("L’IMC est calculé par Mon espace santé : il ne se saisit pas."))]
        )
    if timezone.is_naive(effective_at):
        raise ValueError("effective_at must be timezone-aware")
    issues = []
    moment = None
    if spec.needs_moment:
        moment = GLUCOSE_MOMENTS.get(glucose_moment)
        if moment is None:
            issues.append(ObservationIssue("Observation.extension", _("Indiquez le moment de la mesure.")))
    if spec.unit_for(unit) is None:
        issues.append(ObservationIssue("Observation.valueQuantity.code", _("Unité inconnue pour cette mesure.")))
    if spec.is_panel and value_secondary is None:
        issues.append(ObservationIssue("Observation.component", _("Les deux valeurs de la tension sont obligatoires.")))
    if issues:
        raise ObservationError(issues)
    public_id = uuid4()
    resource = build_observation(
        spec=spec,
        citizen=access.citizen,
        # FHIR dates keep milliseconds at most: the column keeps exactly what the resource says.
        effective_at=effective_at.replace(microsecond=effective_at.microsecond // 1000 * 1000),
        value=value,
        value_secondary=value_secondary if spec.is_panel else None,
        unit_code=unit,
        moment=moment,
        observation_id=public_id,
    )
    parsed = validate_observation(resource, citizen=access.citizen, kind=kind)
    return _store(access, parsed, public_id=public_id, source_kind=source_kind, source_label=source_label)


@transaction.atomic
def measure_record_observation(
    *,
    access: CitizenAccess,
    resource: dict,
    source_kind: str,
    source_label: str,
    subject_identifiers: frozenset[tuple[str, str]] = frozenset(),
    device: Device | None = None,
) -> Measure:
    """Record an Observation sent whole (the FHIR API): validated against its profile, BMI refused.

    ``subject_identifiers``: the patient identifiers accepted besides the matricule INS — the idPe the calling app
    received for this person. The resource is stored with a new ``id`` and the patient named by the INS.

    From a paired app, ``meta.source`` must be the app's editor OID (``OIDConflict`` otherwise, ``ObservationError``
    when absent), and ``device`` is one of the app's devices (``device_get_or_create``): the stored resource then
    names it ``Device/<public id>``, whatever reference the app used (a ``urn:uuid:`` of its transaction Bundle).
    An app's Observation that names a device without ``device`` being given is refused: it would point nowhere.
    """
    return _record_observation(
        access=access,
        resource=resource,
        source_kind=source_kind,
        source_label=source_label,
        subject_identifiers=subject_identifiers,
        device=device,
    )


@transaction.atomic
def measure_record_with_device(
    *,
    access: CitizenAccess,
    resource: dict,
    device: ParsedDevice,
    source_label: str,
    subject_identifiers: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[Measure, bool]:
    """An app's transaction Bundle: the Device that measured (conditional create) and the Observation, both or
    neither. Returns the measure and whether the device was created.

    One transaction, without the savepoint that nesting ``measure_record_observation`` would add (a write path that
    every connected scale and meter calls).
    """
    _check_writer(access, SourceKind.APP)
    stored_device, created = device_get_or_create(access=access, parsed=device)
    measure = _record_observation(
        access=access,
        resource=resource,
        source_kind=SourceKind.APP,
        source_label=source_label,
        subject_identifiers=subject_identifiers,
        device=stored_device,
    )
    return measure, created


def _record_observation(
    *,
    access: CitizenAccess,
    resource: dict,
    source_kind: str,
    source_label: str,
    subject_identifiers: frozenset[tuple[str, str]],
    device: Device | None,
) -> Measure:
    _check_writer(access, source_kind)
    if access.is_app:
        habilitation = access.pairing.habilitation
        check_source(resource, oid=habilitation.oid)
        if device is None and isinstance(resource, dict) and "device" in resource:
            unknown = _("Cet appareil n’est pas un appareil déclaré par ce service.")
            raise ObservationError([ObservationIssue("Observation.device", unknown)])
        if device is not None and device.habilitation_id != habilitation.pk:
            raise PermissionDenied(_("Cet appareil appartient à un autre service."))
    if device is not None and isinstance(resource, dict):
        named = resource.get("device") if isinstance(resource.get("device"), dict) else {}
        resource = {**resource, "device": {**named, "reference": f"Device/{device.public_id}"}}
    parsed = validate_observation(resource, citizen=access.citizen, subject_identifiers=frozenset(subject_identifiers))
    return _store(access, parsed, public_id=uuid4(), source_kind=source_kind, source_label=source_label, device=device)


# The known device of a Bundle, read on every write of a connected device: a fixed statement (the ORM would build
# it anew each time, for more CPU than the query itself). Its stored resource is not needed here, so not read.
_DEVICE_COLUMNS = ("id", "public_id", "habilitation_id", "identifier_system", "identifier_value", "created_at")
_DEVICE_SQL = (
    f"SELECT {', '.join(_DEVICE_COLUMNS)} FROM dossier_device "  # noqa: S608 - constants only
    "WHERE habilitation_id = %s AND identifier_system = %s AND identifier_value = %s"
)


def _device_known(habilitation_id: int, system: str, value: str) -> Device | None:
    with connection.cursor() as cursor:
        cursor.execute(_DEVICE_SQL, [habilitation_id, system, value])
        row = cursor.fetchone()
    return None if row is None else Device.from_db(connection.alias, _DEVICE_COLUMNS, row)


def device_get_or_create(*, access: CitizenAccess, parsed: ParsedDevice) -> tuple[Device, bool]:
    """The app's device known by ``parsed``'s identifier, created on first use (the FHIR conditional create).

    Safe under concurrency: the identifier is unique per habilitation, so of two requests creating the same device
    one inserts and the other, refused by the constraint, reads the row the first committed. The usual case, a
    device already known, is one query. Creating one writes a journal row (the app, not the citizen, owns it).
    """
    if not access.is_app:
        raise PermissionDenied(_("Seuls les services référencés déclarent des appareils de mesure."))
    habilitation = access.pairing.habilitation
    lookup = {"habilitation": habilitation, "identifier_system": parsed.system, "identifier_value": parsed.value}
    existing = _device_known(habilitation.pk, parsed.system, parsed.value)
    if existing is not None:
        return existing, False
    try:
        # A savepoint, so that losing the race to another request leaves the surrounding transaction usable.
        with transaction.atomic():
            device = Device(**lookup)
            device.resource = {"resourceType": "Device", "id": str(device.public_id)} | {
                key: value for key, value in parsed.resource.items() if key not in {"resourceType", "id"}
            }
            device.save(force_insert=True)
            journal_append(
                actor=access.actor,
                action=DEVICE_ADDED,
                obj=device,
                details={"identifiant": f"{parsed.system}|{parsed.value}"},
            )
    except IntegrityError:
        return Device.objects.get(**lookup), False
    return device, True


# Every measure of every connected device: one prepared INSERT (mes.db).
_MEASURE_INSERT = RowInserter(Measure)


def _store(
    access: CitizenAccess,
    parsed: ParsedObservation,
    *,
    public_id: UUID,
    source_kind: str,
    source_label: str,
    device: Device | None = None,
) -> Measure:
    citizen = access.citizen
    kind = parsed.spec.kind
    if kind in BMI_KINDS:
        _lock(citizen)
    resource = {"resourceType": "Observation", "id": str(public_id)} | {
        key: value for key, value in parsed.resource.items() if key not in ("resourceType", "id")
    }
    measure = Measure(
        public_id=public_id,
        citizen=citizen,
        kind=kind,
        effective_at=parsed.effective_at,
        value=parsed.value,
        value_secondary=parsed.value_secondary,
        unit=parsed.unit,
        glucose_moment=parsed.glucose_moment,
        source_kind=source_kind,
        source_label=source_label[:200],
        recorded_by=access.actor if isinstance(access.actor, User) else None,
        resource=resource,
        device=device,
    )
    _MEASURE_INSERT.insert(measure)
    details = {"kind": kind, "source_kind": source_kind, "effective_at": parsed.effective_at.isoformat()}
    if device is not None:
        details["appareil"] = str(device.public_id)
    if kind in BMI_KINDS:
        _bmi_follow(citizen, kind=kind, effective_at=measure.effective_at)
        details["bmi_recomputed"] = True
    # No value in the journal: it outlives the measure, and a deleted value must really be gone.
    journal_append(actor=access.actor, action=MEASURE_ADDED, citizen=citizen, obj=measure, details=details)
    return measure


@transaction.atomic
def measure_delete(*, access: CitizenAccess, measure: Measure) -> None:
    """Delete a value entered from the citizen's side (an erroneous entry), and its BMI when it is a weight."""
    if not access.may_write or not access.is_citizen_side or measure.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Vous ne pouvez pas supprimer cette valeur."))
    if not measure_is_deletable(measure):
        raise PermissionDenied(
            _(
                "Seules les valeurs saisies dans Mon espace santé peuvent être supprimées ; "
                "celle-ci vient de : %(source)s."
            )
            % {"source": measure.source_label}
        )
    citizen = access.citizen
    kind, effective_at = measure.kind, measure.effective_at
    if kind in BMI_KINDS:
        _lock(citizen)
    deleted, _rows = Measure.objects.filter(pk=measure.pk, citizen=citizen).delete()
    if not deleted:
        # Deleted meanwhile (a second click): nothing left to do, nothing to journal twice.
        return
    details = {"kind": kind, "source_kind": measure.source_kind, "effective_at": effective_at.isoformat()}
    if kind in BMI_KINDS:
        _bmi_follow(citizen, kind=kind, effective_at=effective_at)
        details["bmi_recomputed"] = True
    journal_append(actor=access.actor, action=MEASURE_DELETED, citizen=citizen, obj=measure, details=details)


# --- body mass index --------------------------------------------------------------------------------------------


def _lock(citizen: Citizen) -> None:
    Citizen.objects.select_for_update().filter(pk=citizen.pk).values_list("pk", flat=True).first()


def _bmi_follow(citizen: Citizen, *, kind: str, effective_at: datetime) -> None:
    """Recompute the BMIs that a weight or height recorded or deleted at ``effective_at`` may have changed."""
    if kind == MeasureKind.WEIGHT:
        _bmi_rebuild(citizen, since=effective_at, until=effective_at, until_inclusive=True)
        return
    heights = Measure.objects.filter(citizen=citizen, kind=MeasureKind.HEIGHT)
    previous = heights.filter(effective_at__lt=effective_at).order_by("-effective_at").values_list("effective_at")
    following = heights.filter(effective_at__gt=effective_at).order_by("effective_at").values_list("effective_at")
    since = previous.first()
    until = following.first()
    _bmi_rebuild(citizen, since=since[0] if since else None, until=until[0] if until else None, until_inclusive=False)


def _bmi_rebuild(citizen: Citizen, *, since: datetime | None, until: datetime | None, until_inclusive: bool) -> None:
    """Replace the BMIs of the weights measured between ``since`` (included) and ``until``."""
    window = Q()
    if since is not None:
        window &= Q(effective_at__gte=since)
    if until is not None:
        window &= Q(effective_at__lte=until) if until_inclusive else Q(effective_at__lt=until)
    Measure.objects.filter(window, citizen=citizen, kind=MeasureKind.BMI).delete()
    weights = list(
        Measure.objects.filter(window, citizen=citizen, kind=MeasureKind.WEIGHT)
        .order_by("effective_at", "id")
        .values_list("public_id", "effective_at", "value")
    )
    if not weights:
        return
    heights = list(
        Measure.objects.filter(citizen=citizen, kind=MeasureKind.HEIGHT)
        .order_by("effective_at", "id")
        .values_list("public_id", "effective_at", "value")
    )
    height_times = [height[1] for height in heights]
    adult_from = citizen.birth_date + relativedelta(years=MAJORITY_AGE)
    computed = []
    for weight_id, weight_at, weight in weights:
        height = _height_for(weight_at, heights, height_times, adult=timezone.localtime(weight_at).date() >= adult_from)
        if height is None:
            continue
        height_id, _height_at, height_cm = height
        bmi = bmi_value(weight, height_cm)
        if not BMI_SPEC.unit.minimum <= bmi <= BMI_SPEC.unit.maximum:
            continue
        public_id = uuid4()
        resource = build_observation(
            spec=BMI_SPEC,
            citizen=citizen,
            effective_at=weight_at,
            value=bmi,
            observation_id=public_id,
            derived_from=(weight_id, height_id),
        )
        # The weight passed the checks of the moment it was stored: its date is no reason to refuse its BMI now.
        parsed = validate_observation(
            resource, citizen=citizen, kind=MeasureKind.BMI, allow_computed=True, now=max(weight_at, timezone.now())
        )
        computed.append(
            Measure(
                public_id=public_id,
                citizen=citizen,
                kind=MeasureKind.BMI,
                effective_at=weight_at,
                value=parsed.value,
                unit=parsed.unit,
                source_kind=SourceKind.COMPUTED,
                source_label=str(SourceKind.COMPUTED.label),
                resource=parsed.resource,
            )
        )
    Measure.objects.bulk_create(computed)


def _height_for(moment: datetime, heights: list, height_times: list[datetime], *, adult: bool):
    index = bisect_right(height_times, moment)
    if index:
        return heights[index - 1]
    if index < len(heights):
        following = heights[index]
        if adult or following[1] - moment <= BMI_HEIGHT_AFTER_WEIGHT:
            return following
    return None


def bmi_value(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
