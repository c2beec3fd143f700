"""The citizen's page « Accès à mon espace »: care team, temporary codes, blocks, emergency access — and who may
reach each route."""

import re
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from mes.acces.models import AccessDelegation, CareTeamMember, EmergencyAccess, JournalEntry, ProfessionalBlock
from mes.acces.policy import citizen_access
from mes.acces.services import journal_append
from mes.acces.services.care_team import (
    CARE_TEAM_ADDED,
    CARE_TEAM_REMOVED,
    EMERGENCY_PREFERENCE,
    PROFESSIONAL_BLOCKED,
    PROFESSIONAL_UNBLOCKED,
    TREATING_DOCTOR_SET,
    care_team_add,
    professional_block,
)
from mes.acces.services.delegations import (
    DELEGATION_CREATED,
    DELEGATION_ENDED,
    delegation_create,
    delegation_redeem,
)
from mes.comptes.codes import code_hash
from mes.comptes.models import Profession
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.factories import CitizenFactory, ProfessionalFactory, UserFactory

pytestmark = pytest.mark.django_db

OTHER_ROLES = ["professional", "editor", "commission", "admin"]
UNKNOWN_UUID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def access(citizen):
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def doctor(db):
    return ProfessionalFactory(
        user__first_name="Sophie", user__last_name="Lefebvre", practice_place="Cabinet de la Gare, Lyon"
    )


@pytest.fixture
def nurse(db):
    return ProfessionalFactory(profession=Profession.NURSE, user__first_name="Élodie", user__last_name="Marchal")


