"""The messagerie end to end: a professional's mail server delivers a message over real SMTP (the ingress on a
loopback port, spoken to with smtplib); the citizen reads it in Chromium — nothing executable of the mail reaches
the page or a download — replies (the reply leaves through Django's SMTP backend to a local SMTP server), saves the
attached report into the dossier and adds the attached appointment to the agenda, then finds both there. The
inbox, the thread and each action page are audited by axe-core, and the inbox and the thread at 320 px.

The ingress's threads and the live server use their own database connections: the messages they store are
committed, as the live server needs (transactional database), and the ingress closes its connections when it stops,
before the test database is flushed."""

import re
import smtplib
from contextlib import suppress
from email import message_from_bytes, policy
from email.utils import getaddresses

import pytest

from agenda.models import Event, Task
from dossier.models import Document
from mes.acces.models import JournalEntry
from messagerie.models import Attachment, Direction, Message
from messagerie.services.attachments import ATTACHMENT_AGENDA, ATTACHMENT_SAVED
from messagerie.services.inbox import MESSAGE_READ
from messagerie.services.ingest import MESSAGE_RECEIVED
from messagerie.services.outgoing import MESSAGE_SENT
from messagerie.smtp import ingress_controller
from tests.browser.helpers import MOBILE, sign_in
from tests.messagerie.actions_support import SinkHandler, ics_bytes, smtp_sink
from tests.messagerie.mime_samples import DOCTOR, DOCTOR_NAME, EXE_BYTES, mail, patient_address, pdf_bytes

pytestmark = pytest.mark.browser

INBOX = "/messagerie/"
THREAD_URL = re.compile(r".*/messagerie/[0-9a-f-]{36}/$")
SUBJECT = "Compte rendu et prochain rendez-vous"
MESSAGE_ID = "<cr-cardio-2026@medecin.mssante.fr>"
REPORT = "compte-rendu-cardiologie.pdf"
APPOINTMENT = "rendez-vous.ics"
# A Windows program given a PDF's name and type: kept, but never offered for download.
DISGUISED = "resultats.pdf"

