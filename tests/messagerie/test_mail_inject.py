"""``manage.py mail_inject``: an administrator stores a .eml through the same ingestion as SMTP."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from messagerie.models import Message
from tests.messagerie.mime_samples import DOCTOR, mail, patient_address, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def inject(*arguments: str) -> str:
    out = StringIO()
    call_command("mail_inject", *arguments, stdout=out)
    return out.getvalue()


def test_inject_stores_the_message_once(citizen, tmp_path):
    path = tmp_path / "message.eml"
    to = patient_address(citizen)
    path.write_bytes(mail(to=to, attachments=[("cr.pdf", "application/pdf", pdf_bytes())]))

    output = inject(str(path), "--to", to)
    message = Message.objects.get(citizen=citizen)
    assert message.from_address == DOCTOR  # the envelope sender taken from the From header
    assert f"Message enregistré pour {citizen.mss_address}" in output and "1 pièce(s) jointe(s)" in output
    assert str(message.conversation.public_id) in output

    assert "Message déjà reçu" in inject(str(path), "--to", to, "--from", DOCTOR)
    assert Message.objects.count() == 1


def test_inject_to_several_recipients(citizen, other_citizen, tmp_path):
    path = tmp_path / "message.eml"
    path.write_bytes(mail(to=[patient_address(citizen), patient_address(other_citizen)]))
    output = inject(str(path), "--to", patient_address(citizen), "--to", patient_address(other_citizen))
    assert output.count("Message enregistré") == 2
    assert set(Message.objects.values_list("citizen", flat=True)) == {citizen.pk, other_citizen.pk}


@pytest.mark.parametrize(
    ("recipient", "sender", "expected"),
    [
        ("012345678901234@patient.mssante.fr", None, "(550 5.1.1) : L’adresse 012345678901234@patient.mssante.fr ne"),
        ("{patient}", "pirate@gmail.com", "(550 5.7.1) : L’expéditeur pirate@gmail.com n’est pas"),
        ("dr@medecin.mssante.fr", None, "(550 5.7.1) : Le domaine medecin.mssante.fr n’est pas servi ici"),
    ],
)
def test_refusals_are_explained_in_french_and_fail(citizen, tmp_path, recipient, sender, expected):
    path = tmp_path / "message.eml"
    path.write_bytes(mail(to=patient_address(citizen)))
    arguments = [str(path), "--to", recipient.format(patient=patient_address(citizen))]
    if sender:
        arguments += ["--from", sender]
    with pytest.raises(CommandError, match="Message refusé") as refused:
        inject(*arguments)
    assert expected in str(refused.value)
    assert not Message.objects.exists()


def test_unreadable_files_and_messages_are_explained(citizen, tmp_path, settings):
    with pytest.raises(CommandError, match="ne peut pas être lu"):
        inject(str(tmp_path / "absent.eml"), "--to", patient_address(citizen))

    no_from = tmp_path / "sans-expediteur.eml"
    no_from.write_bytes(b"Subject: Test\r\n\r\nTexte\r\n")
    with pytest.raises(CommandError, match="indiquez l’expéditeur de l’enveloppe avec --from"):
        inject(str(no_from), "--to", patient_address(citizen))

    garbage = tmp_path / "illisible.eml"
    garbage.write_bytes(b"ceci n'est pas un message\r\n")
    with pytest.raises(CommandError, match=r"\(554 5\.6\.0\) : Le message est illisible"):
        inject(str(garbage), "--to", patient_address(citizen), "--from", DOCTOR)

    settings.MSS_MAX_MESSAGE_BYTES = 64 * 1024
    big = tmp_path / "gros.eml"
    big.write_bytes(mail(to=patient_address(citizen), attachments=[("a.pdf", "application/pdf", b"0" * 70_000)]))
    with pytest.raises(CommandError, match="au-delà de la taille maximale"):
        inject(str(big), "--to", patient_address(citizen))
    assert not Message.objects.exists()