@pytest.fixture
def child(citizen):
    """Léa, 8, whose legal representative is the citizen."""
    lea = CitizenFactory(
        user=None, first_names="Léa", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    lea.legal_representatives.add(citizen.user)
    return lea


def act_for(client, citizen) -> None:
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    session.save()


def main_text(response) -> str:
    html = response.content.decode()
    return re.sub(r"[ \t\r\n]+", " ", html.split('id="content"', 1)[1].split("</main>", 1)[0])


def actions(citizen) -> list[str]:
    """The journal's access-control rows of the space (signing in writes rows of its own)."""
    rows = JournalEntry.objects.filter(citizen=citizen, action__startswith="acces.").order_by("seq")
    return list(rows.values_list("action", flat=True))


def results_text(response) -> str:
    """The search results only."""
    return main_text(response).split('id="resultats-recherche"', 1)[1].split("</section>", 1)[0]


def objects_of(access, doctor, nurse):
    """One object of each kind in the citizen's space: a care team member, a delegation, a block."""
    member = care_team_add(access=access, professional=doctor.user)
    delegation, _code = delegation_create(access=access, scopes=["documents"], duration=timedelta(hours=4))
    journal_append(actor=nurse.user, action="acces.test.lecture", citizen=access.citizen)
    block = professional_block(access=access, professional=nurse.user)
    return member, delegation, block


def routes(member=None, delegation=None, block=None, professional=None) -> list[str]:
    return [
        reverse("access_settings"),
        reverse("access_care_team_add"),
        reverse("access_care_team_remove", args=[member.pk if member else 999999]),
        reverse("access_treating_doctor", args=[member.pk if member else 999999]),
        reverse("access_code_new"),
        reverse("access_code_end", args=[delegation.public_id if delegation else UNKNOWN_UUID]),
        reverse("access_block", args=[professional.pk if professional else 999999]),
        reverse("access_unblock", args=[block.pk if block else 999999]),
        reverse("access_emergency"),
    ]


def snapshot(citizen) -> tuple:
    citizen.refresh_from_db()
    return (
        sorted(CareTeamMember.objects.filter(citizen=citizen).values_list("professional_id", "is_treating_doctor")),
        sorted(AccessDelegation.objects.filter(citizen=citizen).values_list("pk", "ended_at")),
        sorted(ProfessionalBlock.objects.filter(citizen=citizen).values_list("professional_id", flat=True)),
        citizen.emergency_access_refused,
        JournalEntry.objects.filter(citizen=citizen).count(),
    )


POST_DATA = {"rpps": "", "scopes": ["tout"], "duration": "24h", "choice": "refuser"}


# --- who may reach the pages ------------------------------------------------------------------------------------


def test_visitors_are_asked_to_sign_in_everywhere(client, access, doctor, nurse):
    member, delegation, block = objects_of(access, doctor, nurse)
    before = snapshot(access.citizen)
    for path in routes(member, delegation, block, doctor.user):
        # The page itself answers only GET; every other route takes its form by POST.
        for method in ("get",) if path == reverse("access_settings") else ("get", "post"):
            response = getattr(client, method)(path, POST_DATA if method == "post" else None)
            assert response.status_code == 302, (method, path)
            assert response["Location"].startswith(reverse("account_login")), (method, path)
    assert snapshot(access.citizen) == before


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_everywhere(client, persona_users, access, doctor, nurse, role):
    member, delegation, block = objects_of(access, doctor, nurse)
    before = snapshot(access.citizen)
    client.force_login(persona_users[role])
    for path in routes(member, delegation, block, doctor.user):
        assert client.get(path).status_code == 403, path
        if path != reverse("access_settings"):
            assert client.post(path, POST_DATA).status_code == 403, path
    assert snapshot(access.citizen) == before


def test_another_citizen_gets_404_on_every_object_route_and_changes_nothing(
    client, access, other_citizen, doctor, nurse
):
    member, delegation, block = objects_of(access, doctor, nurse)
    before = snapshot(access.citizen)
    client.force_login(other_citizen.user)
    object_routes = [
        reverse("access_care_team_remove", args=[member.pk]),
        reverse("access_treating_doctor", args=[member.pk]),
        reverse("access_code_end", args=[delegation.public_id]),
        reverse("access_block", args=[doctor.user.pk]),  # in Camille's care team, unknown to Bruno's space
        reverse("access_unblock", args=[block.pk]),
    ]
    for path in object_routes:
        assert client.get(path).status_code == 404, path
        assert client.post(path).status_code == 404, path
    assert snapshot(access.citizen) == before

    # Their own page shows nothing of Camille's space.
    text = main_text(client.get(reverse("access_settings")))
    assert "Lefebvre" not in text and "Marchal" not in text
    assert "Aucun accès temporaire en cours" in text
    assert "Vous n’avez bloqué aucun professionnel" in text
    search = main_text(client.get(reverse("access_settings"), {"professionnel": ""}))
    assert "Lefebvre" not in search and "Marchal" not in search


def test_a_citizen_account_without_a_space_is_refused(client):
    client.force_login(UserFactory(role="citizen"))
    for path in (reverse("access_settings"), reverse("access_code_new"), reverse("access_emergency")):
        assert client.get(path).status_code == 403


def test_every_page_opens_for_the_citizen(client, access, doctor, nurse):
    member, delegation, block = objects_of(access, doctor, nurse)
    professional_id = nurse.user.pk
    ProfessionalBlock.objects.filter(pk=block.pk).delete()
    client.force_login(access.citizen.user)
    paths = [
        *routes(member, delegation, None, None)[:6],
        reverse("access_block", args=[professional_id]),
        reverse("access_emergency"),
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


def test_the_settings_page_shows_every_section(client, access, doctor, nurse):
    objects_of(access, doctor, nurse)
    client.force_login(access.citizen.user)
    text = main_text(client.get(reverse("access_settings")))
    for title in (
        "Équipe de soins",
        "Donner un accès temporaire",
        "Accès temporaires en cours",
        "Professionnels bloqués",
        "Accès en urgence",
    ):
        assert title in text
    assert "Dr Sophie Lefebvre (Médecin)" in text and doctor.rpps in text and "Cabinet de la Gare, Lyon" in text
    assert "Code pas encore utilisé" in text and "documents" in text
    assert "Élodie Marchal (Infirmier ou infirmière)" in text and "Débloquer" in text
    assert "Accès en urgence autorisé" in text
    assert f'href="{reverse("access_history")}"' in text


# --- care team --------------------------------------------------------------------------------------------------


def test_add_a_professional_by_rpps(client, access, nurse):
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_care_team_add"), {"rpps": f" {nurse.rpps} "}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("access_settings") + "#equipe-de-soins"
    assert "Élodie Marchal (Infirmier ou infirmière) a été ajouté à votre équipe de soins." in main_text(response)
    member = CareTeamMember.objects.get(citizen=access.citizen)
    assert member.professional == nurse.user and not member.is_treating_doctor
    assert actions(access.citizen) == [CARE_TEAM_ADDED]


def test_add_the_treating_doctor_replaces_the_previous_one(client, access, doctor):
    previous = ProfessionalFactory()
    care_team_add(access=access, professional=previous.user, treating_doctor=True)
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_care_team_add"), {"rpps": doctor.rpps, "treating_doctor": "on"}, follow=True)
    assert "désormais déclaré comme médecin traitant" in main_text(response)
    team = dict(
        CareTeamMember.objects.filter(citizen=access.citizen).values_list("professional_id", "is_treating_doctor")
    )
    assert team == {previous.user.pk: False, doctor.user.pk: True}
    assert actions(access.citizen)[-1] == TREATING_DOCTOR_SET


@pytest.mark.parametrize(
    ("rpps", "message"),
    [
        ("", "Indiquez le numéro RPPS du professionnel."),
        ("12345", "Le numéro RPPS compte exactement 11 chiffres."),
        ("1234567890A", "Le numéro RPPS compte exactement 11 chiffres."),
        ("10000000000", "Aucun professionnel de santé ne correspond au numéro RPPS 10000000000. Vérifiez le numéro."),
    ],
)
def test_add_refuses_a_bad_or_unknown_rpps(client, access, rpps, message):
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_care_team_add"), {"rpps": rpps})
    assert response.status_code == 200
    text = main_text(response)
    assert "Le professionnel n’a pas été ajouté" in text and message in text
    assert not CareTeamMember.objects.exists() and actions(access.citizen) == []


def test_only_a_doctor_can_be_the_treating_doctor(client, access, nurse):
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_care_team_add"), {"rpps": nurse.rpps, "treating_doctor": "on"})
    assert "Seul un médecin peut être déclaré comme médecin traitant." in main_text(response)
    assert not CareTeamMember.objects.exists()


def test_a_blocked_professional_cannot_be_added(client, access, nurse):
    professional_block(access=access, professional=nurse.user)
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_care_team_add"), {"rpps": nurse.rpps})
    assert "Vous avez bloqué ce professionnel" in main_text(response)
    assert not CareTeamMember.objects.exists()


def test_adding_a_member_twice_says_so(client, access, nurse):
    care_team_add(access=access, professional=nurse.user)
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_care_team_add"), {"rpps": nurse.rpps}, follow=True)
    assert "fait déjà partie de votre équipe de soins" in main_text(response)
    assert CareTeamMember.objects.filter(citizen=access.citizen).count() == 1


def test_remove_a_member_after_confirmation(client, access, doctor):
    member = care_team_add(access=access, professional=doctor.user, treating_doctor=True)
    client.force_login(access.citizen.user)
    path = reverse("access_care_team_remove", args=[member.pk])
    confirm = main_text(client.get(path))
    assert "Retirer de mon équipe de soins" in confirm and "votre médecin traitant" in confirm
    assert CareTeamMember.objects.filter(pk=member.pk).exists()
    response = client.post(path, follow=True)
    assert "Dr Sophie Lefebvre (Médecin) a été retiré de votre équipe de soins." in main_text(response)
    assert not CareTeamMember.objects.filter(pk=member.pk).exists()
    assert actions(access.citizen)[-1] == CARE_TEAM_REMOVED
    assert client.post(path).status_code == 404


def test_change_the_treating_doctor(client, access, doctor):
    first = ProfessionalFactory(user__first_name="Paul", user__last_name="Bernard")
    care_team_add(access=access, professional=first.user, treating_doctor=True)
    member = care_team_add(access=access, professional=doctor.user)
    client.force_login(access.citizen.user)
    path = reverse("access_treating_doctor", args=[member.pk])
    assert "Il remplacera Dr Paul Bernard (Médecin)" in main_text(client.get(path))
    response = client.post(path, follow=True)
    assert "Dr Sophie Lefebvre (Médecin) est désormais votre médecin traitant." in main_text(response)
    treating = CareTeamMember.objects.get(citizen=access.citizen, is_treating_doctor=True)
    assert treating.professional == doctor.user
    assert actions(access.citizen)[-1] == TREATING_DOCTOR_SET


def test_a_nurse_cannot_become_treating_doctor_through_the_change_route(client, access, nurse):
    member = care_team_add(access=access, professional=nurse.user)
    client.force_login(access.citizen.user)
    path = reverse("access_treating_doctor", args=[member.pk])
    assert "Seul un médecin peut être déclaré comme médecin traitant." in main_text(client.get(path))
    response = client.post(path, follow=True)
    assert "Le médecin traitant doit être un médecin." in main_text(response)
    assert not CareTeamMember.objects.get(pk=member.pk).is_treating_doctor


# --- temporary access codes -------------------------------------------------------------------------------------


def test_create_a_code_shows_it_once(client, access):
    client.force_login(access.citizen.user)
    before = timezone.now()
    response = client.post(reverse("access_code_new"), {"scopes": ["documents", "mesures"], "duration": "4h"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = main_text(response)
    shown = re.search(r'id="code-acces"[^>]*>([0-9A-Z]{5}-[0-9A-Z]{5})<', response.content.decode()).group(1)
    assert "documents, mesures de santé" in text
    assert "il ne peut servir qu’une fois" in text.lower() or "Il ne peut servir qu’une fois" in text
    delegation = AccessDelegation.objects.get(citizen=access.citizen)
    assert delegation.code_hash == code_hash(shown) and shown.replace("-", "") not in delegation.code_hash
    assert delegation.scopes == ["documents", "mesures"]
    assert timedelta(hours=4) <= delegation.expires_at - before <= timedelta(hours=4, minutes=1)
    assert actions(access.citizen) == [DELEGATION_CREATED]

    # Never stored in clear, never shown again.
    assert shown not in str(dict(client.session)) and shown.replace("-", "") not in str(dict(client.session))
    for path in (reverse("access_settings"), reverse("access_code_new")):
        page = client.get(path).content.decode()
        assert shown not in page and shown.replace("-", "") not in page
    assert JournalEntry.objects.filter(details__icontains=shown.replace("-", "")).count() == 0


def test_the_whole_space_option_shares_every_part(client, access):
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_code_new"), {"scopes": ["tout", "mesures"], "duration": "30j"})
    assert "tout l’espace" in main_text(response)
    assert AccessDelegation.objects.get().scopes == ["documents", "mesures", "profil", "vaccinations"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"duration": "24h"}, "Choisissez au moins une partie de votre espace à partager."),
        ({"scopes": ["radiographies"], "duration": "24h"}, "Choisissez parmi les parties de votre espace proposées."),
        ({"scopes": ["documents"], "duration": "90j"}, "Choisissez une des durées proposées."),
        ({"scopes": ["documents"]}, "Choisissez une durée."),
    ],
)
def test_a_code_needs_a_scope_and_a_proposed_duration(client, access, data, message):
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_code_new"), data)
    assert response.status_code == 200
    text = main_text(response)
    assert "Le code n’a pas été créé" in text and message in text
    assert not AccessDelegation.objects.exists()


def test_current_codes_say_who_used_them_and_can_be_ended(client, access, doctor):
    delegation, code = delegation_create(access=access, scopes=["documents"], duration=timedelta(days=3))
    delegation_redeem(professional=doctor.user, code=code)
    assert citizen_access(doctor.user, access.citizen) is not None
    client.force_login(access.citizen.user)
    text = main_text(client.get(reverse("access_settings")))
    assert "Utilisé par Dr Sophie Lefebvre (Médecin) le" in text and "Arrêter cet accès" in text

    path = reverse("access_code_end", args=[delegation.public_id])
    assert "ne pourra plus ouvrir votre espace" in main_text(client.get(path))
    response = client.post(path, follow=True)
    assert "L’accès temporaire (documents) est arrêté" in main_text(response)
    delegation.refresh_from_db()
    assert delegation.ended_at is not None and delegation.ended_by == access.citizen.user
    assert actions(access.citizen)[-1] == DELEGATION_ENDED
    # The professional's very next request is refused.
    assert citizen_access(doctor.user, access.citizen) is None
    # An ended access is no longer an object of this route.
    assert client.post(path).status_code == 404
    assert "arrêté le" in main_text(client.get(reverse("access_settings")))


def test_expired_and_ended_codes_are_listed_apart_ten_at_most(client, access):
    now = timezone.now()
    for _index in range(12):
        delegation, _code = delegation_create(access=access, scopes=["profil"], duration=timedelta(hours=1))
        AccessDelegation.objects.filter(pk=delegation.pk).update(expires_at=now - timedelta(minutes=5))
    client.force_login(access.citizen.user)
    text = main_text(client.get(reverse("access_settings")))
    assert "Aucun accès temporaire en cours." in text
    assert text.count("expiré le") == 10 and text.count("code jamais utilisé") == 10


# --- blocks -----------------------------------------------------------------------------------------------------


def test_search_finds_only_professionals_known_to_the_space(client, access, doctor, nurse):
    stranger = ProfessionalFactory(user__first_name="Élise", user__last_name="Marchand")
    care_team_add(access=access, professional=doctor.user)
    journal_append(actor=nurse.user, action="acces.test.lecture", citizen=access.citizen)
    journal_append(actor=stranger.user, action="acces.test.lecture", citizen=CitizenFactory())
    client.force_login(access.citizen.user)
    url = reverse("access_settings")

    everyone = results_text(client.get(url, {"professionnel": ""}))
    assert "Dr Sophie Lefebvre" in everyone and "Élodie Marchal" in everyone and "Marchand" not in everyone
    assert "dans votre équipe de soins" in everyone
    accents = results_text(client.get(url, {"professionnel": "ELODIE marchal"}))
    assert "Élodie Marchal" in accents and "Lefebvre" not in accents
    by_rpps = results_text(client.get(url, {"professionnel": doctor.rpps}))
    assert "Dr Sophie Lefebvre" in by_rpps and "Marchal" not in by_rpps
    nothing = results_text(client.get(url, {"professionnel": "Marchand"}))
    assert "ne correspond à cette recherche" in nothing
    # A professional unknown to this space cannot be addressed.
    assert client.get(reverse("access_block", args=[stranger.user.pk])).status_code == 404
    assert client.post(reverse("access_block", args=[stranger.user.pk])).status_code == 404
    assert not ProfessionalBlock.objects.exists()


def test_block_after_confirmation_then_unblock(client, access, doctor, nurse):
    delegation, code = delegation_create(access=access, scopes=["documents"], duration=timedelta(days=1))
    delegation_redeem(professional=nurse.user, code=code)
    client.force_login(access.citizen.user)
    path = reverse("access_block", args=[nurse.user.pk])
    assert "Bloquer Élodie Marchal (Infirmier ou infirmière) ?" in main_text(client.get(path))
    assert not ProfessionalBlock.objects.exists()
    response = client.post(path, follow=True)
    assert "est bloqué" in main_text(response)
    block = ProfessionalBlock.objects.get(citizen=access.citizen, professional=nurse.user)
    assert citizen_access(nurse.user, access.citizen) is None
    assert AccessDelegation.objects.get(pk=delegation.pk).ended_at is not None
    assert PROFESSIONAL_BLOCKED in actions(access.citizen)
    # Blocked professionals leave the search results and appear in the list of blocks.
    text = main_text(client.get(reverse("access_settings"), {"professionnel": "marchal"}))
    assert "ne correspond à cette recherche" in text and "Débloquer" in text

    unblock = reverse("access_unblock", args=[block.pk])
    assert "Débloquer un professionnel" in main_text(client.get(unblock))
    response = client.post(unblock, follow=True)
    assert "Élodie Marchal (Infirmier ou infirmière) est débloqué." in main_text(response)
    assert not ProfessionalBlock.objects.exists()
    assert actions(access.citizen)[-1] == PROFESSIONAL_UNBLOCKED
    assert client.post(unblock).status_code == 404


# --- emergency access -------------------------------------------------------------------------------------------


def test_refuse_then_allow_emergency_access(client, access):
    emergency_doctor = ProfessionalFactory(emergency_role=True, user__first_name="Marc", user__last_name="Samu")
    opened = EmergencyAccess.objects.create(
        citizen=access.citizen,
        professional=emergency_doctor.user,
        reason="Patiente inconsciente, recherche d’allergies",
        expires_at=timezone.now() + timedelta(hours=24),
    )
    old = EmergencyAccess.objects.create(
        citizen=access.citizen, professional=emergency_doctor.user, reason="Ancien motif", expires_at=timezone.now()
    )
    EmergencyAccess.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(days=400))
    client.force_login(access.citizen.user)
    text = main_text(client.get(reverse("access_settings")))
    assert "Patiente inconsciente, recherche d’allergies" in text and "Dr Marc Samu (Médecin)" in text
    assert "en cours, jusqu’au" in text and "Ancien motif" not in text

    response = client.post(reverse("access_emergency"), {"choice": "refuser"}, follow=True)
    assert "Vous refusez l’accès en urgence" in main_text(response)
    access.citizen.refresh_from_db()
    assert access.citizen.emergency_access_refused
    assert EmergencyAccess.objects.get(pk=opened.pk).ended_at is not None
    assert actions(access.citizen)[-1] == EMERGENCY_PREFERENCE
    assert "Accès en urgence refusé" in main_text(client.get(reverse("access_settings")))

    client.post(reverse("access_emergency"), {"choice": "autoriser"})
    access.citizen.refresh_from_db()
    assert not access.citizen.emergency_access_refused