# Everything here that could run in a browser sets a flag on ``window`` or writes to the console: the page must end
# up with no flag and a clean console. The addresses are the site's own (relative), so that nothing leaves the machine
# even if a filter let one through.
HOSTILE_HTML = """<html><head><title>Titre caché</title><script>window.__mailHead = true</script></head>
<body onload="window.__mailOnload = true">
<p onclick="window.__mailOnclick = true">Bonjour Madame, <b>voici le compte rendu de votre consultation</b>.</p>
<script>window.__mailScript = true; console.error("script du message exécuté")</script>
<img src="/introuvable.gif" onerror="window.__mailOnerror = true; console.error('onerror exécuté')" alt="pixel">
<svg onload="window.__mailSvg = true"><script>window.__mailSvgScript = true</script></svg>
<iframe srcdoc="&lt;script&gt;parent.__mailFrame = true&lt;/script&gt;"></iframe>
<a href="javascript:window.__mailLink = true">Voir le document</a>
<p>Votre prochain rendez-vous est joint à ce message.</p>
</body></html>"""
MAIL_FLAGS = [
    "__mailHead",
    "__mailOnload",
    "__mailOnclick",
    "__mailScript",
    "__mailOnerror",
    "__mailSvg",
    "__mailSvgScript",
    "__mailFrame",
    "__mailLink",
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def outbound(settings):
    """A real SMTP server on loopback behind Django's SMTP backend: the citizen's replies and the notifications
    leave the platform as they do in production, and arrive here."""
    handler = SinkHandler()
    controller = smtp_sink(handler)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.fixture
def ingress(transactional_db, outbound, _media):
    """The MSS operator's SMTP ingress on a free loopback port, started after the settings it reads and stopped
    (closing its threads' database connections) before the database is flushed."""
    controller = ingress_controller(host="127.0.0.1", port=0)
    controller.start()
    yield controller
    controller.stop()


def deliver(ingress, citizen) -> None:
    """A professional's MSSanté server delivers the message: text and hostile HTML, a real PDF, an appointment and
    a disguised program."""
    raw = mail(
        to=patient_address(citizen),
        subject=SUBJECT,
        text="Bonjour Madame,\n\nVoici le compte rendu de votre consultation.\n\nDr Jeanne Martin",
        html=HOSTILE_HTML,
        message_id=MESSAGE_ID,
        attachments=[
            (REPORT, "application/pdf", pdf_bytes("Compte rendu de consultation de cardiologie")),
            (APPOINTMENT, "text/calendar", ics_bytes()),
            (DISGUISED, "application/pdf", EXE_BYTES),
        ],
    )
    client = smtplib.SMTP(ingress.hostname, ingress.port, timeout=30)
    try:
        client.ehlo("mta.medecin.mssante.fr")
        assert client.mail(DOCTOR) == (250, b"2.1.0 Sender OK")
        assert client.rcpt(patient_address(citizen)) == (250, b"2.1.5 Recipient OK")
        code, reply = client.data(raw)
        assert code == 250 and reply.startswith(b"2.0.0 Ok: queued as "), reply
    finally:
        with suppress(smtplib.SMTPServerDisconnected):
            client.quit()


def nav_messagerie(page):
    return page.locator(f".fr-nav__link[href='{INBOX}']")


def assert_nothing_of_the_mail_runs(page) -> None:
    body = page.locator(".mes-message__body").first
    assert "voici le compte rendu de votre consultation" in body.inner_text()
    # The formatting survives, as text structure only.
    assert body.locator("b").inner_text() == "voici le compte rendu de votre consultation"
    for selector in ("script", "img", "svg", "iframe", "object", "embed", "form", "style"):
        assert body.locator(selector).count() == 0, f"<{selector}> du message présent dans la page"
    handlers = page.evaluate(
        """() => [...document.querySelectorAll("*")].flatMap(element => [...element.attributes]
                .filter(attribute => attribute.name.startsWith("on")).map(attribute => attribute.name))"""
    )
    assert handlers == [], handlers
    assert page.locator("a[href^='javascript:' i]").count() == 0
    assert not page.evaluate("[...document.scripts].some(script => script.textContent.includes('__mail'))")
    ran = page.evaluate("flags => flags.filter(flag => window[flag] !== undefined)", MAIL_FLAGS)
    assert ran == [], f"Code du message exécuté : {ran}"
    assert not page.console_errors, page.console_errors


def test_a_professionals_mail_reaches_the_inbox_and_the_citizen_acts_on_it(page, citizen, ingress, outbound, audit):
    deliver(ingress, citizen)
    # The citizen is told by e-mail, at her personal address, without any health content.
    notices = [item for item in outbound.received if item.rcpt_tos == [citizen.user.email]]
    assert len(notices) == 1
    notice = message_from_bytes(notices[0].content, policy=policy.default)
    notice_text = f"{notice['Subject']}\n{notice.get_body(preferencelist=('plain',)).get_content()}"
    assert "Nouveau message" in notice_text
    for health in ("cardio", "compte rendu", "Martin", "rendez-vous.ics", SUBJECT):
        assert health.lower() not in notice_text.lower(), health

    sign_in(page, citizen.user.email)
    page.goto("/")
    link = nav_messagerie(page)
    assert link.locator(".fr-badge").inner_text().strip() == "1"
    assert link.locator(".fr-sr-only").inner_text().strip() == ": 1 message non lu"

    # The inbox: the conversation, unread, from the doctor, with attachments.
    with page.expect_navigation():
        link.click()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Messagerie de santé"
    row = page.locator("#conversations li").filter(has_text=SUBJECT)
    assert row.count() == 1
    assert DOCTOR_NAME in row.inner_text()
    assert row.locator(".fr-badge").text_content().strip() == "1 non lu"
    assert row.get_by_text("Contient des pièces jointes").count() == 1
    audit(page, "messagerie-boite-bureau")

    # The thread: read, so the badge is gone; the HTML is text only, nothing of it runs.
    row.get_by_role("link", name=SUBJECT).click()
    page.wait_for_url(THREAD_URL)
    thread_url = page.url
    assert page.get_by_role("heading", level=1).inner_text().strip() == SUBJECT
    assert nav_messagerie(page).locator(".fr-badge").count() == 0
    assert "non lu" not in nav_messagerie(page).inner_text()
    assert_nothing_of_the_mail_runs(page)
    assert page.get_by_role("heading", name=f"Message de {DOCTOR_NAME}").is_visible()
    audit(page, "messagerie-conversation-bureau")

    # The disguised program is kept, said to be blocked, and offered nowhere; the others download as attachments,
    # with the type found in their bytes and the dossier's safe serving headers.
    blocked = page.locator(".mes-attachment--blocked")
    assert blocked.count() == 1 and DISGUISED in blocked.inner_text()
    assert "Pièce jointe bloquée par sécurité" in blocked.inner_text()
    assert blocked.locator("a").count() == 0
    downloads = page.locator("a[href^='/messagerie/pieces/'][download]")
    assert downloads.count() == 2
    served = {}
    for href in [downloads.nth(number).get_attribute("href") for number in range(downloads.count())]:
        response = page.request.get(href)
        assert response.status == 200
        headers = response.headers
        assert headers["content-disposition"].startswith("attachment;")
        assert headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in headers["content-security-policy"]
        assert not response.body().startswith(b"MZ")
        served[headers["content-type"].split(";")[0]] = response.body()
    assert sorted(served) == ["application/pdf", "text/calendar"]
    assert served["application/pdf"].startswith(b"%PDF-")
    hidden = Attachment.objects.get(citizen=citizen, filename=DISGUISED)
    assert hidden.blocked_reason
    assert page.request.get(f"/messagerie/pieces/{hidden.public_id}/").status == 404

    # Reply: the form, then the reply in the thread, sent through SMTP with the threading headers.
    page.get_by_role("link", name=re.compile(r"^Répondre à ")).click()
    page.wait_for_url("**/repondre/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == f"Répondre à {DOCTOR_NAME}"
    audit(page, "messagerie-repondre-bureau")
    page.get_by_label(re.compile(r"^Votre message")).fill("Bonjour Docteur,\nMerci, je serai présente.\nCamille")
    page.get_by_role("button", name="Envoyer la réponse").click()
    page.wait_for_url(thread_url)
    assert page.get_by_text(f"Votre message a été envoyé à {DOCTOR_NAME}.").is_visible()
    sent_article = page.locator("article.mes-message--sent")
    assert sent_article.count() == 1
    assert "Merci, je serai présente." in sent_article.inner_text()
    assert sent_article.locator("dt:text-is('Envoi') + dd").inner_text().strip() == "Envoyé"
    replies = [item for item in outbound.received if item.rcpt_tos == [DOCTOR]]
    assert len(replies) == 1
    sent = message_from_bytes(replies[0].content, policy=policy.default)
    assert [address for _name, address in getaddresses([sent["To"]])] == [DOCTOR]
    assert [address for _name, address in getaddresses([sent["From"]])] == [citizen.mss_address]
    assert replies[0].mail_from == citizen.mss_address
    assert sent["In-Reply-To"] == MESSAGE_ID
    assert MESSAGE_ID in sent["References"]
    assert sent["Subject"] == f"RE : {SUBJECT}"
    assert "Merci, je serai présente." in sent.get_body(preferencelist=("plain",)).get_content()
    outbound_row = Message.objects.get(citizen=citizen, direction=Direction.OUTBOUND)
    assert sent["Message-ID"] == outbound_row.message_id

    # Save the report into the dossier, with the type the form asks for; then find it there.
    page.get_by_role("link", name=re.compile(r"^Enregistrer dans mon dossier")).click()
    page.wait_for_url("**/enregistrer/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == f"Enregistrer « {REPORT} » dans mon dossier"
    audit(page, "messagerie-enregistrer-bureau")
    page.get_by_label(re.compile(r"^Titre du document")).fill("Compte rendu de cardiologie")
    page.get_by_label(re.compile(r"^Type de document")).select_option(label="Compte rendu de consultation")
    assert page.get_by_label(re.compile(r"^Date de l’acte")).input_value() == "2026-03-02"
    page.get_by_role("button", name="Enregistrer dans mon dossier").click()
    page.wait_for_url(thread_url)
    assert page.get_by_text("« Compte rendu de cardiologie » a été enregistré dans votre dossier médical").is_visible()
    assert page.get_by_role("link", name=re.compile(r"^Enregistré dans votre dossier")).is_visible()
    page.goto("/dossier/documents/")
    assert page.locator("#documents h3").all_inner_texts() == ["Compte rendu de cardiologie"]
    document = Document.objects.get(citizen=citizen)
    assert (document.type_code, document.format) == ("11488-4", "pdf")

    # Add the attached appointment (and its task) to the agenda: the preview, then the confirmation.
    page.goto(thread_url)
    page.get_by_role("link", name=re.compile(r"^Ajouter à mon agenda")).click()
    page.wait_for_url("**/agenda/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == f"Ajouter « {APPOINTMENT} » à mon agenda"
    preview = page.get_by_role("list", name="Éléments à ajouter")
    assert preview.get_by_role("heading").all_inner_texts() == [
        "Consultation de cardiologie",
        "Faire la prise de sang avant la consultation",
    ]
    assert "mardi 12 mars 2030, de 09:30 à 10:00" in preview.inner_text()
    audit(page, "messagerie-agenda-bureau")
    assert not Event.objects.filter(citizen=citizen).exists()
    page.get_by_role("button", name="Ajouter à mon agenda").click()
    page.wait_for_url(thread_url)
    assert page.get_by_text("Import terminé : 2 éléments ajoutés.").is_visible()
    added = page.locator(".mes-attachment").filter(has_text=APPOINTMENT)
    assert re.search(r"Ajouté à votre agenda le \d{1,2} \w+ \d{4}", added.inner_text())
    assert page.get_by_role("link", name=re.compile(r"^Ajouter à mon agenda")).count() == 0
    page.goto("/agenda/jour/2030-03-12/")
    assert page.get_by_role("heading", level=1).inner_text().strip().lower() == "mardi 12 mars 2030"
    assert page.get_by_role("link", name="Consultation de cardiologie").is_visible()
    assert "09:30" in page.locator(".mes-agenda-item").filter(has_text="Consultation de cardiologie").inner_text()
    assert Task.objects.filter(citizen=citizen, title="Faire la prise de sang avant la consultation").exists()

    # Everything is in the journal.
    actions = set(JournalEntry.objects.filter(citizen=citizen).values_list("action", flat=True))
    assert {MESSAGE_RECEIVED, MESSAGE_READ, MESSAGE_SENT, ATTACHMENT_SAVED, ATTACHMENT_AGENDA} <= actions

    # The thread as it now stands (two messages, saved and added attachments) still fits a 320 px screen.
    page.set_viewport_size(MOBILE)
    page.goto(thread_url)
    audit(page, "messagerie-conversation-apres-actions-320")


def test_the_inbox_and_the_thread_fit_a_small_screen(new_page, citizen, ingress, audit):
    deliver(ingress, citizen)
    page = new_page(MOBILE)
    sign_in(page, citizen.user.email)
    page.goto(INBOX)
    assert page.locator("#conversations li").filter(has_text=SUBJECT).count() == 1
    audit(page, "messagerie-boite-320")
    page.get_by_role("link", name=SUBJECT).click()
    page.wait_for_url(THREAD_URL)
    assert_nothing_of_the_mail_runs(page)
    audit(page, "messagerie-conversation-320")
