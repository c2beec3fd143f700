"""The convention: its PDF and SHA-256, its generation inside the decision's transaction, the electronic signature
(who may sign, the hash checked, the record kept), and the editor's pages with their access rules."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from oauth2_provider.models import Application
from pypdf import PdfReader

from catalogue.models import DATA_EXCHANGE_SENTENCES, DataExchange
from mes.acces.models import AppHabilitation, JournalEntry
from referencement.models import Convention, Decision, DecisionResult, State
from referencement.services.convention import convention_generate, convention_sign
from tests.referencement.conftest import dossier_in_state
from tests.referencement.test_publication import GRANTED, granted_dossier, sign, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dossier(ready_product, editor, administrator):
    return granted_dossier(ready_product, editor, administrator)


def pdf_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


# --- The document --------------------------------------------------------------------------------------------------


def test_the_convention_is_a_pdf_stored_with_its_sha256_and_says_what_was_granted(dossier, settings):
    convention = dossier.convention
    content = convention.document.read()

    assert content.startswith(b"%PDF-")
    assert convention.sha256 == hashlib.sha256(content).hexdigest()
    assert re.fullmatch(rf"referencement/{dossier.public_id}/convention-[0-9a-f]{{32}}\.pdf", convention.document.name)
    text = pdf_text(content)
    organisation = dossier.organisation
    for expected in [
        "Délégation au numérique en santé",
        organisation.name,
        f"SIRET {organisation.siret}",
        dossier.reference,
        "Suivi Tension",
        dossier.extract["product"]["reference"],
        f"référentiel {dossier.extract['referential']['version']}",
        dossier.extract_checksum,
        "Procédure : Avec échange de données",
        "Finalité : Soins",
        str(DATA_EXCHANGE_SENTENCES[DataExchange.MEASURES_READ]),
        "patient/Observation.rs",
        "patient/Observation.c",
        "RGPD",
        "HDS",
        "PGSSI-S",
        "Convergence",
        "version majeure",
        "audits",
        "suspension",
        "informer clairement les usagers",
        f"durée de {settings.REFERENCEMENT_CONVENTION_YEARS} ans",
    ]:
        assert expected in text, expected
    # Asked for but not granted: not in the convention.
    assert str(DATA_EXCHANGE_SENTENCES[DataExchange.DOCUMENTS_WRITE]) not in text
    assert "patient/DocumentReference.c" not in text


def test_the_duration_follows_the_setting(ready_product, editor, administrator, settings):
    settings.REFERENCEMENT_CONVENTION_YEARS = 5
    dossier = granted_dossier(ready_product, editor, administrator)
    assert "durée de 5 ans" in pdf_text(dossier.convention.document.read())


def test_a_simple_dossier_convention_says_no_data_is_exchanged(ready_product_simple, editor, administrator):
    dossier = granted_dossier(ready_product_simple, editor, administrator)
    text = pdf_text(dossier.convention.document.read())
    assert "sans échange de données" in text
    assert "patient/" not in text


def test_generation_needs_a_granting_decision(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.OPINION, editor=editor)
    with pytest.raises(ValidationError, match="décision accordant le référencement"):
        convention_generate(dossier=dossier)
    Decision.objects.create(dossier=dossier, result=DecisionResult.REFUSED, reasons="Non.", decided_by=administrator)
    with pytest.raises(ValidationError, match="décision accordant le référencement"):
        convention_generate(dossier=dossier)
    assert not Convention.objects.exists()


def test_generation_is_refused_before_the_decision(ready_product, editor):
    dossier = dossier_in_state(ready_product, State.COMMISSION, editor=editor)
    with pytest.raises(ValidationError, match="qu’après la décision"):
        convention_generate(dossier=dossier)


def test_generation_refuses_an_oid_already_held_by_another_production_app(ready_product, editor, administrator):
    from tests.api.conftest import make_application

    dossier = dossier_in_state(ready_product, State.OPINION, editor=editor)
    Decision.objects.create(
        dossier=dossier,
        result=DecisionResult.GRANTED,
        granted_exchanges=GRANTED,
        reasons="Oui.",
        decided_by=administrator,
    )
    AppHabilitation.objects.create(
        application=make_application(habilitation=False), name="Autre", editor_name="Autre", oid=dossier.oid
    )
    with pytest.raises(ValidationError, match="déjà celui d’une autre application"):
        convention_generate(dossier=dossier)


def test_a_rolled_back_decision_leaves_no_convention_file(ready_product, editor, administrator, settings):
    dossier = dossier_in_state(ready_product, State.OPINION, editor=editor)
    before = stored_files(settings)

    with pytest.raises(RuntimeError), transaction.atomic():
        Decision.objects.create(
            dossier=dossier,
            result=DecisionResult.GRANTED,
            granted_exchanges=GRANTED,
            reasons="Oui.",
            decided_by=administrator,
        )
        convention = convention_generate(dossier=dossier)
        assert convention.document.name in stored_files(settings)
        raise RuntimeError("la décision échoue après la convention")

    assert stored_files(settings) == before
    assert not Convention.objects.exists()


def test_a_new_generation_replaces_the_unsigned_document(dossier, settings, django_capture_on_commit_callbacks):
    first = dossier.convention
    with django_capture_on_commit_callbacks(execute=True):
        second = convention_generate(dossier=dossier)
    assert second.pk == first.pk
    assert second.document.name != first.document.name
    files = stored_files(settings)
    assert second.document.name in files and first.document.name not in files


def test_a_signed_convention_is_never_replaced(dossier, editor):
    sign(dossier, editor)
    with pytest.raises(ValidationError):
        convention_generate(dossier=dossier)


# --- The signature -------------------------------------------------------------------------------------------------


def test_the_signature_records_who_when_in_which_capacity_and_the_hash(dossier, editor):
    signed = sign(dossier, editor)

    convention = Convention.objects.get(dossier=dossier)
    assert convention.signed_by == editor
    assert (convention.signer_name, convention.signer_capacity) == ("Claire Martin", "Présidente")
    assert convention.signed_at is not None
    assert convention.signed_sha256 == convention.sha256
    assert signed.state == State.PUBLISHED
    row = JournalEntry.objects.get(action="referencement.dossier.sign_convention")
    assert row.actor_id == editor.pk
    assert row.details["sha256"] == convention.sha256
    assert row.details["signataire"] == "Claire Martin"
    event = dossier.events.get(transition="sign_convention")
    assert "Claire Martin" in event.comment


def test_a_hash_other_than_the_documents_is_refused(dossier, editor):
    with pytest.raises(ValidationError) as refused:
        convention_sign(
            actor=editor,
            dossier=dossier,
            signer_name="Claire Martin",
            signer_capacity="Présidente",
            sha256_seen="0" * 64,
        )
    assert "sha256_seen" in refused.value.error_dict
    dossier.refresh_from_db()
    assert dossier.state == State.CONVENTION
    assert not dossier.convention.is_signed


def test_a_document_altered_in_the_storage_is_not_signed(dossier, editor):
    convention = dossier.convention
    with convention.document.storage.open(convention.document.name, "wb") as stream:
        stream.write(b"%PDF-1.4 autre chose")
    with pytest.raises(ValidationError) as refused:
        sign(dossier, editor)
    assert "sha256_seen" in refused.value.error_dict


def test_a_member_who_is_not_a_manager_may_not_sign(dossier, colleague):
    with pytest.raises(ValidationError, match="Seul un responsable"):
        sign(dossier, colleague)
    assert not Convention.objects.get(dossier=dossier).is_signed


def test_an_editor_of_another_organisation_may_not_sign(dossier, outsider):
    with pytest.raises(PermissionDenied):
        sign(dossier, outsider)


def test_name_and_capacity_are_required(dossier, editor):
    with pytest.raises(ValidationError) as refused:
        convention_sign(
            actor=editor, dossier=dossier, signer_name="  ", signer_capacity="", sha256_seen=dossier.convention.sha256
        )
    assert set(refused.value.error_dict) == {"signer_name", "signer_capacity"}


def test_a_convention_is_signed_once(dossier, editor):
    sign(dossier, editor)
    with pytest.raises(ValidationError):
        sign(dossier, editor)


# --- The editor's page ---------------------------------------------------------------------------------------------


def url(dossier, name="referencement_convention"):
    return reverse(name, args=[dossier.public_id])


def test_the_page_shows_the_text_the_hash_and_the_signature_form(client, dossier, editor):
    client.force_login(editor)
    page = client.get(url(dossier))
    html = page.content.decode()
    assert page.status_code == 200
    assert dossier.convention.sha256 in html
    assert f'name="sha256_seen" value="{dossier.convention.sha256}"' in html
    assert f"je l’accepte au nom de {dossier.organisation.name}" in html
    assert "Article 4 — Obligations de l’éditeur" in html
    assert url(dossier, "referencement_convention_pdf") in html


def test_a_member_reads_why_they_cannot_sign(client, dossier, colleague, editor):
    client.force_login(colleague)
    html = client.get(url(dossier)).content.decode()
    assert "Seul un responsable" in html
    assert 'name="signer_name"' not in html
    assert editor.display_name in html  # who can


def test_signing_on_the_page_publishes_and_shows_the_secret_once(client, dossier, editor):
    client.force_login(editor)
    response = client.post(
        url(dossier),
        {
            "signer_name": "Claire Martin",
            "signer_capacity": "Présidente",
            "accept": "on",
            "sha256_seen": dossier.convention.sha256,
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED
    application = Application.objects.get(pk=dossier.habilitation.application_id)
    assert application.client_id in html
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', html).group(1)
    assert check_password(secret, application.client_secret)
    assert "Signée le" in html and "Claire Martin" in html
    # Shown once: the page read again has the client_id, never the secret.
    again = client.get(url(dossier)).content.decode()
    assert application.client_id in again
    assert secret not in again and 'id="client-secret"' not in again


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("accept", "", "Cochez la case pour accepter la convention."),
        ("signer_name", "", "Indiquez vos prénom et nom."),
        ("signer_capacity", "", "Indiquez votre qualité"),
        ("sha256_seen", "f" * 64, "rechargez la page"),
        ("sha256_seen", "pas-une-empreinte", "L’empreinte transmise est invalide."),
    ],
    ids=["not-accepted", "no-name", "no-capacity", "other-hash", "malformed-hash"],
)
def test_a_refused_signature_says_why_field_by_field(client, dossier, editor, field, value, message):
    client.force_login(editor)
    data = {
        "signer_name": "Claire Martin",
        "signer_capacity": "Présidente",
        "accept": "on",
        "sha256_seen": dossier.convention.sha256,
    }
    data[field] = value
    response = client.post(url(dossier), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    dossier.refresh_from_db()
    assert dossier.state == State.CONVENTION


def test_a_member_posting_the_form_is_refused(client, dossier, colleague):
    client.force_login(colleague)
    response = client.post(
        url(dossier),
        {
            "signer_name": "Basile",
            "signer_capacity": "Membre",
            "accept": "on",
            "sha256_seen": dossier.convention.sha256,
        },
    )
    assert response.status_code == 403
    assert "Seul un responsable" in response.content.decode()
    assert not Convention.objects.get(dossier=dossier).is_signed


def test_the_pdf_download_is_the_document_hashed(client, dossier, editor):
    client.force_login(editor)
    response = client.get(url(dossier, "referencement_convention_pdf"))
    content = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert hashlib.sha256(content).hexdigest() == dossier.convention.sha256


def test_generating_a_new_secret_on_the_page(client, dossier, editor, colleague):
    sign(dossier, editor)
    client.force_login(editor)
    response = client.post(url(dossier, "referencement_client_secret"))
    assert response.status_code == 200
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', response.content.decode()).group(1)
    dossier.refresh_from_db()
    assert check_password(secret, Application.objects.get(pk=dossier.habilitation.application_id).client_secret)
    client.force_login(colleague)
    assert client.post(url(dossier, "referencement_client_secret")).status_code == 403


# --- Authorization -------------------------------------------------------------------------------------------------

ROUTES = ["referencement_convention", "referencement_convention_pdf"]


@pytest.mark.parametrize("name", ROUTES, ids=ROUTES)
def test_anonymous_users_sign_in_first(client, dossier, name):
    response = client.get(url(dossier, name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")


@pytest.mark.parametrize("name", [*ROUTES, "referencement_client_secret"], ids=[*ROUTES, "secret"])
@pytest.mark.parametrize("persona", ["citizen", "professional", "commission", "admin"], ids=str)
def test_other_roles_are_refused(client, dossier, persona_users, name, persona):
    client.force_login(persona_users[persona])
    method = client.post if name == "referencement_client_secret" else client.get
    assert method(url(dossier, name)).status_code == 403


@pytest.mark.parametrize("name", [*ROUTES, "referencement_client_secret"], ids=[*ROUTES, "secret"])
def test_another_organisations_editor_gets_a_404(client, dossier, outsider, name):
    client.force_login(outsider)
    method = client.post if name == "referencement_client_secret" else client.get
    assert method(url(dossier, name)).status_code == 404


def test_a_dossier_without_convention_has_no_convention_page(client, ready_product, editor):
    dossier = dossier_in_state(ready_product, State.COMMISSION, editor=editor)
    client.force_login(editor)
    assert client.get(url(dossier)).status_code == 404
