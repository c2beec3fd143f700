"""The services and selectors of the profile entries: rules, journal, scoping, one query for the five sections."""

from dataclasses import replace
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from dossier.models import ProfileEntry, ProfileSection
from dossier.selectors.profile import profile_entries, profile_sections
from dossier.services.profile import (
    profile_entry_add,
    profile_entry_delete,
    profile_entry_problems,
    profile_entry_update,
)
from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.acces.policy import NO_SCOPE
from tests.dossier.profile_helpers import make_entry

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 15)
BIRTH = date(1980, 5, 17)


def _problems(**fields) -> dict:
    values = {"section": "maladies", "label": "Asthme", "start_date": None, "end_date": None, "note": ""} | fields
    return profile_entry_problems(birth_date=BIRTH, today=TODAY, **values)


def test_a_good_entry_has_no_problem():
    assert _problems(start_date=date(2000, 1, 1), end_date=date(2030, 1, 1), note="n" * 2000, label="L" * 200) == {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"label": ""}, "label", "Indiquez un libellé."),
        ({"label": "L" * 201}, "label", "Le libellé ne peut pas dépasser 200 caractères (201 saisis)."),
        ({"label": "Deux\nlignes"}, "label", "Le libellé tient sur une ligne, sans caractère de contrôle."),
        ({"start_date": date(2025, 6, 16)}, "start_date", "La date de début ne peut pas être dans le futur."),
        (
            {"start_date": date(1980, 5, 16)},
            "start_date",
            "La date de début ne peut pas être antérieure à la date de naissance (17/05/1980).",
        ),
        (
            {"start_date": date(2020, 1, 2), "end_date": date(2020, 1, 1)},
            "end_date",
            "La date de fin doit être égale ou postérieure à la date de début.",
        ),
        (
            {"end_date": date(1975, 1, 1)},
            "end_date",
            "La date de fin ne peut pas être antérieure à la date de naissance",
        ),
        (
            {"section": "antecedents-familiaux", "start_date": date(1899, 12, 31)},
            "start_date",
            "Saisissez une date postérieure au 1er janvier 1900.",
        ),
        ({"note": "n" * 2001}, "note", "La note ne peut pas dépasser 2\u00a0000 caractères (2\u00a0001 saisis)."),
        ({"note": "bip\x07"}, "note", "La note ne peut pas contenir de caractère de contrôle."),
    ],
)
def test_each_rule_has_its_french_message(fields, field, message):
    assert message in _problems(**fields)[field]


def test_the_same_day_for_start_and_end_is_fine():
    assert _problems(start_date=date(2020, 1, 1), end_date=date(2020, 1, 1)) == {}


def test_a_note_keeps_its_line_breaks():
    assert _problems(note="Première ligne\r\nSeconde\tligne") == {}


def test_add_strips_and_journals(access, citizen):
    entry = profile_entry_add(access=access, section="allergies", label="  Pollen  ", note="  printemps \n")

    assert (entry.citizen, entry.label, entry.note) == (citizen, "Pollen", "printemps")
    row = JournalEntry.objects.get(action="dossier.profil.ajoute")
    assert (row.actor, row.citizen, row.object_type, row.object_id) == (
        citizen.user,
        citizen,
        "dossier.profileentry",
        str(entry.public_id),
    )
    # The journal says which section, never what was written in it.
    assert row.details == {"section": "allergies"}


def test_add_refuses_an_unknown_section_and_bad_values(access):
    with pytest.raises(ValidationError) as raised:
        profile_entry_add(access=access, section="vaccins", label="x")
    assert "section" in raised.value.message_dict
    with pytest.raises(ValidationError) as raised:
        profile_entry_add(access=access, section="allergies", label="", start_date=date(2099, 1, 1))
    assert set(raised.value.message_dict) == {"label", "start_date"}
    assert not ProfileEntry.objects.exists()
    assert not JournalEntry.objects.filter(action__startswith="dossier.profil").exists()


