"""The wall between the sandbox and real people: a sandbox app pairs only test persons, a test person only sandbox
apps — in the service, and on the consent page a person actually sees."""

from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from mes.acces.models import AppHabilitation, Pairing
from mes.acces.services.pairings import habilitation_grant, pairing_consent
from tests.api.conftest import make_application, pkce_pair
from tests.api.test_oauth import AUTHORIZE_URL, authorize_params, consent_form
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

SCOPES = ["openid", "patient/Observation.crs"]


def sandbox_app(name: str = "Suivi Tension — bac à sable"):
    application = make_application(name=name, habilitation=False)
    habilitation_grant(
        actor=None,
        application=application,
        name=name,
        editor_name="Éditeur de test",
        oid="1.2.250.1.999.77",
        approved_scopes=["patient/Observation.crs"],
        sandbox=True,
    )
    return application


@pytest.fixture
def sandbox_habilitation():
    return AppHabilitation.objects.get(application=sandbox_app())


@pytest.fixture
def production_habilitation():
    return AppHabilitation.objects.get(application=make_application(name="Suivi Tension"))


@pytest.fixture
def test_person():
    return CitizenFactory(is_sandbox=True, first_names="Usager", birth_name="TEST")


def consent(citizen, habilitation) -> Pairing:
    return pairing_consent(
        actor=citizen.user, citizen=citizen, habilitation=habilitation, external_id="compte-1", scopes=SCOPES
    )


def test_a_sandbox_app_pairs_a_test_person(sandbox_habilitation, test_person):
    pairing = consent(test_person, sandbox_habilitation)
    assert pairing.is_active and pairing.habilitation == sandbox_habilitation


def test_a_sandbox_app_never_pairs_a_real_person(sandbox_habilitation, citizen):
    with pytest.raises(PermissionDenied, match="seul l’usager de test"):
        consent(citizen, sandbox_habilitation)
    assert not Pairing.objects.exists()


def test_a_production_app_never_pairs_a_test_person(production_habilitation, test_person, citizen):
    with pytest.raises(PermissionDenied, match="Un usager de test ne peut connecter que"):
        consent(test_person, production_habilitation)
    assert not Pairing.objects.filter(citizen=test_person).exists()
    # The production app still pairs real people.
    assert consent(citizen, production_habilitation).is_active


def test_an_app_does_not_change_from_sandbox_to_production():
    application = sandbox_app()
    with pytest.raises(ValidationError, match="bac à sable"):
        habilitation_grant(
            actor=None,
            application=application,
            name="Suivi Tension",
            editor_name="Éditeur de test",
            oid="1.2.250.1.999.77",
            approved_scopes=["patient/Observation.crs"],
        )
    assert AppHabilitation.objects.get(application=application).sandbox is True


def _consent_answer(client, application):
    _verifier, challenge = pkce_pair()
    page = client.get(AUTHORIZE_URL, authorize_params(application, challenge, scope="openid patient/Observation.crs"))
    assert page.status_code == 200, page.content[:300]
    fields = consent_form(page.content.decode()).fields
    return client.post(AUTHORIZE_URL, {**fields, "consent": ["patient/Observation.crs"], "allow": "Autoriser"})


def test_the_consent_page_tells_a_real_person_that_a_sandbox_app_is_not_for_them(client, citizen):
    application = sandbox_app()
    client.force_login(citizen.user)
    answer = _consent_answer(client, application)
    assert answer.status_code == 403
    assert "Connexion d’un service impossible" in answer.content.decode()
    assert "seul l’usager de test fourni à son éditeur peut le connecter" in answer.content.decode()
    assert not answer.has_header("Location")
    assert not Pairing.objects.exists()


def test_the_consent_page_tells_a_test_person_that_a_production_app_is_not_for_them(client, test_person):
    application = make_application(name="Suivi Tension")
    client.force_login(test_person.user)
    answer = _consent_answer(client, application)
    assert answer.status_code == 403
    assert "Un usager de test ne peut connecter que l’application de test" in answer.content.decode()
    assert not Pairing.objects.exists()


def test_the_consent_page_pairs_a_test_person_with_the_sandbox_app(client, test_person):
    application = sandbox_app()
    client.force_login(test_person.user)
    answer = _consent_answer(client, application)
    assert answer.status_code == 302 and "code=" in answer["Location"]
    assert Pairing.objects.get().citizen == test_person


def test_registering_the_production_app_of_an_oid_leaves_its_sandbox_app_alone():
    application = sandbox_app()
    call_command(
        "app_register",
        "--oid",
        "1.2.250.1.999.77",
        "--name",
        "Suivi Tension",
        "--editor",
        "Éditeur de test",
        "--redirect-uri",
        "https://suivi-tension.example.fr/oauth/retour",
        "--scope",
        "patient/Observation.crs",
        stdout=StringIO(),
    )
    production = AppHabilitation.objects.get(oid="1.2.250.1.999.77", sandbox=False)
    assert production.application_id != application.pk and production.name == "Suivi Tension"
    assert AppHabilitation.objects.get(application=application).name == "Suivi Tension — bac à sable"
