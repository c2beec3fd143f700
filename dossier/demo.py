"""The dossier médical of the demo population: what a citizen who has used the space for a while would find.

Everything goes through the services (validation, FHIR resources, journal rows), as if entered in the pages; the
documents are small PDFs drawn with reportlab. Nothing is added to a dossier that already has content, so running
the demo again changes nothing.
"""

import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from dossier.models import Document, Measure, MeasureKind, ProfileEntry, ProfileSection
from dossier.models.documents import AuthorKind
from dossier.services.documents import document_add
from dossier.services.measures import measure_record
from dossier.services.profile import immunization_record, profile_entry_add
from mes.acces.policy import CitizenAccess, citizen_access
from mes.acces.services.delegations import professional_label
from mes.comptes.models import Citizen, User

PARIS = ZoneInfo("Europe/Paris")


def _pdf(title: str, lines: list[str]) -> ContentFile:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(title)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(60, 780, title)
    page.setFont("Helvetica", 11)
    for index, line in enumerate(lines):
        page.drawString(60, 740 - 18 * index, line)
    page.showPage()
    page.save()
    return ContentFile(buffer.getvalue(), name=f"{title}.pdf")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def _measures(access: CitizenAccess, today: date) -> None:
    label = "Saisie par l’usager"
    measure_record(
        access=access, kind=MeasureKind.HEIGHT, effective_at=_at(today - timedelta(days=400), 8), value=Decimal(165),
        source_label=label,
    )  # fmt: skip
    for month in range(12, -1, -1):
        day = today - timedelta(days=30 * month + 2)
        weight = Decimal("68.4") - Decimal("0.25") * (12 - month) + Decimal((month * 7) % 5) / 10
        measure_record(access=access, kind=MeasureKind.WEIGHT, effective_at=_at(day, 7, 45), value=weight,
                       source_label=label)  # fmt: skip
    for week in range(8, -1, -1):
        day = today - timedelta(days=7 * week + 1)
        systolic, diastolic = 128 - week % 4 * 2 + (week % 3), 82 - week % 3
        measure_record(
            access=access, kind=MeasureKind.BLOOD_PRESSURE, effective_at=_at(day, 8, 10), value=Decimal(systolic),
            value_secondary=Decimal(diastolic), source_label=label,
        )  # fmt: skip
    for days, value, moment in ((20, "0.94", "a-jeun"), (13, "1.32", "apres-repas"), (6, "0.97", "a-jeun")):
        measure_record(
            access=access, kind=MeasureKind.GLUCOSE, effective_at=_at(today - timedelta(days=days), 7, 30),
            value=Decimal(value), unit="g/L", glucose_moment=moment, source_label=label,
        )  # fmt: skip
    measure_record(
        access=access, kind=MeasureKind.TEMPERATURE, effective_at=_at(today - timedelta(days=45), 21),
        value=Decimal("38.6"), source_label=label,
    )  # fmt: skip


def _documents(access: CitizenAccess, doctor: User | None, today: date) -> None:
    professional = citizen_access(doctor, access.citizen) if doctor is not None else None
    if professional is None:  # the doctor is not in the care team: the citizen's own documents only
        professional = access
        doctor_label = "Médecin généraliste"
        author = {}
    else:
        doctor_label = professional_label(doctor)
        author = {"author_kind": AuthorKind.PROFESSIONAL, "author_label": doctor_label,
                  "source_label": doctor.professional.practice_place or "Espace professionnel"}  # fmt: skip
    document_add(
        access=professional,
        upload=_pdf("Compte rendu de consultation", [f"Consultation du {today - timedelta(days=62):%d/%m/%Y}.",
                    "Bilan annuel. Tension artérielle à surveiller ; automesure conseillée.",
                    f"{doctor_label}"]),
        title="Compte rendu de consultation — bilan annuel",
        type_code="11488-4",
        act_date=today - timedelta(days=62),
        **author,
    )  # fmt: skip
    document_add(
        access=professional,
        upload=_pdf("Ordonnance", ["Amlodipine 5 mg : 1 comprimé le matin pendant 3 mois.", doctor_label]),
        title="Ordonnance — traitement de l’hypertension",
        type_code="57833-6",
        act_date=today - timedelta(days=62),
        **author,
    )
    document_add(
        access=professional,
        upload=_pdf("Résultats d'analyses", ["Glycémie à jeun : 0,95 g/L", "Cholestérol LDL : 1,28 g/L",
                                             "Laboratoire de biologie médicale des Carmes"]),
        title="Bilan sanguin",
        type_code="11502-2",
        act_date=today - timedelta(days=70),
        **author,
    )  # fmt: skip
    document_add(
        access=access,
        upload=_pdf("Certificat", ["Certificat d'aptitude à la pratique de la course à pied en compétition."]),
        title="Certificat médical de sport",
        type_code="11488-4",
        act_date=today - timedelta(days=200),
    )
    document_add(
        access=access,
        upload=_pdf("Consultation psychologue", ["Compte rendu de suivi psychologique (document personnel)."]),
        title="Suivi psychologique",
        type_code="11488-4",
        act_date=today - timedelta(days=120),
        hidden=True,
    )


def _profile(access: CitizenAccess, today: date) -> None:
    profile_entry_add(access=access, section=ProfileSection.ALLERGIES, label="Pénicilline",
                      note="Urticaire généralisée en 2009.")  # fmt: skip
    profile_entry_add(access=access, section=ProfileSection.CONDITIONS, label="Hypertension artérielle",
                      start_date=today - timedelta(days=62))  # fmt: skip
    profile_entry_add(access=access, section=ProfileSection.TREATMENTS, label="Amlodipine 5 mg, 1 comprimé le matin",
                      start_date=today - timedelta(days=62))  # fmt: skip
    profile_entry_add(access=access, section=ProfileSection.FAMILY_HISTORY, label="Diabète de type 2 (père)")
    immunization_record(access=access, vaccine_code="J07CA02", occurrence_date=date(2009, 5, 14), dose_number=None,
                        performer="Dr Lefebvre")  # fmt: skip
    immunization_record(access=access, vaccine_code="J07BB02", occurrence_date=today - timedelta(days=40),
                        lot_number="FLU2026-118", performer="Pharmacie du Capitole")  # fmt: skip


def dossier_demo_create(*, citizen: Citizen, doctor: User | None = None) -> bool:
    """Fill ``citizen``'s dossier when it is empty; returns whether anything was added."""
    if citizen.user is None:
        return False
    access = citizen_access(citizen.user, citizen)
    if access is None:
        return False
    if any(model.objects.filter(citizen=citizen).exists() for model in (Document, Measure, ProfileEntry)):
        return False
    today = timezone.localdate()
    _measures(access, today)
    _documents(access, doctor, today)
    _profile(access, today)
    return True


def demo_dossiers_create() -> None:
    """The dossier of Camille Durand, the demo citizen, with documents from her médecin traitant."""
    from mes.comptes.demo import DEMO_DOMAIN

    citizen = Citizen.objects.filter(user__email=f"camille.durand@{DEMO_DOMAIN}").first()
    doctor = User.objects.filter(email=f"sophie.lefebvre@{DEMO_DOMAIN}").first()
    if citizen is not None:
        with transaction.atomic():
            dossier_demo_create(citizen=citizen, doctor=doctor)
