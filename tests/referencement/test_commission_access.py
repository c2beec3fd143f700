"""Who reaches the commission's pages: members and administrators per route, a 403 for every other role (the
dossier's own editor included), the sign-in page for visitors, a 404 for a dossier a reviewer may not see."""

import uuid

import pytest
from django.urls import reverse

from convergence.models import EvidenceFile
from referencement.models import State
from tests.referencement.conftest import dossier_in_state

ROLES = ["citizen", "professional", "editor", "commission", "admin"]
BOTH = ("commission", "admin")

# (route name, method, roles allowed, extra URL argument)
ROUTES = [
    ("commission_home", "get", BOTH, None),
    ("commission_statistics", "get", BOTH, None),
    ("commission_dossier", "get", BOTH, None),
    ("commission_extract_pdf", "get", BOTH, None),
    ("commission_dossier_image", "get", BOTH, "image"),
    ("commission_evidence", "get", BOTH, "evidence"),
    ("commission_comment", "post", BOTH, None),
    ("commission_conflict", "post", ("commission",), None),
    ("commission_vote", "post", ("commission",), None),
    ("commission_opinion", "get", ("commission",), None),
    ("commission_opinion", "post", ("commission",), None),
    ("commission_admissible", "post", ("admin",), None),
    ("commission_completion", "get", ("admin",), None),
    ("commission_completion", "post", ("admin",), None),
    ("commission_tests_start", "post", ("admin",), None),
    ("commission_refer", "post", ("admin",), None),
    ("commission_decision", "get", ("admin",), None),
    ("commission_decision", "post", ("admin",), None),
]
ROUTE_IDS = [f"{name}-{method}" for name, method, _roles, _extra in ROUTES]


@pytest.fixture
def reviewed(ready_product, editor):
    return dossier_in_state(ready_product, State.COMMISSION, editor=editor)


def _url(name: str, dossier, extra: str | None) -> str:
    if name in ("commission_home", "commission_statistics"):
        return reverse(name)
    if extra == "image":
        return reverse(name, args=[dossier.public_id, dossier.logo_key])
    if extra == "evidence":
        named = [
            item for block in dossier.extract["questionnaires"] for row in block["criteria"] for item in row["evidence"]
        ]
        evidence = EvidenceFile.objects.filter(product=dossier.product, sha256=named[0]["sha256"]).first()
        return reverse(name, args=[dossier.public_id, evidence.public_id])
    return reverse(name, args=[dossier.public_id])


@pytest.mark.parametrize(("name", "method", "allowed", "extra"), ROUTES, ids=ROUTE_IDS)
def test_each_route_is_open_to_its_roles_only(client, persona_users, reviewed, name, method, allowed, extra):
    url = _url(name, reviewed, extra)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for role in ROLES:
        client.force_login(persona_users[role])
        response = getattr(client, method)(url)
        if role in allowed:
            # The page itself answers (a form with errors, a redirect after a refused step...), never a refusal.
            assert response.status_code in (200, 302, 400), (role, response.status_code)
            if response.status_code == 302:
                assert not response["Location"].startswith(reverse("account_login"))
        else:
            assert response.status_code == 403, role


def test_the_dossiers_own_editor_gets_403_everywhere_in_the_commission(client, editor, reviewed):
    assert reviewed.organisation.memberships.filter(user=editor).exists()
    client.force_login(editor)
    for name, method, _allowed, extra in ROUTES:
        assert getattr(client, method)(_url(name, reviewed, extra)).status_code == 403, name


@pytest.mark.parametrize("role", BOTH)
def test_a_draft_or_an_unknown_dossier_is_not_found_for_reviewers(client, persona_users, draft_dossier, role):
    client.force_login(persona_users[role])
    for dossier_id in (draft_dossier.public_id, uuid.uuid4()):
        for name in ("commission_dossier", "commission_extract_pdf"):
            assert client.get(reverse(name, args=[dossier_id])).status_code == 404
        assert client.post(reverse("commission_comment", args=[dossier_id]), {"body": "Test."}).status_code == 404


def test_an_administrators_header_leads_to_the_referencement(client, administrator):
    client.force_login(administrator)
    html = client.get(reverse("commission_home")).content.decode()
    assert f'href="{reverse("commission_home")}"' in html
    assert "Référencement" in html
