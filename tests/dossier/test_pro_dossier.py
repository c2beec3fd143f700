"""A patient's dossier seen by a professional: every route against every kind of access, hidden documents, the
professions' matrix, journal rows, and the professional's upload."""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from dossier.models import Document
from dossier.models.documents import AuthorKind
from mes.acces.models import AccessDelegation, CareTeamMember, EmergencyAccess, JournalEntry, ProfessionalBlock, Scope
from mes.acces.policy import citizen_access
from mes.acces.services.delegations import delegation_create, delegation_end, professional_label
from mes.comptes.models import Profession
from tests.dossier.documents_samples import make_document, pdf_bytes, upload
from tests.dossier.measures_support import record
from tests.dossier.profile_helpers import make_entry, make_immunization
from tests.factories import ProfessionalFactory

# Route name → the part of the space it belongs to.
ROUTES = {
    "pro_documents": Scope.DOCUMENTS,
    "pro_document_detail": Scope.DOCUMENTS,
    "pro_document_content": Scope.DOCUMENTS,
    "pro_document_add": Scope.DOCUMENTS,
    "pro_measures": Scope.MEASURES,
    "pro_measure_detail": Scope.MEASURES,
    "pro_profile": Scope.PROFILE,
    "pro_immunizations": Scope.IMMUNIZATIONS,
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dossier(citizen, access):
    """Camille's dossier: a stored PDF, a hidden document, an imaging report, a weight, an allergy, a vaccine."""
    from dossier.services.documents import document_add

    visible = document_add(
        access=access,
        upload=upload(pdf_bytes("Ordonnance")),
        title="Ordonnance du Dr Martin",
        type_code="57833-6",
        act_date=date(2025, 1, 10),
    )
    hidden = document_add(
        access=access,
        upload=upload(pdf_bytes("Consultation psychiatrique")),
        title="Consultation psychiatrique",
        type_code="11488-4",
        act_date=date(2025, 1, 12),
        hidden=True,
    )
    imaging = make_document(citizen, title="Radio du thorax", category="imagerie", type_code="18748-4")
    record(access, "poids", "72.5")
    make_entry(citizen, label="Allergie à la pénicilline")
    make_immunization(access)
    return {"visible": visible, "hidden": hidden, "imaging": imaging}


def url(name: str, citizen, document=None) -> str:
    args = [citizen.public_id]
    if name in ("pro_document_detail", "pro_document_content"):
        args.append(document.public_id)
    elif name == "pro_measure_detail":
        args.append("poids")
    return reverse(name, args=args)


def in_care_team(citizen, professional, *, treating=False):
    return CareTeamMember.objects.create(citizen=citizen, professional=professional.user, is_treating_doctor=treating)


def used_code(citizen, professional, scopes, duration=timedelta(days=1)) -> AccessDelegation:
    delegation, _code = delegation_create(
        access=citizen_access(citizen.user, citizen), scopes=list(scopes), duration=duration
    )
    delegation.professional, delegation.used_at = professional.user, timezone.now()
    delegation.save(update_fields=["professional", "used_at"])
    return delegation


def journal_rows() -> int:
    return JournalEntry.objects.count()


# --- Who may open the pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROUTES)
def test_visitors_sign_in_and_other_roles_are_refused(client, citizen, other_citizen, editor, dossier, name):
    path = url(name, citizen, dossier["visible"])
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    for user in (citizen.user, other_citizen.user, editor):
        client.force_login(user)
        assert client.get(path).status_code == 403
    assert not JournalEntry.objects.filter(action__startswith="acces.pro.").exists()


@pytest.mark.parametrize("name", ROUTES)
def test_a_professional_without_access_gets_a_journaled_404(client, professional, citizen, dossier, name):
    client.force_login(professional.user)
    response = client.get(url(name, citizen, dossier["visible"]))
    assert response.status_code == 404
    assert b"Ordonnance du Dr Martin" not in response.content
    refusal = JournalEntry.objects.filter(action="acces.refuse").get()
    assert (refusal.actor, refusal.citizen) == (professional.user, citizen)


@pytest.mark.parametrize("name", ROUTES)
def test_a_blocked_professional_gets_404_in_the_care_team_and_with_a_code(client, professional, citizen, dossier, name):
    in_care_team(citizen, professional, treating=True)
    used_code(citizen, professional, list(Scope.values))
    ProfessionalBlock.objects.create(citizen=citizen, professional=professional.user)
    client.force_login(professional.user)
    assert client.get(url(name, citizen, dossier["visible"])).status_code == 404


@pytest.mark.parametrize("name", ROUTES)
def test_every_page_answers_the_care_team_and_writes_one_journal_row(client, professional, citizen, dossier, name):
    in_care_team(citizen, professional)
    client.force_login(professional.user)
    before = journal_rows()
    response = client.get(url(name, citizen, dossier["visible"]))
    assert response.status_code == 200
    if name != "pro_document_content":
        html = response.content.decode()
        assert "Espace professionnel" in html and "Camille DURAND" in html
    assert journal_rows() == before + 1
    row = JournalEntry.objects.order_by("-seq").first()
    assert row.action.startswith("acces.pro.") and row.actor == professional.user and row.citizen == citizen
    assert row.details["acces"] == "care_team"


@pytest.mark.parametrize("granted", [Scope.DOCUMENTS, Scope.MEASURES, Scope.PROFILE, Scope.IMMUNIZATIONS])
def test_a_code_opens_its_parts_only(client, professional, citizen, dossier, granted):
    used_code(citizen, professional, [granted])
    client.force_login(professional.user)
    for name, scope in ROUTES.items():
        expected = 200 if scope == granted else 404
        assert client.get(url(name, citizen, dossier["visible"])).status_code == expected, name


@pytest.mark.parametrize("name", ROUTES)
def test_an_expired_code_opens_nothing(client, professional, citizen, dossier, name):
    delegation = used_code(citizen, professional, list(Scope.values), duration=timedelta(hours=1))
    client.force_login(professional.user)
    with mock.patch("django.utils.timezone.now", return_value=delegation.expires_at):
        assert client.get(url(name, citizen, dossier["visible"])).status_code == 404


@pytest.mark.parametrize("name", ROUTES)
def test_an_expired_emergency_access_opens_nothing(client, citizen, dossier, name):
    urgentist = ProfessionalFactory(emergency_role=True)
    EmergencyAccess.objects.create(
        citizen=citizen, professional=urgentist.user, reason="Détresse respiratoire", expires_at=timezone.now()
    )
    client.force_login(urgentist.user)
    assert client.get(url(name, citizen, dossier["visible"])).status_code == 404


def test_ending_a_code_refuses_the_very_next_request(client, professional, citizen, dossier):
    delegation = used_code(citizen, professional, [Scope.DOCUMENTS])
    client.force_login(professional.user)
    path = url("pro_document_detail", citizen, dossier["visible"])
    assert client.get(path).status_code == 200
    delegation_end(access=citizen_access(citizen.user, citizen), delegation=delegation)
    assert client.get(path).status_code == 404


# --- Hidden documents and the professions' matrix -------------------------------------------------------------


def test_hidden_documents_are_invisible_to_the_care_team(client, professional, citizen, dossier):
    in_care_team(citizen, professional)
    client.force_login(professional.user)
    listing = client.get(url("pro_documents", citizen))
    titles = [row["document"].title for row in listing.context["rows"]]
    assert titles == ["Ordonnance du Dr Martin", "Radio du thorax"]
    assert "Consultation psychiatrique" not in listing.content.decode()
    # Not found by search either, and not counted.
    search = client.get(url("pro_documents", citizen), {"q": "psychiatrique"})
    assert search.context["rows"] == []
    assert client.get(reverse("pro_patient", args=[citizen.public_id])).context["overview"].documents == 2
    for name in ("pro_document_detail", "pro_document_content"):
        response = client.get(url(name, citizen, dossier["hidden"]))
        assert response.status_code == 404
        assert b"psychiatrique" not in response.content
    assert JournalEntry.objects.filter(action="acces.refuse", actor=professional.user).count() == 2


def test_the_treating_doctor_sees_hidden_documents(client, professional, citizen, dossier):
    in_care_team(citizen, professional, treating=True)
    client.force_login(professional.user)
    listing = client.get(url("pro_documents", citizen))
    assert len(listing.context["rows"]) == 3
    detail = client.get(url("pro_document_detail", citizen, dossier["hidden"]))
    assert detail.status_code == 200
    assert "vous le voyez en tant que médecin traitant" in detail.content.decode()
    assert client.get(url("pro_document_content", citizen, dossier["hidden"])).status_code == 200


def test_an_emergency_access_does_not_show_hidden_documents(client, citizen, dossier):
    urgentist = ProfessionalFactory(emergency_role=True)
    EmergencyAccess.objects.create(
        citizen=citizen,
        professional=urgentist.user,
        reason="Détresse respiratoire",
        expires_at=timezone.now() + timedelta(hours=2),
    )
    client.force_login(urgentist.user)
    assert len(client.get(url("pro_documents", citizen)).context["rows"]) == 2
    assert client.get(url("pro_document_detail", citizen, dossier["hidden"])).status_code == 404


def test_a_pharmacist_does_not_see_imaging(client, citizen, dossier):
    pharmacist = ProfessionalFactory(profession=Profession.PHARMACIST)
    used_code(citizen, pharmacist, [Scope.DOCUMENTS])
    client.force_login(pharmacist.user)
    listing = client.get(url("pro_documents", citizen))
    assert [row["document"].title for row in listing.context["rows"]] == ["Ordonnance du Dr Martin"]
    categories = [value for value, _label in listing.context["form"].fields["categorie"].choices]
    assert "imagerie" not in categories
    # Asking for the category by hand is refused as a filter, and shows nothing of it.
    by_hand = client.get(url("pro_documents", citizen), {"categorie": "imagerie"})
    assert "Radio du thorax" not in by_hand.content.decode()
    assert [row["document"].title for row in by_hand.context["rows"]] == ["Ordonnance du Dr Martin"]
    assert client.get(url("pro_document_detail", citizen, dossier["imaging"])).status_code == 404
    assert client.get(reverse("pro_patient", args=[citizen.public_id])).context["overview"].documents == 1
    # The upload form offers only the types the profession may see.
    form = client.get(url("pro_document_add", citizen)).context["form"]
    offered = {code for _group, options in form.fields["type_code"].choices[1:] for code, _label in options}
    assert "57833-6" in offered and "18748-4" not in offered and "52040-3" not in offered


# --- Reading ---------------------------------------------------------------------------------------------------


def test_the_document_list_pages_with_a_cursor(client, professional, citizen):
    in_care_team(citizen, professional)
    for day in range(1, 24):
        make_document(citizen, title=f"Compte rendu {day:02d}", act_date=date(2024, 1, day))
    client.force_login(professional.user)
    first = client.get(url("pro_documents", citizen))
    assert len(first.context["rows"]) == 20 and first.context["older_url"]
    second = client.get(url("pro_documents", citizen) + first.context["older_url"])
    assert [row["document"].title for row in second.context["rows"]] == [
        "Compte rendu 03",
        "Compte rendu 02",
        "Compte rendu 01",
    ]
    assert client.get(url("pro_documents", citizen), {"curseur": "nimportequoi"}).status_code == 400


def test_the_file_is_shown_inline_or_downloaded_with_safe_headers(client, professional, citizen, dossier):
    in_care_team(citizen, professional)
    client.force_login(professional.user)
    path = url("pro_document_content", citizen, dossier["visible"])
    inline = client.get(path)
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["X-Content-Type-Options"] == "nosniff"
    assert b"".join(inline.streaming_content).startswith(b"%PDF")
    download = client.get(path, {"telecharger": "1"})
    assert download["Content-Disposition"].startswith("attachment")
    actions = list(
        JournalEntry.objects.filter(actor=professional.user, action__startswith="acces.pro.").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["acces.pro.document_affiche", "acces.pro.document_telecharge"]


def test_measures_profile_and_vaccinations_are_read_only(client, professional, citizen, dossier):
    in_care_team(citizen, professional)
    client.force_login(professional.user)
    overview = client.get(url("pro_measures", citizen)).content.decode()
    assert "72,5" in overview
    detail = client.get(url("pro_measure_detail", citizen)).content.decode()
    assert "72,5" in detail and "Ajouter une valeur" not in detail and "Supprimer" not in detail
    assert client.get(reverse("pro_measure_detail", args=[citizen.public_id, "inconnue"])).status_code == 404
    profile = client.get(url("pro_profile", citizen)).content.decode()
    assert "Allergie à la pénicilline" in profile and "Modifier" not in profile
    vaccines = client.get(url("pro_immunizations", citizen)).content.decode()
    assert "AB1234" in vaccines and "Modifier" not in vaccines


def test_nothing_of_another_space_leaks_through_the_ids(client, professional, citizen, other_citizen, dossier):
    in_care_team(citizen, professional, treating=True)
    foreign = make_document(other_citizen, title="Document de Bruno")
    client.force_login(professional.user)
    assert client.get(url("pro_document_detail", citizen, foreign)).status_code == 404
    assert client.get(url("pro_document_content", citizen, foreign)).status_code == 404


# --- Adding a document ------------------------------------------------------------------------------------------


def test_a_professional_adds_a_document_through_a_code(client, citizen, dossier):
    pharmacist = ProfessionalFactory(profession=Profession.PHARMACIST, practice_place="Pharmacie du Marché, Lyon")
    used_code(citizen, pharmacist, [Scope.DOCUMENTS])
    client.force_login(pharmacist.user)
    before = journal_rows()
    response = client.post(
        url("pro_document_add", citizen),
        {
            "file": upload(pdf_bytes("Dispensation"), name="dispensation.pdf"),
            "title": "Dispensation du 3 février",
            "type_code": "60593-1",
            "act_date": "2025-02-03",
        },
    )
    document = Document.objects.get(title="Dispensation du 3 février")
    assert response.status_code == 302
    assert response["Location"] == url("pro_document_detail", citizen, document)
    assert document.citizen == citizen and document.author_kind == AuthorKind.PROFESSIONAL
    assert document.author_label == professional_label(pharmacist.user)
    assert document.source_label == "Pharmacie du Marché, Lyon"
    assert document.author_user == pharmacist.user and not document.hidden_from_professionals
    assert journal_rows() == before + 1
    row = JournalEntry.objects.order_by("-seq").first()
    assert (row.action, row.actor, row.citizen) == ("dossier.document.ajoute", pharmacist.user, citizen)
    page = client.get(response["Location"]).content.decode()
    assert "a été ajouté au dossier de Camille DURAND" in page


def test_the_source_defaults_to_the_professional_space(client, professional, citizen):
    in_care_team(citizen, professional)
    client.force_login(professional.user)
    client.post(
        url("pro_document_add", citizen),
        {"file": upload(pdf_bytes()), "title": "", "type_code": "11488-4", "act_date": "2025-02-03"},
    )
    assert Document.objects.get().source_label == "Espace professionnel Mon espace santé"


def test_a_type_outside_the_profession_is_refused(client, citizen):
    pharmacist = ProfessionalFactory(profession=Profession.PHARMACIST)
    used_code(citizen, pharmacist, [Scope.DOCUMENTS])
    client.force_login(pharmacist.user)
    response = client.post(
        url("pro_document_add", citizen),
        {"file": upload(pdf_bytes()), "title": "Radio", "type_code": "18748-4", "act_date": "2025-02-03"},
    )
    assert response.status_code == 400
    assert "Choisissez un type de document dans la liste." in response.content.decode()
    assert not Document.objects.exists()


def test_a_fake_pdf_is_refused_with_the_reason(client, professional, citizen):
    in_care_team(citizen, professional)
    client.force_login(professional.user)
    response = client.post(
        url("pro_document_add", citizen),
        {
            "file": upload(b"<html><script>alert(1)</script></html>"),
            "title": "Faux",
            "type_code": "11488-4",
            "act_date": "2025-02-03",
        },
    )
    assert response.status_code == 400
    assert "Le document n’a pas été ajouté" in response.content.decode()
    assert not Document.objects.exists()


def test_an_upload_larger_than_the_limit_is_refused_before_reading_it(client, professional, citizen, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 1024
    in_care_team(citizen, professional)
    client.force_login(professional.user)
    response = client.post(
        url("pro_document_add", citizen),
        {"file": upload(b"%PDF-" + b"0" * 200_000), "type_code": "11488-4", "act_date": "2025-02-03"},
    )
    assert response.status_code == 413
    assert not Document.objects.exists()


def test_the_upload_checks_the_csrf_token(professional, citizen):
    from django.test import Client

    in_care_team(citizen, professional)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(professional.user)
    response = strict.post(
        url("pro_document_add", citizen),
        {"file": upload(pdf_bytes()), "type_code": "11488-4", "act_date": "2025-02-03"},
    )
    assert response.status_code == 403
    assert not Document.objects.exists()


def test_a_code_without_documents_cannot_add_one(client, professional, citizen):
    used_code(citizen, professional, [Scope.MEASURES])
    client.force_login(professional.user)
    response = client.post(
        url("pro_document_add", citizen),
        {"file": upload(pdf_bytes()), "type_code": "11488-4", "act_date": "2025-02-03"},
    )
    assert response.status_code == 404
    assert not Document.objects.exists()
