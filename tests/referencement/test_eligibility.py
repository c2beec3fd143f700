"""The eligibility diagnosis: the two G_NIUS questions and the procedure advice, as a public GET form that works
without an account and without JavaScript."""

import pytest
from django.urls import reverse

from referencement.selectors import ELIGIBLE_EXCHANGE, ELIGIBLE_SIMPLE, NOT_ELIGIBLE, eligibility_assess

URL = "/editeurs/eligibilite/"


def test_the_route_is_the_agreed_one():
    assert reverse("referencement_eligibility") == URL


@pytest.mark.parametrize(
    ("answers", "verdict", "reason"),
    [
        ({"citizens": "non", "sector": "oui", "exchange": "non"}, NOT_ELIGIBLE, "réservé aux professionnels"),
        ({"citizens": "oui", "sector": "non", "exchange": "non"}, NOT_ELIGIBLE, "secteur sanitaire"),
        ({"citizens": "oui", "sector": "oui", "exchange": "non"}, ELIGIBLE_SIMPLE, "sans échanger de données"),
        (
            {"citizens": "oui", "sector": "oui", "exchange": "oui", "purpose": "autre", "oid": "oui"},
            ELIGIBLE_SIMPLE,
            "mais sans échange de données",
        ),
        (
            {"citizens": "oui", "sector": "oui", "exchange": "oui", "purpose": "soins", "oid": "oui"},
            ELIGIBLE_EXCHANGE,
            "« Soins »",
        ),
        (
            {"citizens": "oui", "sector": "oui", "exchange": "oui", "purpose": "suivi_social", "oid": "non"},
            ELIGIBLE_EXCHANGE,
            "AFNOR",
        ),
    ],
    ids=["professionals-only", "other-sector", "simple", "exchange-other-purpose", "exchange", "exchange-without-oid"],
)
def test_each_outcome_of_the_diagnosis(answers, verdict, reason):
    outcome = eligibility_assess(**answers)
    assert outcome.verdict == verdict
    assert reason in " ".join(outcome.reasons)
    assert outcome.oid_needed == (verdict == ELIGIBLE_EXCHANGE and answers.get("oid") == "non")
    assert outcome.procedure == ("avec_echange" if verdict == ELIGIBLE_EXCHANGE else "sans_echange")


def test_the_page_is_public_and_asks_the_questions(db, client):
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "s’adresse-t-il aux usagers" in page
    assert "secteur sanitaire (santé et bien-être), médico-social ou social" in page
    assert 'method="get"' in page
    assert "Résultat" not in page


@pytest.mark.parametrize("role", ["citizen", "professional", "editor", "commission", "admin"])
def test_every_role_may_use_it(client, persona_users, role):
    client.force_login(persona_users[role])
    assert client.get(URL).status_code == 200


def test_a_software_for_professionals_only_is_not_eligible(db, client):
    response = client.get(URL, {"usagers": "non", "secteur": "oui", "echange": "non"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Résultat : Non éligible" in page
    assert "un logiciel réservé aux professionnels n’est pas éligible" in page
    assert "Prochaines étapes" not in page


def test_the_exchange_procedure_outcome_gives_the_next_steps(db, client):
    response = client.get(
        URL, {"usagers": "oui", "secteur": "oui", "echange": "oui", "finalite": "prevention", "oid": "non"}
    )
    page = response.content.decode()
    assert "Résultat : Éligible — procédure avec échange de données" in page
    assert "Prochaines étapes" in page
    assert "Sécurité des échanges de données" in page
    assert "enregistrement@afnor.org" in page
    # A visitor is invited to sign in; the editor's own links are for editors.
    assert reverse("account_login") in page
    assert reverse("referencement_dossier_new") not in page


def test_a_signed_in_editor_gets_links_to_convergence_and_a_new_dossier(client, editor):
    client.force_login(editor)
    page = client.get(URL, {"usagers": "oui", "secteur": "oui", "echange": "non"}).content.decode()
    assert "Éligible — procédure simple" in page
    assert reverse("convergence_products") in page
    assert reverse("referencement_dossier_new") in page


@pytest.mark.parametrize(
    ("params", "messages"),
    [
        (
            {"diagnostic": "1"},
            [
                "Indiquez si votre service s’adresse aux usagers.",
                "Indiquez si votre service relève de l’un de ces secteurs.",
                "Indiquez si votre service doit échanger des données avec Mon espace santé.",
            ],
        ),
        (
            {"usagers": "oui", "secteur": "oui", "echange": "oui"},
            ["Choisissez la finalité des échanges de données.", "Indiquez si votre organisation dispose d’un OID."],
        ),
        (
            {"usagers": "peut-être", "secteur": "oui", "echange": "non"},
            ["Indiquez si votre service s’adresse aux usagers."],
        ),
        (
            {"usagers": "oui", "secteur": "oui", "echange": "oui", "finalite": "loisirs", "oid": "oui"},
            ["Choisissez la finalité des échanges de données."],
        ),
    ],
    ids=["nothing-answered", "exchange-details-missing", "invalid-answer", "unknown-purpose"],
)
def test_each_missing_answer_gets_a_french_error(db, client, params, messages):
    response = client.get(URL, params)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Le diagnostic est incomplet" in page
    for message in messages:
        assert message in page
    assert "Résultat" not in page


def test_purpose_and_oid_are_ignored_without_data_exchange(db, client):
    response = client.get(URL, {"usagers": "oui", "secteur": "oui", "echange": "non", "finalite": "", "oid": ""})
    assert response.status_code == 200
    assert "Éligible — procédure simple" in response.content.decode()


def test_the_editor_home_links_to_the_diagnosis(client, editor):
    client.force_login(editor)
    assert URL in client.get(reverse("editor_home")).content.decode()
