"""The profil médical's pages: the five sections, adding, editing and deleting an entry, and who may reach them."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dossier.models import ProfileEntry, ProfileSection
from mes.acces.models import JournalEntry
from tests.dossier.profile_helpers import act_for, make_entry

pytestmark = pytest.mark.django_db

OVERVIEW = "/dossier/profil/"
OTHER_ROLES = ["professional", "editor", "commission", "admin"]


def _add_url(section: str) -> str:
    return f"/dossier/profil/{section}/ajouter/"


def _edit_url(entry) -> str:
    return f"/dossier/profil/entrees/{entry.public_id}/modifier/"


def _delete_url(entry) -> str:
    return f"/dossier/profil/entrees/{entry.public_id}/supprimer/"


def _valid(**overrides) -> dict:
    return {"label": "Allergie aux acariens", "start_date": "2015-04-01", "end_date": "", "note": "Rhinite"} | overrides


def test_urls_are_in_french_and_named():
    assert reverse("profile_overview") == OVERVIEW
    assert reverse("profile_entry_add", args=["allergies"]) == _add_url("allergies")


def test_overview_shows_the_five_sections_with_their_entries(client, citizen):
    make_entry(citizen, section="allergies", label="Pénicilline", start_date=date(2010, 1, 1), note="Urticaire\ngéant")
    make_entry(citizen, section="traitements", label="Lévothyrox 75 µg", start_date=date(2019, 3, 4))
    client.force_login(citizen.user)

    response = client.get(OVERVIEW)

    assert response.status_code == 200
    page = response.content.decode()
    for section in ProfileSection:
        assert str(section.label) in page
    assert "Pénicilline" in page and "Depuis le 1er janvier 2010" in page
    assert "Urticaire<br>géant" in page
    assert "Lévothyrox 75 µg" in page and "Depuis le 4 mars 2019" in page
    # Three sections have nothing yet.
    assert page.count("Aucune information renseignée.") == 3
    assert reverse("profile_synthesis") in page
    assert reverse("immunization_list") in page
    assert _edit_url(ProfileEntry.objects.get(label="Pénicilline")) in page


def test_overview_never_shows_another_citizen_entries(client, citizen, other_citizen):
    make_entry(other_citizen, label="Allergie de Bruno")
    make_entry(citizen, label="Allergie de Camille")
    client.force_login(citizen.user)

    page = client.get(OVERVIEW).content.decode()

    assert "Allergie de Camille" in page
    assert "Allergie de Bruno" not in page


def test_overview_escapes_what_people_typed(client, citizen):
    make_entry(citizen, label="<script>alert(1)</script>", note="<b>gras</b>")
    client.force_login(citizen.user)

    page = client.get(OVERVIEW).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;gras&lt;/b&gt;" in page


def test_overview_costs_the_same_queries_for_3_or_60_entries(client, citizen):
    client.force_login(citizen.user)
    for index in range(3):
        make_entry(citizen, label=f"Entrée {index}")
    client.get(OVERVIEW)  # warm the session and the site configuration
    with CaptureQueriesContext(connection) as small:
        assert client.get(OVERVIEW).status_code == 200
    for index in range(57):
        make_entry(citizen, section=ProfileSection.values[index % 5], label=f"Autre {index}")
    with CaptureQueriesContext(connection) as large:
        assert client.get(OVERVIEW).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("section", ProfileSection.values)
def test_add_form_for_each_section(client, citizen, section):
    client.force_login(citizen.user)

    response = client.get(_add_url(section))

    assert response.status_code == 200
    page = response.content.decode()
    assert str(ProfileSection(section).label) in page
    assert 'name="label"' in page and 'name="start_date"' in page and 'name="end_date"' in page
    assert 'name="note"' in page and "csrfmiddlewaretoken" in page


def test_unknown_section_answers_404(client, citizen):
    client.force_login(citizen.user)

    assert client.get(_add_url("vaccins-imaginaires")).status_code == 404
    assert client.post(_add_url("vaccins-imaginaires"), _valid()).status_code == 404
    assert not ProfileEntry.objects.exists()


def test_add_an_entry_records_it_and_writes_the_journal(client, citizen):
    client.force_login(citizen.user)

    response = client.post(_add_url("allergies"), _valid(start_date="01/04/2015"))

    assert response.status_code == 302 and response["Location"] == OVERVIEW
    entry = ProfileEntry.objects.get()
    assert (entry.citizen, entry.section, entry.label) == (citizen, "allergies", "Allergie aux acariens")
    assert (entry.start_date, entry.end_date, entry.note) == (date(2015, 4, 1), None, "Rhinite")
    row = JournalEntry.objects.get(action="dossier.profil.ajoute")
    assert (row.actor, row.citizen, row.object_id, row.details) == (
        citizen.user,
        citizen,
        str(entry.public_id),
        {"section": "allergies"},
    )
    assert (
        "« Allergie aux acariens » a été ajouté à la rubrique « Allergies »." in client.get(OVERVIEW).content.decode()
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"label": ""}, "label", "Indiquez un libellé."),
        ({"label": "   "}, "label", "Indiquez un libellé."),
        ({"label": "x" * 201}, "label", "Le libellé ne peut pas dépasser 200 caractères (201 saisis)."),
        ({"start_date": "2099-01-01"}, "start_date", "La date de début ne peut pas être dans le futur."),
        ({"start_date": "31/02/2020"}, "start_date", "Saisissez une date valide, au format JJ/MM/AAAA"),
        ({"start_date": "hier"}, "start_date", "Saisissez une date valide"),
        (
            {"start_date": "2020-05-01", "end_date": "2020-04-30"},
            "end_date",
            "La date de fin doit être égale ou postérieure à la date de début.",
        ),
        (
            {"start_date": "1970-01-01"},
            "start_date",
            "La date de début ne peut pas être antérieure à la date de naissance (17/05/1980).",
        ),
        ({"note": "n" * 2001}, "note", "La note ne peut pas dépasser 2\u00a0000 caractères (2\u00a0001 saisis)."),
    ],
)
def test_add_refuses_bad_input_with_a_clear_french_message(client, citizen, data, field, message):
    client.force_login(citizen.user)

    response = client.post(_add_url("allergies"), _valid(**data))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert "Le formulaire contient des erreurs" in response.content.decode()
    assert not ProfileEntry.objects.exists()
    assert not JournalEntry.objects.filter(action__startswith="dossier.profil").exists()


def test_family_history_may_start_before_birth(client, citizen):
    client.force_login(citizen.user)

    response = client.post(_add_url("antecedents-familiaux"), _valid(label="Diabète (père)", start_date="1975-06-01"))

    assert response.status_code == 302
    assert ProfileEntry.objects.get().start_date == date(1975, 6, 1)


def test_a_treatment_may_end_in_the_future(client, citizen):
    client.force_login(citizen.user)
    end = timezone.localdate() + timedelta(days=30)

    response = client.post(_add_url("traitements"), _valid(label="Antibiotique", end_date=end.isoformat()))

    assert response.status_code == 302
    assert ProfileEntry.objects.get().end_date == end


def test_edit_form_is_prefilled_and_saves_the_changes(client, citizen):
    entry = make_entry(citizen, label="Pénicilline", start_date=date(2010, 1, 1), note="Ancienne note")
    client.force_login(citizen.user)

    page = client.get(_edit_url(entry)).content.decode()
    assert 'value="Pénicilline"' in page and 'value="2010-01-01"' in page and "Ancienne note" in page

    response = client.post(_edit_url(entry), _valid(label="Pénicilline G", start_date="2011-02-03", note=""))

    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.label, entry.start_date, entry.note, entry.section) == (
        "Pénicilline G",
        date(2011, 2, 3),
        "",
        "allergies",
    )
    assert JournalEntry.objects.filter(action="dossier.profil.modifie", object_id=str(entry.public_id)).count() == 1


def test_edit_refuses_bad_input_and_keeps_the_entry(client, citizen):
    entry = make_entry(citizen, label="Pénicilline")
    client.force_login(citizen.user)

    response = client.post(_edit_url(entry), _valid(label=""))

    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.label == "Pénicilline"


def test_delete_asks_for_confirmation_then_deletes(client, citizen):
    entry = make_entry(citizen, label="Pénicilline")
    client.force_login(citizen.user)

    page = client.get(_delete_url(entry)).content.decode()
    assert "Supprimer « Pénicilline » ?" in page and "Supprimer définitivement" in page
    assert ProfileEntry.objects.filter(pk=entry.pk).exists()

    response = client.post(_delete_url(entry))

    assert response.status_code == 302 and response["Location"] == OVERVIEW
    assert not ProfileEntry.objects.filter(pk=entry.pk).exists()
    row = JournalEntry.objects.get(action="dossier.profil.supprime")
    assert (row.citizen, row.object_id, row.details) == (citizen, str(entry.public_id), {"section": "allergies"})


def test_another_citizen_gets_404_on_every_entry_route_and_changes_nothing(client, citizen, other_citizen):
    entry = make_entry(citizen, label="Pénicilline", note="Note de Camille")
    client.force_login(other_citizen.user)

    for url in (_edit_url(entry), _delete_url(entry)):
        assert client.get(url).status_code == 404, url
        assert client.post(url, _valid(label="Piraté")).status_code == 404, url

    entry.refresh_from_db()
    assert (entry.label, entry.note) == ("Pénicilline", "Note de Camille")
    assert not JournalEntry.objects.filter(action__startswith="dossier.profil").exists()


def test_unknown_entry_answers_404(client, citizen):
    client.force_login(citizen.user)

    assert client.get("/dossier/profil/entrees/00000000-0000-0000-0000-000000000000/modifier/").status_code == 404


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_on_every_route(client, persona_users, citizen, role):
    entry = make_entry(citizen)
    client.force_login(persona_users[role])

    for url in (OVERVIEW, _add_url("allergies"), _edit_url(entry), _delete_url(entry)):
        assert client.get(url).status_code == 403, url
    for url in (_add_url("allergies"), _edit_url(entry), _delete_url(entry)):
        assert client.post(url, _valid(label="Piraté")).status_code == 403, url
    entry.refresh_from_db()
    assert entry.label == "Pénicilline"
    assert ProfileEntry.objects.count() == 1


def test_visitors_are_sent_to_sign_in(client, citizen):
    entry = make_entry(citizen)
    login = reverse("account_login")

    for url in (OVERVIEW, _add_url("allergies"), _edit_url(entry), _delete_url(entry)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    for url in (_add_url("allergies"), _edit_url(entry), _delete_url(entry)):
        response = client.post(url, _valid())
        assert response.status_code == 302 and response["Location"].startswith(login), url
    assert ProfileEntry.objects.count() == 1


def test_a_parent_fills_in_the_child_profile(client, citizen, child):
    make_entry(citizen, label="Allergie de Camille")
    client.force_login(citizen.user)
    act_for(client, child)

    response = client.post(_add_url("allergies"), _valid(label="Arachide", start_date=""))

    assert response.status_code == 302
    entry = ProfileEntry.objects.get(label="Arachide")
    assert entry.citizen == child
    page = client.get(OVERVIEW).content.decode()
    assert "Arachide" in page and "Allergie de Camille" not in page
    assert "vous agissez en tant que représentant légal" in page
    row = JournalEntry.objects.get(action="dossier.profil.ajoute")
    assert (row.actor, row.citizen) == (citizen.user, child)
    # A date before the child's birth is refused.
    response = client.post(_add_url("maladies"), _valid(label="Otite", start_date="2000-01-01"))
    assert response.status_code == 400
    assert "antérieure à la date de naissance" in response.content.decode()


def test_back_in_their_own_space_the_parent_cannot_reach_the_child_entry(client, citizen, child):
    entry = make_entry(child, label="Arachide")
    client.force_login(citizen.user)

    # Own space (no child chosen): the child's entry is not in it.
    assert client.get(_edit_url(entry)).status_code == 404
    assert client.post(_delete_url(entry)).status_code == 404
    assert "Arachide" not in client.get(OVERVIEW).content.decode()
    assert ProfileEntry.objects.filter(pk=entry.pk).exists()