def test_update_keeps_the_section_and_journals(access):
    entry = make_entry(access.citizen, section="traitements", label="Doliprane")

    profile_entry_update(access=access, entry=entry, label="Doliprane 1 g", start_date=date(2024, 1, 1))

    entry.refresh_from_db()
    assert (entry.section, entry.label, entry.start_date) == ("traitements", "Doliprane 1 g", date(2024, 1, 1))
    assert JournalEntry.objects.get(action="dossier.profil.modifie").details == {"section": "traitements"}


def test_update_of_a_deleted_entry_fails_loudly(access):
    entry = make_entry(access.citizen)
    ProfileEntry.objects.filter(pk=entry.pk).delete()

    with pytest.raises(ProfileEntry.DoesNotExist):
        profile_entry_update(access=access, entry=entry, label="Autre")
    assert not JournalEntry.objects.filter(action="dossier.profil.modifie").exists()


def test_delete_journals_and_a_second_delete_fails(access):
    entry = make_entry(access.citizen)

    profile_entry_delete(access=access, entry=entry)

    assert not ProfileEntry.objects.exists()
    assert JournalEntry.objects.get(action="dossier.profil.supprime").object_id == str(entry.public_id)
    with pytest.raises(ProfileEntry.DoesNotExist):
        profile_entry_delete(access=access, entry=entry)
    assert JournalEntry.objects.filter(action="dossier.profil.supprime").count() == 1


def test_another_citizen_access_can_touch_nothing(access, other_access):
    entry = make_entry(access.citizen, label="Pénicilline")

    with pytest.raises(PermissionDenied):
        profile_entry_update(access=other_access, entry=entry, label="Piraté")
    with pytest.raises(PermissionDenied):
        profile_entry_delete(access=other_access, entry=entry)
    entry.refresh_from_db()
    assert entry.label == "Pénicilline"
    assert not profile_entries(other_access).exists()


def test_an_access_that_may_not_write_is_refused(access):
    read_only = replace(access, write_scopes=NO_SCOPE)
    entry = make_entry(access.citizen)

    with pytest.raises(PermissionDenied):
        profile_entry_add(access=read_only, section="allergies", label="x")
    with pytest.raises(PermissionDenied):
        profile_entry_update(access=read_only, entry=entry, label="x")
    with pytest.raises(PermissionDenied):
        profile_entry_delete(access=read_only, entry=entry)
    assert ProfileEntry.objects.count() == 1


def test_profile_sections_groups_in_one_query_in_the_page_order(access, other_access, django_assert_num_queries):
    make_entry(access.citizen, section="handicap", label="Surdité")
    make_entry(access.citizen, section="maladies", label="Sans date")
    make_entry(access.citizen, section="maladies", label="Ancienne", start_date=date(2001, 1, 1))
    make_entry(access.citizen, section="maladies", label="Récente", start_date=date(2020, 1, 1))
    make_entry(other_access.citizen, section="maladies", label="De Bruno")

    with django_assert_num_queries(1):
        sections = profile_sections(access)

    assert [section.section for section in sections] == [
        ProfileSection.CONDITIONS,
        ProfileSection.TREATMENTS,
        ProfileSection.FAMILY_HISTORY,
        ProfileSection.ALLERGIES,
        ProfileSection.DISABILITY,
    ]
    assert [entry.label for entry in sections[0].entries] == ["Récente", "Ancienne", "Sans date"]
    assert [entry.label for entry in sections[4].entries] == ["Surdité"]
    assert sections[1].entries == [] and sections[0].label == "Maladies et antécédents"


def test_journal_actions_have_french_labels():
    assert action_label("dossier.profil.ajoute") == "Ajout d’une information au profil médical"
    assert action_label("dossier.profil.modifie") == "Modification d’une information du profil médical"
    assert action_label("dossier.profil.supprime") == "Suppression d’une information du profil médical"
