"""Who may open the editors' référencement pages: visitors sign in, other roles get 403, another organisation's editor
gets 404 on every dossier route (as for a dossier that does not exist), and nothing is changed by a refused request."""

import pytest
from django.urls import reverse

from referencement.models import Dossier, State
from referencement.services.dossiers import dossier_screenshot_add
from tests.referencement.conftest import dossier_in_state, png_bytes

OTHER_ROLES = ["citizen", "professional", "commission", "admin"]


def dossier_routes(dossier, screenshot) -> list[tuple[str, str]]:
    """(method, url) of every editors' route that names a dossier."""
    pid, sid = dossier.public_id, screenshot.public_id
    return [
        ("get", reverse("referencement_dossier", args=[pid])),
        ("get", reverse("referencement_extract_pdf", args=[pid])),
        ("get", reverse("referencement_dossier_edit", args=[pid, "procedure"])),
        ("post", reverse("referencement_dossier_edit", args=[pid, "fiche"])),
        ("get", reverse("referencement_dossier_edit", args=[pid, "echanges"])),
        ("get", reverse("referencement_dossier_images", args=[pid])),
        ("post", reverse("referencement_dossier_logo", args=[pid])),
        ("post", reverse("referencement_dossier_screenshot_add", args=[pid])),
        ("post", reverse("referencement_dossier_screenshot_remove", args=[pid, sid])),
        ("post", reverse("referencement_dossier_screenshot_move", args=[pid, sid])),
        ("get", reverse("referencement_dossier_image", args=[pid, dossier.logo_key])),
        ("get", reverse("referencement_dossier_submit", args=[pid])),
        ("post", reverse("referencement_dossier_submit", args=[pid])),
        ("get", reverse("referencement_dossier_abandon", args=[pid])),
        ("post", reverse("referencement_dossier_abandon", args=[pid])),
        ("get", reverse("referencement_dossier_answer", args=[pid])),
        ("post", reverse("referencement_dossier_answer", args=[pid])),
        ("get", reverse("referencement_dossier_redeclare", args=[pid])),
        ("post", reverse("referencement_dossier_redeclare", args=[pid])),
    ]


LIST_ROUTES = [
    ("get", "referencement_dossiers"),
    ("get", "referencement_dossier_new"),
    ("post", "referencement_dossier_new"),
    ("get", "editor_home"),
]


@pytest.fixture
def dossier(draft_dossier, editor):
    """A complete draft with a screenshot; its extract frozen, so that every route has something to show."""
    from convergence.exports import export_data

    extract = export_data(draft_dossier.product)
    Dossier.objects.filter(pk=draft_dossier.pk).update(extract=extract, extract_checksum=extract["checksum"])
    draft_dossier.refresh_from_db()
    return draft_dossier


@pytest.fixture
def screenshot(dossier, editor):
    return dossier_screenshot_add(actor=editor, dossier=dossier, upload=png_bytes(200, 200), alt_text="Écran")


def _snapshot(dossier) -> tuple:
    dossier.refresh_from_db()
    return (
        dossier.state,
        dossier.name,
        dossier.logo.name,
        list(dossier.screenshots.values_list("pk", "position")),
        dossier.updated_at,
    )


def test_visitors_are_asked_to_sign_in_everywhere(client, dossier, screenshot):
    before = _snapshot(dossier)
    for method, url in dossier_routes(dossier, screenshot) + [(m, reverse(n)) for m, n in LIST_ROUTES]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login")), (method, url)
    assert _snapshot(dossier) == before


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_everywhere(client, persona_users, dossier, screenshot, role):
    before = _snapshot(dossier)
    client.force_login(persona_users[role])
    for method, url in dossier_routes(dossier, screenshot) + [(m, reverse(n)) for m, n in LIST_ROUTES]:
        assert getattr(client, method)(url).status_code == 403, (role, method, url)
    assert _snapshot(dossier) == before


def test_another_organisations_editor_finds_nothing(client, outsider, dossier, screenshot):
    before = _snapshot(dossier)
    client.force_login(outsider)
    for method, url in dossier_routes(dossier, screenshot):
        assert getattr(client, method)(url).status_code == 404, (method, url)
    assert _snapshot(dossier) == before
    # Their own lists do not show it either.
    for name in ("editor_home", "referencement_dossiers"):
        assert dossier.reference not in client.get(reverse(name)).content.decode()


def test_an_unknown_dossier_is_a_404(client, editor):
    client.force_login(editor)
    url = reverse("referencement_dossier", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(url).status_code == 404


def test_the_editor_and_a_colleague_open_every_page(client, editor, colleague, dossier, screenshot):
    for user in (editor, colleague):
        client.force_login(user)
        for method, url in dossier_routes(dossier, screenshot):
            if method == "get":
                assert client.get(url).status_code in (200, 302), (user, url)


@pytest.mark.parametrize("role", ["commission", "admin"])
def test_the_commission_and_the_administrators_cannot_edit_a_dossier_they_review(
    client, persona_users, ready_product, role
):
    dossier = dossier_in_state(ready_product, State.COMPLETION)
    client.force_login(persona_users[role])
    url = reverse("referencement_dossier_edit", args=[dossier.public_id, "procedure"])
    response = client.post(url, {"procedure": "sans_echange", "purpose": "soins", "purpose_details": "Modifié."})
    assert response.status_code == 403
    dossier.refresh_from_db()
    assert dossier.procedure == "avec_echange"
    assert dossier.purpose_details != "Modifié."
