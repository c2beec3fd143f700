"""The inbox of the demo citizen: what professionals of her care would have sent her by MSSanté.

Every message is a real MIME message that goes through ``message_ingest``, exactly like mail received by SMTP
(sender and recipient checks, parsing, attachment inspection, journal, notification). Each has a fixed Message-ID,
so running the demo again stores nothing new. Dates are counted from today: the appointment of the attached
iCalendar file is always ahead.
"""

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from mes.comptes.models import Citizen
from messagerie.services.ingest import message_ingest

PARIS = ZoneInfo("Europe/Paris")

GP = ("Dr Sophie Lefebvre", "sophie.lefebvre@medecin.mssante.fr")
CARDIOLOGY = ("Secrétariat de cardiologie — CHU de Nantes", "secretariat.cardiologie@chu-nantes.mssante.fr")
LABORATORY = ("Laboratoire de biologie médicale des Carmes", "resultats@lbm-carmes.mssante.fr")
PHARMACIST = ("Thomas Girard, pharmacien", "thomas.girard@pharmacien.mssante.fr")


def _pdf(title: str, lines: list[str]) -> bytes:
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
    return buffer.getvalue()


def _ics(*, uid: str, summary: str, starts_at: datetime, minutes: int, location: str, description: str) -> bytes:
    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CHU de Nantes//Prise de rendez-vous//FR",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{utc(timezone.now())}",
        f"DTSTART:{utc(starts_at)}",
        f"DTEND:{utc(starts_at + timedelta(minutes=minutes))}",
        f"SUMMARY:{escape(summary)}",
        f"LOCATION:{escape(location)}",
        f"DESCRIPTION:{escape(description)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass
class _Mail:
    key: str  # makes the Message-ID, fixed for a citizen
    sender: tuple[str, str]
    subject: str
    text: str
    at: datetime
    html: str = ""
    answers: str = ""  # the key of the message it replies to
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # (name, MIME type, content)


def _message_id(citizen: Citizen, key: str, sender: tuple[str, str]) -> str:
    return f"<demo.{key}.{citizen.public_id.hex}@{sender[1].rpartition('@')[2]}>"


def _raw(citizen: Citizen, mail: _Mail, recipient: str, ids: dict[str, str]) -> bytes:
    message = EmailMessage()
    message["From"] = f'"{mail.sender[0]}" <{mail.sender[1]}>'
    message["To"] = recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.at)
    message["Message-ID"] = ids[mail.key]
    if mail.answers:
        message["In-Reply-To"] = ids[mail.answers]
        message["References"] = ids[mail.answers]
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    for name, content_type, content in mail.attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=policy.SMTP)  # as it would come by SMTP, CRLF line ends


