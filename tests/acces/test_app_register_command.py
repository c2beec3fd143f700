"""``manage.py app_register``: a referenced app's OAuth2 client and habilitation, created or updated from the command
line; a confidential client's secret printed once and stored hashed; bad input refused with a French message and
nothing written."""

import base64
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from oauth2_provider.models import Application

from mes.acces.models import AppHabilitation, JournalEntry
from mes.acces.services.pairings import HABILITATION_GRANTED

pytestmark = pytest.mark.django_db

OID = "1.2.250.1.999.4242"
REDIRECT = "https://tensiocarnet.exemple.fr/oauth/retour"


def register(*args: str) -> str:
    out = StringIO()
    call_command("app_register", *args, stdout=out)
    return out.getvalue()


def create(*extra: str) -> str:
    return register(
        "--oid", OID, "--name", "TensioCarnet", "--editor", "Cardio Partage", "--redirect-uri", REDIRECT,
        "--scope", "patient/Observation.rs patient/Observation.c", "--scope", "patient/Patient.r", *extra,
    )  # fmt: skip


def printed(output: str, label: str) -> str:
    return re.search(rf"{label}\s*: (\S+)", output).group(1)


def test_a_confidential_client_is_created_and_its_secret_printed_once(client):
    output = create()
    habilitation = AppHabilitation.objects.select_related("application").get(oid=OID)
    application = habilitation.application
    assert habilitation.name == "TensioCarnet" and habilitation.editor_name == "Cardio Partage"
    assert habilitation.approved_scopes == ["patient/Observation.crs", "patient/Patient.r"]
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert application.redirect_uris == REDIRECT
    assert application.algorithm == Application.RS256_ALGORITHM
    assert not application.skip_authorization
    assert printed(output, "client_id") == application.client_id
    secret = printed(output, "client_secret")
    assert len(secret) >= 40 and secret not in application.client_secret  # stored hashed
    assert "affiché une seule fois" in output
    row = JournalEntry.objects.get(action=HABILITATION_GRANTED)
    assert row.actor_label == "Commande app_register" and row.details["nouvelle"] is True

    # The printed pair authenticates the client at the token endpoint (its answer is about the grant, not the client).
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    response = client.post(
        reverse("oauth2_provider:token"),
        {"grant_type": "authorization_code", "code": "inconnu", "redirect_uri": REDIRECT, "code_verifier": "x" * 43},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.json()["error"] == "invalid_grant"
    wrong = base64.b64encode(f"{application.client_id}:mauvais-secret".encode()).decode()
    response = client.post(
        reverse("oauth2_provider:token"),
        {"grant_type": "authorization_code", "code": "inconnu", "redirect_uri": REDIRECT, "code_verifier": "x" * 43},
        HTTP_AUTHORIZATION=f"Basic {wrong}",
    )
    assert response.json()["error"] == "invalid_client"


def test_a_public_client_gets_no_secret():
    output = create("--client-type", "public")
    application = Application.objects.get()
    assert application.client_type == Application.CLIENT_PUBLIC
    assert "client_secret" not in output


def test_running_it_again_updates_the_app_and_prints_no_secret():
    create()
    application = Application.objects.get()
    hashed = application.client_secret
    output = register(
        "--oid", OID, "--name", "TensioCarnet Pro", "--scope", "patient/Observation.rs",
        "--redirect-uri", REDIRECT, "--redirect-uri", "https://tensiocarnet.exemple.fr/autre-retour",
    )  # fmt: skip
    assert "Service mis à jour" in output and "client_secret" not in output
    habilitation = AppHabilitation.objects.select_related("application").get()
    assert habilitation.name == "TensioCarnet Pro" and habilitation.editor_name == "Cardio Partage"
    assert habilitation.approved_scopes == ["patient/Observation.rs"]
    assert habilitation.application.pk == application.pk
    assert habilitation.application.client_secret == hashed
    assert habilitation.application.redirect_uris.split() == [REDIRECT, "https://tensiocarnet.exemple.fr/autre-retour"]
    assert JournalEntry.objects.filter(action=HABILITATION_GRANTED).count() == 2


def test_new_secret_replaces_a_lost_one():
    first = printed(create(), "client_secret")
    hashed = Application.objects.get().client_secret
    second = printed(register("--oid", OID, "--new-secret"), "client_secret")
    assert second != first
    assert Application.objects.get().client_secret != hashed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--oid", "1.2.x"], "OID invalide"),
        (["--oid", OID, "--name", "X"], "indiquez aussi --editor, --redirect-uri, --scope"),
        (
            ["--oid", OID, "--name", "X", "--editor", "Y", "--redirect-uri", "http://x.exemple.fr/r", "--scope",
             "patient/Patient.r"],
            "doit être une adresse https complète",
        ),
        (
            ["--oid", OID, "--name", "X", "--editor", "Y", "--redirect-uri", "https://x.exemple.fr/r#frag", "--scope",
             "patient/Patient.r"],
            "fragment",
        ),
        (
            ["--oid", OID, "--name", "X", "--editor", "Y", "--redirect-uri", REDIRECT, "--scope", "patient/Patient.w"],
            "Périmètre inconnu : patient/Patient.w",
        ),
        (
            ["--oid", OID, "--name", "X", "--editor", "Y", "--redirect-uri", REDIRECT, "--scope", "patient/Patient.r",
             "--new-secret"],
            "ne s’emploie que pour un service déjà enregistré",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        register(*args)
    assert not Application.objects.exists()
    assert not AppHabilitation.objects.exists()


def test_the_client_type_of_a_registered_app_does_not_change():
    create()
    with pytest.raises(CommandError, match="ne change pas"):
        register("--oid", OID, "--client-type", "public")
    assert Application.objects.get().client_type == Application.CLIENT_CONFIDENTIAL


def test_a_public_client_has_no_secret_to_renew():
    create("--client-type", "public")
    with pytest.raises(CommandError, match="Un client public n’a pas de secret"):
        register("--oid", OID, "--new-secret")
