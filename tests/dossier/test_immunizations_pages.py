"""The vaccinations' pages: list, add, edit, delete; read-only entries from apps; who may reach them."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dossier.models import Immunization
from mes.acces.models import JournalEntry
from tests.dossier.profile_helpers import act_for, make_app_immunization, make_immunization

pytestmark = pytest.mark.django_db

LIST = "/dossier/profil/vaccinations/"
ADD = "/dossier/profil/vaccinations/ajouter/"
OTHER_ROLES = ["professional", "editor", "commission", "admin"]


def _edit_url(immunization) -> str:
    return f"/dossier/profil/vaccinations/{immunization.public_id}/modifier/"


def _delete_url(immunization) -> str:
    return f"/dossier/profil/vaccinations/{immunization.public_id}/supprimer/"


def _valid(**overrides) -> dict:
    return {
        "vaccine_code": "J07BD52",
        "occurrence_date": "2021-09-01",
        "dose_number": "2",
        "lot_number": "AB1234",
        "performer": "Dr Martin",
    } | overrides


def test_urls_are_named():
    assert reverse("immunization_list") == LIST
    assert reverse("immunization_add") == ADD


def test_list_shows_the_vaccinations_with_their_source(client, access, citizen):
    make_immunization(access, vaccine_code="J07BC01", occurrence_date=date(2001, 5, 4), lot_number="HB-77")
    make_app_immunization(access)
    client.force_login(citizen.user)

    response = client.get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Hépatite B" in page and "04/05/2001" in page and "HB-77" in page and "Dr Martin" in page
    assert "Grippe saisonnière, vaccin inactivé" in page and "Pharmacie du Centre" in page
    assert "Saisie par l’usager" in page and "Carnet de vaccination (service référencé)" in page
    assert "2 vaccinations enregistrées" in page
    # The app's vaccination is read-only, and the page says why.
    assert "Lecture seule" in page and "en lecture seule" in page
    app_row = Immunization.objects.get(source_kind="app")
    assert _edit_url(app_row) not in page and _delete_url(app_row) not in page
    own = Immunization.objects.get(source_kind="citizen")
    assert _edit_url(own) in page and _delete_url(own) in page


def test_an_empty_list_says_so(client, citizen):
    client.force_login(citizen.user)

    page = client.get(LIST).content.decode()

    assert "Aucune vaccination renseignée." in page
    assert ADD in page


def test_list_never_shows_another_citizen_vaccinations(client, access, other_access, citizen):
    make_immunization(other_access, vaccine_code="J07BL01")
    make_immunization(access, vaccine_code="J07BG01")
    client.force_login(citizen.user)

    page = client.get(LIST).content.decode()

    assert "Rage" in page and "Fièvre jaune" not in page


def test_list_costs_the_same_queries_for_2_or_40_vaccinations(client, access, citizen):
    client.force_login(citizen.user)
    make_immunization(access)
    make_app_immunization(access)
    client.get(LIST)
    with CaptureQueriesContext(connection) as small:
        client.get(LIST)
    for year in range(1990, 2028 - 10):
        make_immunization(access, occurrence_date=date(year, 1, 1))
    with CaptureQueriesContext(connection) as large:
        assert client.get(LIST).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_add_form_offers_the_referential_grouped(client, citizen):
    client.force_login(citizen.user)

    page = client.get(ADD).content.decode()

    assert '<optgroup label="Nourrissons et enfants">' in page
    assert '<option value="J07BD52">Rougeole, oreillons, rubéole (ROR) — M-M-RVaxPro, Priorix</option>' in page
    assert f'max="{timezone.localdate().isoformat()}"' in page


def test_add_records_the_vaccination(client, citizen):
    client.force_login(citizen.user)

    response = client.post(ADD, _valid(occurrence_date="01/09/2021"))

    assert response.status_code == 302 and response["Location"] == LIST
    immunization = Immunization.objects.get()
    assert (immunization.citizen, immunization.vaccine_code, immunization.occurrence_date) == (
        citizen,
        "J07BD52",
        date(2021, 9, 1),
    )
    assert (immunization.dose_number, immunization.lot_number, immunization.performer) == (2, "AB1234", "Dr Martin")
    assert immunization.resource["resourceType"] == "Immunization"
    assert JournalEntry.objects.filter(action="dossier.vaccination.ajoutee", citizen=citizen).count() == 1
    page = client.get(LIST).content.decode()
    assert "La vaccination « Rougeole, oreillons, rubéole (ROR) » du 01/09/2021 a été ajoutée." in page


def test_only_the_vaccine_and_the_date_are_required(client, citizen):
    client.force_login(citizen.user)

    response = client.post(ADD, _valid(dose_number="", lot_number="", performer=""))

    assert response.status_code == 302
    immunization = Immunization.objects.get()
    assert (immunization.dose_number, immunization.lot_number, immunization.performer) == (None, "", "")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"vaccine_code": ""}, "vaccine_code", "Choisissez le vaccin dans la liste."),
        ({"vaccine_code": "J07XX99"}, "vaccine_code", "Choisissez un vaccin de la liste."),
        ({"occurrence_date": ""}, "occurrence_date", "Indiquez la date de la vaccination."),
        ({"occurrence_date": "2021-13-01"}, "occurrence_date", "Saisissez une date valide"),
        ({"occurrence_date": "1979-12-31"}, "occurrence_date", "antérieure à la date de naissance (17/05/1980)"),
        ({"dose_number": "0"}, "dose_number", "Le numéro de dose doit être un nombre entier de 1 à 10."),
        ({"dose_number": "11"}, "dose_number", "Le numéro de dose doit être un nombre entier de 1 à 10."),
        ({"dose_number": "deux"}, "dose_number", "Le numéro de dose doit être un nombre entier de 1 à 10."),
        ({"lot_number": "L" * 41}, "lot_number", "Le numéro de lot ne peut pas dépasser 40 caractères."),
        ({"lot_number": "AB<12>"}, "lot_number", "lettres sans accent"),
        ({"performer": "P" * 201}, "performer", "ne peut pas dépasser 200 caractères"),
    ],
)
def test_add_refuses_bad_input_with_a_clear_french_message(client, citizen, data, field, message):
    client.force_login(citizen.user)

    response = client.post(ADD, _valid(**data))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert message in " ".join(response.context["form"].errors[field])
    assert not Immunization.objects.exists()


def test_a_future_date_is_refused(client, citizen):
    client.force_login(citizen.user)
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = client.post(ADD, _valid(occurrence_date=tomorrow.isoformat()))

    assert response.status_code == 400
    assert "La date de vaccination ne peut pas être dans le futur." in response.content.decode()
    assert not Immunization.objects.exists()


def test_edit_is_prefilled_and_saves(client, access, citizen):
    immunization = make_immunization(access)
    client.force_login(citizen.user)

    page = client.get(_edit_url(immunization)).content.decode()
    assert '<option value="J07BD52" selected>' in page and 'value="2020-03-02"' in page and 'value="AB1234"' in page

    response = client.post(_edit_url(immunization), _valid(vaccine_code="J07BK01", dose_number="1"))

    assert response.status_code == 302
    immunization.refresh_from_db()
    assert (immunization.vaccine_code, immunization.vaccine_label, immunization.dose_number) == (
        "J07BK01",
        "Varicelle",
        1,
    )
    assert JournalEntry.objects.filter(action="dossier.vaccination.modifiee").count() == 1


def test_delete_asks_for_confirmation_then_deletes(client, access, citizen):
    immunization = make_immunization(access)
    client.force_login(citizen.user)

    page = client.get(_delete_url(immunization)).content.decode()
    assert "Supprimer cette vaccination ?" in page and "Rougeole, oreillons, rubéole (ROR)" in page
    assert Immunization.objects.exists()

    response = client.post(_delete_url(immunization))

    assert response.status_code == 302 and response["Location"] == LIST
    assert not Immunization.objects.exists()
    assert JournalEntry.objects.filter(action="dossier.vaccination.supprimee").count() == 1


def test_an_app_vaccination_cannot_be_edited_or_deleted_from_the_pages(client, access, citizen):
    immunization = make_app_immunization(access)
    client.force_login(citizen.user)

    for url in (_edit_url(immunization), _delete_url(immunization)):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Vaccination en lecture seule" in response.content.decode()
        assert client.post(url, _valid()).status_code == 403, url

    immunization.refresh_from_db()
    assert immunization.vaccine_code == "J07BB02"
    assert not JournalEntry.objects.filter(
        action__in=["dossier.vaccination.modifiee", "dossier.vaccination.supprimee"]
    ).exists()


def test_another_citizen_gets_404_on_every_vaccination_route_and_changes_nothing(client, access, other_citizen):
    immunization = make_immunization(access)
    from_app = make_app_immunization(access)
    client.force_login(other_citizen.user)

    for target in (immunization, from_app):
        for url in (_edit_url(target), _delete_url(target)):
            assert client.get(url).status_code == 404, url
            assert client.post(url, _valid(vaccine_code="J07AN01")).status_code == 404, url

    assert Immunization.objects.count() == 2
    immunization.refresh_from_db()
    assert immunization.vaccine_code == "J07BD52"
    assert not JournalEntry.objects.filter(actor=other_citizen.user, action__startswith="dossier.").exists()


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_on_every_route(client, persona_users, access, role):
    immunization = make_immunization(access)
    client.force_login(persona_users[role])

    for url in (LIST, ADD, _edit_url(immunization), _delete_url(immunization)):
        assert client.get(url).status_code == 403, url
    for url in (ADD, _edit_url(immunization), _delete_url(immunization)):
        assert client.post(url, _valid(vaccine_code="J07AN01")).status_code == 403, url
    assert Immunization.objects.get().vaccine_code == "J07BD52"


def test_visitors_are_sent_to_sign_in(client, access):
    immunization = make_immunization(access)
    login = reverse("account_login")

    for url in (LIST, ADD, _edit_url(immunization), _delete_url(immunization)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    for url in (ADD, _edit_url(immunization), _delete_url(immunization)):
        response = client.post(url, _valid())
        assert response.status_code == 302 and response["Location"].startswith(login), url
    assert Immunization.objects.count() == 1


def test_a_parent_records_a_vaccination_for_the_child(client, citizen, child, access):
    make_immunization(access, vaccine_code="J07BK03")
    client.force_login(citizen.user)
    act_for(client, child)
    day = child.birth_date + timedelta(days=60)

    response = client.post(ADD, _valid(vaccine_code="J07CA09", occurrence_date=day.isoformat(), dose_number="1"))

    assert response.status_code == 302
    immunization = Immunization.objects.get(vaccine_code="J07CA09")
    assert immunization.citizen == child and immunization.resource["patient"]["identifier"]["value"] == child.ins
    page = client.get(LIST).content.decode()
    assert "Hexavalent" in page and "Zona" not in page
    assert "représentant légal" in page


def test_back_in_their_own_space_the_parent_cannot_reach_the_child_vaccination(client, citizen, child_access):
    immunization = make_immunization(child_access, occurrence_date=child_access.citizen.birth_date + timedelta(days=60))
    client.force_login(citizen.user)

    assert client.get(_edit_url(immunization)).status_code == 404
    assert client.post(_delete_url(immunization)).status_code == 404
    assert Immunization.objects.filter(pk=immunization.pk).exists()
