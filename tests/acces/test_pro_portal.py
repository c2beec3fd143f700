"""The professionals' portal: « Mes patients », entering an access code, emergency access, a patient's page."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from mes.acces.models import (
    AccessDelegation,
    CareTeamMember,
    CodeEntryGuard,
    EmergencyAccess,
    JournalEntry,
    ProfessionalBlock,
    Scope,
)
from mes.acces.policy import citizen_access
from mes.acces.selectors_pro import professional_patients
from mes.acces.services.delegations import delegation_create, delegation_end
from mes.comptes.codes import code_display
from mes.comptes.models import CitizenStatus, Notification, Profession
from tests.dossier.documents_samples import make_document
from tests.factories import CitizenFactory, ProfessionalFactory

HOME, CODE, EMERGENCY = "/pro/", "/pro/code/", "/pro/urgence/"


def give_code(citizen, scopes=(Scope.DOCUMENTS,), duration=timedelta(days=1), now=None):
    """The citizen creates a temporary access code; returns (delegation, code)."""
    return delegation_create(
        access=citizen_access(citizen.user, citizen), scopes=list(scopes), duration=duration, now=now
    )


def used_code(citizen, professional, scopes=(Scope.DOCUMENTS,), duration=timedelta(days=1)):
    delegation, _code = give_code(citizen, scopes, duration)
    delegation.professional, delegation.used_at = professional.user, timezone.now()
    delegation.save(update_fields=["professional", "used_at"])
    return delegation


def emergency(citizen, professional, hours=24):
    return EmergencyAccess.objects.create(
        citizen=citizen,
        professional=professional.user,
        reason="Patient inconscient aux urgences",
        expires_at=timezone.now() + timedelta(hours=hours),
    )


def patient_url(citizen) -> str:
    return reverse("pro_patient", args=[citizen.public_id])


def later(delta: timedelta):
    """Travel in time: every ``timezone.now()`` answers ``delta`` from now."""
    target = timezone.now() + delta
    return mock.patch("django.utils.timezone.now", return_value=target)


@pytest.fixture
def pro_client(client, professional):
    client.force_login(professional.user)
    return client


@pytest.fixture
def emergency_pro(db):
    return ProfessionalFactory(emergency_role=True, user__first_name="Urgentiste", user__last_name="Samu")


# --- Who may open the pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [HOME, CODE, EMERGENCY])
def test_visitors_sign_in_and_citizens_are_refused(client, citizen, editor, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    for user in (citizen.user, editor):
        client.force_login(user)
        assert client.get(path).status_code == 403
        if path != HOME:
            assert client.post(path, {"code": "ABCDE12345"}).status_code == 403
    assert not JournalEntry.objects.filter(action="acces.code.refuse").exists()


def test_the_patient_page_asks_visitors_to_sign_in_and_refuses_citizens(client, citizen, other_citizen):
    url = patient_url(citizen)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    client.force_login(citizen.user)  # even the person herself: this is the professionals' page
    assert client.get(url).status_code == 403
    client.force_login(other_citizen.user)
    assert client.get(url).status_code == 403


# --- « Mes patients » -----------------------------------------------------------------------------------------


def test_home_lists_the_spaces_the_professional_may_open_now_and_nothing_else(pro_client, professional):
    me = professional.user
    treated = CitizenFactory(first_names="Anne", birth_name="ABEL")
    CareTeamMember.objects.create(citizen=treated, professional=me, is_treating_doctor=True)
    followed = CitizenFactory(first_names="Bernard", birth_name="BLANC")
    CareTeamMember.objects.create(citizen=followed, professional=me)
    coded = CitizenFactory(first_names="Chloé", birth_name="CAMUS")
    delegation = used_code(coded, professional, scopes=(Scope.MEASURES, Scope.DOCUMENTS))
    # Not listed: blocked although in the care team, a closed space, an ended code, an expired code, a code
    # used by someone else, a code not used yet, an emergency access (no emergency role).
    blocked = CitizenFactory(first_names="Denis", birth_name="DUPONT")
    CareTeamMember.objects.create(citizen=blocked, professional=me)
    ProfessionalBlock.objects.create(citizen=blocked, professional=me)
    closed = CitizenFactory(
        first_names="Élise", birth_name="ETIENNE", status=CitizenStatus.CLOSED, closed_at=timezone.now()
    )
    CareTeamMember.objects.create(citizen=closed, professional=me)
    ended = CitizenFactory(first_names="Fanny", birth_name="FABRE")
    AccessDelegation.objects.filter(pk=used_code(ended, professional).pk).update(ended_at=timezone.now())
    expired = CitizenFactory(first_names="Gaston", birth_name="GIRARD")
    AccessDelegation.objects.filter(pk=used_code(expired, professional).pk).update(expires_at=timezone.now())
    others = CitizenFactory(first_names="Hugo", birth_name="HENRY")
    used_code(others, ProfessionalFactory())
    give_code(CitizenFactory(first_names="Inès", birth_name="IMBERT"))
    emergency(CitizenFactory(first_names="Jules", birth_name="JOLY"), professional)

    response = pro_client.get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    lines = response.context["patients"]
    assert [line.citizen for line in lines] == [treated, followed, coded]
    assert [line.label for line in lines[:2]] == ["Médecin traitant", "Équipe de soins"]
    assert lines[2].label.startswith("Code d’accès jusqu’au ")
    assert "documents, mesures de santé" in html
    for line in lines:
        assert patient_url(line.citizen) in html
        # The same decision as the access policy, for every listed space.
        assert citizen_access(me, line.citizen).kind == line.kind
    for name in ("DUPONT", "ETIENNE", "FABRE", "GIRARD", "HENRY", "IMBERT", "JOLY"):
        assert name not in html
    assert delegation.expires_at == lines[2].until
    assert "Saisir un code d’accès" in html and reverse("pro_code") in html
    assert reverse("pro_emergency") not in html


def test_home_lists_active_emergency_accesses_for_an_emergency_role(client, emergency_pro, citizen, other_citizen):
    emergency(citizen, emergency_pro)
    EmergencyAccess.objects.filter(pk=emergency(other_citizen, emergency_pro).pk).update(expires_at=timezone.now())
    refused = CitizenFactory(first_names="Karim", birth_name="KLEIN", emergency_access_refused=True)
    emergency(refused, emergency_pro)
    client.force_login(emergency_pro.user)
    response = client.get(HOME)
    lines = response.context["patients"]
    assert [line.citizen for line in lines] == [citizen]
    assert lines[0].label.startswith("Accès en urgence jusqu’au ")
    assert reverse("pro_emergency") in response.content.decode()
    assert "Accès en urgence" in response.content.decode()


def test_the_list_is_built_in_a_constant_number_of_queries(professional, django_assert_max_num_queries):
    for index in range(5):
        patient = CitizenFactory(birth_name=f"NOM{index}")
        CareTeamMember.objects.create(citizen=patient, professional=professional.user)
        used_code(CitizenFactory(), professional)
    with django_assert_max_num_queries(4):
        assert len(professional_patients(professional.user)) == 10


# --- Entering a code ------------------------------------------------------------------------------------------


def test_a_code_typed_in_lower_case_with_spaces_opens_the_space_once_and_notifies_once(
    pro_client, professional, citizen
):
    delegation, code = give_code(citizen, scopes=(Scope.DOCUMENTS, Scope.MEASURES))
    assert pro_client.get(CODE).status_code == 200
    typed = " " + code_display(code).lower().replace("-", " - ") + " "
    response = pro_client.post(CODE, {"code": typed})
    assert response.status_code == 302 and response["Location"] == patient_url(citizen)
    delegation.refresh_from_db()
    assert delegation.professional == professional.user and delegation.used_at is not None
    notifications = Notification.objects.filter(user=citizen.user)
    assert notifications.count() == 1
    assert "a utilisé votre code d’accès" in notifications.get().title
    used = JournalEntry.objects.filter(action="acces.code.utilise", citizen=citizen, actor=professional.user)
    assert used.count() == 1

    # Single use: the same code is refused afterwards, to the same professional and to anyone else.
    response = pro_client.post(CODE, {"code": code})
    assert response.status_code == 400
    assert "Ce code n’est pas valide" in response.content.decode()
    pro_client.force_login(ProfessionalFactory().user)
    assert pro_client.post(CODE, {"code": code}).status_code == 400
    delegation.refresh_from_db()
    assert delegation.professional == professional.user
    assert Notification.objects.filter(user=citizen.user).count() == 1


@pytest.mark.parametrize("data", [{"code": "  "}, {}], ids=["blank", "no-field"])
def test_an_empty_code_is_an_error_of_the_form_not_a_failed_attempt(pro_client, professional, data):
    response = pro_client.post(CODE, data)
    assert response.status_code == 400
    assert "Saisissez le code d’accès" in response.content.decode()
    assert not CodeEntryGuard.objects.filter(professional=professional.user, consecutive_failures__gt=0).exists()


def test_five_wrong_codes_lock_code_entry_for_fifteen_minutes(pro_client, professional, citizen):
    _delegation, code = give_code(citizen)
    for attempt in range(4):
        response = pro_client.post(CODE, {"code": f"ZZZZZ{attempt:05d}"})
        assert response.status_code == 400
        assert "Ce code n’est pas valide" in response.content.decode()
    response = pro_client.post(CODE, {"code": "ZZZZZ99999"})
    assert "la saisie de code est bloquée jusqu’à" in response.content.decode()
    # Even the right code is refused while locked, and the delegation stays unused.
    response = pro_client.post(CODE, {"code": code})
    assert response.status_code == 400 and "bloquée" in response.content.decode()
    assert not AccessDelegation.objects.filter(used_at__isnull=False).exists()
    assert not Notification.objects.exists()
    with later(timedelta(minutes=15) - timedelta(seconds=1)):
        assert "bloquée" in pro_client.post(CODE, {"code": code}).content.decode()
    with later(timedelta(minutes=15, seconds=1)):
        response = pro_client.post(CODE, {"code": code})
    assert response.status_code == 302 and response["Location"] == patient_url(citizen)
    assert Notification.objects.filter(user=citizen.user).count() == 1


def test_code_entries_are_rate_limited_per_account(pro_client, settings):
    settings.ACCESS_CODE_RATE_LIMIT = "3/15m/user"
    for attempt in range(3):
        assert pro_client.post(CODE, {"code": f"YYYYY{attempt:05d}"}).status_code == 400
    response = pro_client.post(CODE, {"code": "YYYYY00009"})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()


def test_code_entries_are_rate_limited_per_address(db, client, settings):
    settings.ACCESS_CODE_RATE_LIMIT = "20/15m/user,3/15m/ip"
    for attempt in range(3):
        client.force_login(ProfessionalFactory().user)
        assert client.post(CODE, {"code": f"XXXXX{attempt:05d}"}).status_code == 400
    client.force_login(ProfessionalFactory().user)
    assert client.post(CODE, {"code": "XXXXX00009"}).status_code == 429


def test_a_blocked_professional_cannot_use_a_code(pro_client, professional, citizen):
    ProfessionalBlock.objects.create(citizen=citizen, professional=professional.user)
    _delegation, code = give_code(citizen)
    assert pro_client.post(CODE, {"code": code}).status_code == 400
    assert pro_client.get(patient_url(citizen)).status_code == 404
    assert not Notification.objects.exists()


# --- Emergency access -----------------------------------------------------------------------------------------


def emergency_form(citizen, reason="Patient inconscient, prise en charge SMUR"):
    return {"ins": citizen.ins, "birth_date": citizen.birth_date.isoformat(), "reason": reason}


def test_emergency_access_is_for_the_emergency_role_only(pro_client, citizen):
    assert pro_client.get(EMERGENCY).status_code == 403
    assert pro_client.post(EMERGENCY, emergency_form(citizen)).status_code == 403
    assert not EmergencyAccess.objects.exists()


def test_an_emergency_access_opens_the_space_and_tells_the_person_why(client, emergency_pro, citizen):
    client.force_login(emergency_pro.user)
    response = client.get(EMERGENCY)
    assert response.status_code == 200
    html = response.content.decode()
    assert "tracé" in html and "prévenue immédiatement avec le motif" in html
    spaced = " ".join([citizen.ins[:1], citizen.ins[1:3], citizen.ins[3:5], citizen.ins[5:]])
    response = client.post(EMERGENCY, {**emergency_form(citizen), "ins": spaced})
    assert response.status_code == 302 and response["Location"] == patient_url(citizen)
    access = EmergencyAccess.objects.get()
    assert access.citizen == citizen and access.professional == emergency_pro.user
    notification = Notification.objects.get(user=citizen.user)
    assert "Patient inconscient, prise en charge SMUR" in notification.body
    page = client.get(patient_url(citizen))
    assert page.status_code == 200
    assert "Accès en urgence jusqu’au" in page.content.decode()


def test_emergency_errors_are_in_french(client, emergency_pro, citizen):
    client.force_login(emergency_pro.user)
    wrong_date = {**emergency_form(citizen), "birth_date": "1990-01-01"}
    response = client.post(EMERGENCY, wrong_date)
    assert response.status_code == 400
    assert "Aucun espace santé ne correspond à ce matricule INS et à cette date de naissance." in (
        response.content.decode()
    )
    response = client.post(EMERGENCY, emergency_form(citizen, reason="Urgence"))
    assert response.status_code == 400
    assert "au moins 10 caractères" in response.content.decode()
    response = client.post(EMERGENCY, {**emergency_form(citizen), "ins": "123"})
    assert "15 caractères" in response.content.decode()
    citizen.emergency_access_refused = True
    citizen.save(update_fields=["emergency_access_refused"])
    response = client.post(EMERGENCY, emergency_form(citizen))
    assert response.status_code == 400
    assert "a refusé l’accès en urgence" in response.content.decode()
    closed = CitizenFactory(status=CitizenStatus.CLOSED, closed_at=timezone.now())
    response = client.post(EMERGENCY, emergency_form(closed))
    assert "Aucun espace santé ne correspond" in response.content.decode()
    assert not EmergencyAccess.objects.exists() and not Notification.objects.exists()


def test_an_expired_emergency_access_opens_nothing(client, emergency_pro, citizen):
    access = emergency(citizen, emergency_pro, hours=1)
    client.force_login(emergency_pro.user)
    assert client.get(patient_url(citizen)).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=access.expires_at):
        assert client.get(patient_url(citizen)).status_code == 404


# --- The patient's page ---------------------------------------------------------------------------------------


def test_the_patient_page_names_the_way_in_counts_what_it_shows_and_is_journaled(pro_client, professional, citizen):
    CareTeamMember.objects.create(citizen=citizen, professional=professional.user)
    make_document(citizen, title="Compte rendu visible")
    make_document(citizen, title="Compte rendu masqué", hidden_from_professionals=True)
    before = JournalEntry.objects.count()
    response = pro_client.get(patient_url(citizen))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Équipe de soins" in html and "Camille DURAND" in html
    assert response.context["overview"].documents == 1
    assert "1 document" in html
    assert "Compte rendu visible" in html and "Compte rendu masqué" not in html
    assert JournalEntry.objects.count() == before + 1
    row = JournalEntry.objects.order_by("-seq").first()
    assert (row.action, row.actor, row.citizen, row.details["acces"]) == (
        "acces.pro.espace_consulte",
        professional.user,
        citizen,
        "care_team",
    )
    for name in ("pro_documents", "pro_measures", "pro_profile", "pro_immunizations"):
        assert reverse(name, args=[citizen.public_id]) in html


def test_the_treating_doctor_counts_hidden_documents(pro_client, professional, citizen):
    CareTeamMember.objects.create(citizen=citizen, professional=professional.user, is_treating_doctor=True)
    make_document(citizen, title="Compte rendu visible")
    make_document(citizen, title="Compte rendu masqué", hidden_from_professionals=True)
    response = pro_client.get(patient_url(citizen))
    html = response.content.decode()
    assert response.context["overview"].documents == 2
    assert "Médecin traitant" in html and "Compte rendu masqué" in html


def test_a_code_shows_only_the_parts_it_opens(pro_client, professional, citizen):
    used_code(citizen, professional, scopes=(Scope.MEASURES,))
    make_document(citizen)
    response = pro_client.get(patient_url(citizen))
    html = response.content.decode()
    assert "Code d’accès jusqu’au" in html
    assert reverse("pro_measures", args=[citizen.public_id]) in html
    assert reverse("pro_documents", args=[citizen.public_id]) not in html
    assert response.context["overview"].documents == 0


def test_without_access_the_patient_page_is_a_journaled_404(pro_client, professional, citizen):
    response = pro_client.get(patient_url(citizen))
    assert response.status_code == 404
    assert "Cet espace santé ne vous est pas accessible" in response.content.decode()
    refusal = JournalEntry.objects.get(action="acces.refuse")
    assert (refusal.actor, refusal.citizen) == (professional.user, citizen)
    # A space that does not exist answers the same.
    assert pro_client.get(reverse("pro_patient", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


def test_a_blocked_professional_sees_nothing_even_in_the_care_team_or_with_a_code(pro_client, professional, citizen):
    CareTeamMember.objects.create(citizen=citizen, professional=professional.user, is_treating_doctor=True)
    used_code(citizen, professional)
    assert pro_client.get(patient_url(citizen)).status_code == 200
    ProfessionalBlock.objects.create(citizen=citizen, professional=professional.user)
    assert pro_client.get(patient_url(citizen)).status_code == 404
    assert pro_client.get(HOME).context["patients"] == []


def test_ending_a_code_takes_effect_on_the_next_request(pro_client, professional, citizen):
    delegation = used_code(citizen, professional)
    assert pro_client.get(patient_url(citizen)).status_code == 200
    delegation_end(access=citizen_access(citizen.user, citizen), delegation=delegation)
    assert pro_client.get(patient_url(citizen)).status_code == 404
    assert JournalEntry.objects.filter(action="acces.refuse", actor=professional.user).count() == 1


def test_a_code_ends_exactly_at_its_expiry(pro_client, professional, citizen):
    delegation = used_code(citizen, professional, duration=timedelta(hours=1))
    with mock.patch("django.utils.timezone.now", return_value=delegation.expires_at - timedelta(microseconds=1)):
        assert pro_client.get(patient_url(citizen)).status_code == 200
    with mock.patch("django.utils.timezone.now", return_value=delegation.expires_at):
        assert pro_client.get(patient_url(citizen)).status_code == 404


def test_a_code_entered_after_its_expiry_is_refused(pro_client, citizen):
    delegation, code = give_code(citizen, duration=timedelta(hours=1))
    with mock.patch("django.utils.timezone.now", return_value=delegation.expires_at):
        response = pro_client.post(CODE, {"code": code})
    assert response.status_code == 400
    assert not Notification.objects.exists()


def test_the_professions_matrix_applies_to_the_patient_page(client, citizen):
    pharmacist = ProfessionalFactory(profession=Profession.PHARMACIST)
    CareTeamMember.objects.create(citizen=citizen, professional=pharmacist.user)
    make_document(citizen, title="Radio du thorax", category="imagerie", type_code="18748-4")
    make_document(citizen, title="Ordonnance", category="ordonnances_soins", type_code="57833-6")
    client.force_login(pharmacist.user)
    response = client.get(patient_url(citizen))
    assert response.context["overview"].documents == 1
    assert "Radio du thorax" not in response.content.decode()