def _mails(citizen: Citizen, today: date) -> list[_Mail]:
    def at(days: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today - timedelta(days=days), time(hour, minute), tzinfo=PARIS)

    first_name = citizen.display_first_name
    consultation = today - timedelta(days=12)
    # Three weeks ahead, on a weekday (a consultation is not given on a Saturday or a Sunday).
    day = today + timedelta(days=21)
    day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
    appointment = datetime.combine(day, time(10, 30), tzinfo=PARIS)
    signature_gp = "Dr Sophie Lefebvre\nMédecin généraliste — Cabinet médical des Carmes, Toulouse"
    return [
        _Mail(
            key="compte-rendu",
            sender=GP,
            subject=f"Compte rendu de votre consultation du {consultation:%d/%m/%Y}",
            at=at(12, 18, 40),
            text=(
                f"Bonjour {first_name},\n\n"
                "Vous trouverez ci-joint le compte rendu de notre consultation de ce jour. La tension artérielle "
                "était un peu élevée : je vous propose une automesure à domicile avant de décider d’un traitement.\n\n"
                f"Bien cordialement,\n{signature_gp}"
            ),
            attachments=[
                (
                    "compte-rendu-consultation.pdf",
                    "application/pdf",
                    _pdf(
                        "Compte rendu de consultation",
                        [
                            f"Patiente : {citizen}",
                            f"Consultation du {consultation:%d/%m/%Y}.",
                            "Motif : bilan annuel.",
                            "Tension artérielle : 146/92 mmHg au repos.",
                            "Conduite à tenir : automesure tensionnelle pendant 3 jours, puis nouvelle consultation.",
                            "Dr Sophie Lefebvre, médecin généraliste",
                        ],
                    ),
                )
            ],
        ),
        _Mail(
            key="compte-rendu-complement",
            sender=GP,
            subject=f"RE : Compte rendu de votre consultation du {consultation:%d/%m/%Y}",
            at=at(11, 8, 15),
            answers="compte-rendu",
            text=(
                f"Bonjour {first_name},\n\n"
                "Pour l’automesure : 3 mesures le matin avant le petit déjeuner et 3 mesures le soir avant le "
                "coucher, assise, au calme, pendant 3 jours. Vous pouvez les noter dans votre espace (Dossier "
                "médical → Mesures de santé) : je les verrai lors de notre prochain rendez-vous.\n\n"
                f"Bien cordialement,\n{signature_gp}"
            ),
        ),
        _Mail(
            key="rendez-vous-cardiologie",
            sender=CARDIOLOGY,
            subject=f"Votre rendez-vous en cardiologie le {appointment:%d/%m/%Y} à 10 h 30",
            at=at(5, 14, 5),
            text=(
                "Madame,\n\n"
                f"Votre rendez-vous avec le Dr Karim Haddad, cardiologue, est fixé au {appointment:%d/%m/%Y} à "
                "10 h 30, consultations de cardiologie, Hôpital Nord Laënnec, niveau 1.\n"
                "Merci de vous présenter 15 minutes avant avec votre carte Vitale, vos derniers résultats "
                "d’analyses et la liste de vos traitements.\n\n"
                "Le fichier joint permet d’ajouter ce rendez-vous à votre agenda.\n\n"
                "Le secrétariat de cardiologie\nCHU de Nantes — 02 40 00 00 00"
            ),
            html=(
                "<p>Madame,</p>"
                f"<p>Votre rendez-vous avec le <strong>Dr Karim Haddad</strong>, cardiologue, est fixé au "
                f"<strong>{appointment:%d/%m/%Y} à 10 h 30</strong>, consultations de cardiologie, Hôpital Nord "
                "Laënnec, niveau 1.</p>"
                "<p>Merci de vous présenter 15 minutes avant avec :</p>"
                "<ul><li>votre carte Vitale ;</li><li>vos derniers résultats d’analyses ;</li>"
                "<li>la liste de vos traitements.</li></ul>"
                "<p>Le fichier joint permet d’ajouter ce rendez-vous à votre agenda.</p>"
                "<p>Le secrétariat de cardiologie<br>CHU de Nantes — 02 40 00 00 00</p>"
            ),
            attachments=[
                (
                    "rendez-vous-cardiologie.ics",
                    "text/calendar",
                    _ics(
                        uid=f"rdv-cardiologie-{citizen.public_id.hex}@chu-nantes.mssante.fr",
                        summary="Consultation de cardiologie — Dr Karim Haddad",
                        starts_at=appointment,
                        minutes=30,
                        location="CHU de Nantes, Hôpital Nord Laënnec, consultations de cardiologie (niveau 1)",
                        description="Apporter la carte Vitale, les derniers résultats d’analyses et la liste des "
                        "traitements.",
                    ),
                )
            ],
        ),
        _Mail(
            key="resultats-analyses",
            sender=LABORATORY,
            subject="Vos résultats d’analyses sont disponibles",
            at=at(2, 16, 30),
            text=(
                "Madame,\n\n"
                "Les résultats de votre prélèvement sanguin sont joints à ce message. Ils ont également été "
                "transmis à votre médecin traitant, le Dr Sophie Lefebvre.\n\n"
                "Le laboratoire de biologie médicale des Carmes, Toulouse"
            ),
            attachments=[
                (
                    "resultats-bilan-sanguin.pdf",
                    "application/pdf",
                    _pdf(
                        "Résultats d’analyses de biologie médicale",
                        [
                            f"Patiente : {citizen}",
                            f"Prélèvement du {today - timedelta(days=3):%d/%m/%Y}, à jeun.",
                            "Glycémie à jeun : 0,95 g/L (0,70 – 1,10)",
                            "Cholestérol LDL : 1,28 g/L (< 1,60)",
                            "Créatinine : 7,2 mg/L (5,0 – 9,0)",
                            "Kaliémie : 4,1 mmol/L (3,5 – 5,0)",
                            "Biologiste : Dr Anne Mercier",
                        ],
                    ),
                )
            ],
        ),
        _Mail(
            key="vaccination-grippe",
            sender=PHARMACIST,
            subject="Vaccination contre la grippe saisonnière",
            at=at(1, 10, 20),
            text=(
                f"Bonjour {first_name},\n\n"
                "La campagne de vaccination contre la grippe a commencé. Vous pouvez vous faire vacciner à la "
                "pharmacie, sans rendez-vous, du lundi au samedi de 9 h à 19 h.\n\n"
                "Thomas Girard\nPharmacie du Capitole, Toulouse"
            ),
        ),
    ]


def messagerie_demo_create(*, citizen: Citizen, today: date | None = None) -> int:
    """Deliver the demo messages to ``citizen``; returns how many were new (none when the demo ran before)."""
    recipient = f"{citizen.ins}@{settings.MSS_PATIENT_DOMAIN}"
    mails = _mails(citizen, today or timezone.localdate())
    ids = {mail.key: _message_id(citizen, mail.key, mail.sender) for mail in mails}
    created = 0
    for mail in mails:
        messages = message_ingest(
            raw=_raw(citizen, mail, recipient, ids),
            envelope_from=mail.sender[1],
            recipients=[recipient],
            received_at=mail.at + timedelta(minutes=1),
        )
        created += sum(1 for message in messages if message.newly_stored)
    return created


def messagerie_demos_create() -> None:
    """The inbox of Camille Durand, the demo citizen."""
    from mes.comptes.demo import DEMO_DOMAIN

    citizen = Citizen.objects.filter(user__email=f"camille.durand@{DEMO_DOMAIN}").first()
    if citizen is not None and citizen.has_space:
        with transaction.atomic():
            messagerie_demo_create(citizen=citizen)