def test_emergency_choice_must_be_one_of_the_two(client, access):
    client.force_login(access.citizen.user)
    response = client.post(reverse("access_emergency"), {"choice": "peut-etre"})
    assert response.status_code == 200
    assert "Choisissez d’autoriser ou de refuser l’accès en urgence." in main_text(response)
    access.citizen.refresh_from_db()
    assert not access.citizen.emergency_access_refused and actions(access.citizen) == []


# --- a parent acting for a minor child --------------------------------------------------------------------------


def test_a_parent_manages_the_access_to_a_minor_childs_space(client, citizen, child, doctor):
    client.force_login(citizen.user)
    act_for(client, child)
    assert "vous agissez en tant que représentant légal" in main_text(client.get(reverse("access_settings")))

    client.post(reverse("access_care_team_add"), {"rpps": doctor.rpps, "treating_doctor": "on"})
    member = CareTeamMember.objects.get(professional=doctor.user)
    assert member.citizen == child and member.is_treating_doctor
    response = client.post(reverse("access_code_new"), {"scopes": ["vaccinations"], "duration": "1h"})
    assert response.status_code == 200 and "vaccinations" in main_text(response)
    delegation = AccessDelegation.objects.get()
    assert delegation.citizen == child and delegation.created_by == citizen.user
    client.post(reverse("access_emergency"), {"choice": "refuser"})
    child.refresh_from_db()
    citizen.refresh_from_db()
    assert child.emergency_access_refused and not citizen.emergency_access_refused
    assert not CareTeamMember.objects.filter(citizen=citizen).exists()

    # Back in their own space, the parent's objects do not include the child's.
    session = client.session
    session.pop(ACTIVE_PROFILE_SESSION_KEY)
    session.save()
    assert client.get(reverse("access_care_team_remove", args=[member.pk])).status_code == 404
    assert client.post(reverse("access_code_end", args=[delegation.public_id])).status_code == 404
    assert AccessDelegation.objects.get().ended_at is None
