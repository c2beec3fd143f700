"""The editors' Convergence pages: every route × role, declaring and editing a product, the product page (scores,
readiness, blocking gaps, export links), duplication through the page, constant query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from convergence.models import Answer, Platform, Procedure, Product, ProductType
from convergence.services import answer_save, evidence_add
from mes.acces.models import JournalEntry
from tests.convergence.conftest import criterion, declare
from tests.dossier.documents_samples import pdf_bytes, upload
from tests.factories import MembershipFactory


def product_routes(product) -> list[tuple[str, str]]:
    """(method, url) of every route that names a product."""
    pid = product.public_id
    return [
        ("get", reverse("convergence_product", args=[pid])),
        ("get", reverse("convergence_product_edit", args=[pid])),
        ("get", reverse("convergence_duplicate", args=[pid])),
        ("get", reverse("convergence_section", args=[pid, "urbanisation", "identification"])),
        ("post", reverse("convergence_answer", args=[pid, "URB-01"])),
        ("post", reverse("convergence_evidence_upload", args=[pid, "ethique", "transparence"])),
    ]


def save(actor, product, code, value, revision=0, platform=""):
    return answer_save(
        actor=actor,
        product=product,
        criterion=criterion(code),
        platform=platform,
        value=value,
        expected_revision=revision,
    )


def answer_all(editor, product, platform=""):
    """Meet every mandatory criterion of the test referential (ETH-01 and ETH-02 need a file)."""
    for code, value in [("URB-01", "oui"), ("URB-03", "non"), ("URB-04", "hds_certifie"), ("URB-05", "80")]:
        save(editor, product, code, value, platform=platform)
    save(editor, product, "ETH-01", "oui", platform=platform)
    save(editor, product, "ETH-03", "oui", platform=platform)
    if product.procedure == Procedure.AVEC_ECHANGE:
        save(editor, product, "ECH-01", "oui", platform=platform)
    for code in ("ETH-01", "ETH-02"):
        evidence_add(
            actor=editor, product=product, criterion=criterion(code), platform=platform, upload=upload(pdf_bytes())
        )


# --- Access ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/editeurs/convergence/", "/editeurs/convergence/nouveau/"])
def test_list_and_declaration_answer_editors_only(client, persona_users, path):
    response = client.get(path)
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    for role, user in persona_users.items():
        client.force_login(user)
        assert client.get(path).status_code == (200 if role == "editor" else 403), role


def test_every_product_route_asks_visitors_to_sign_in_and_refuses_other_roles(
    client, persona_users, product_per_platform
):
    for method, url in product_routes(product_per_platform):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login"))
        for role in ("citizen", "professional", "commission", "admin"):
            client.force_login(persona_users[role])
            assert getattr(client, method)(url).status_code == 403, (role, url)
        client.logout()


def test_another_organisations_editor_gets_404_on_every_product_route(client, outsider, product_per_platform):
    client.force_login(outsider)
    for method, url in product_routes(product_per_platform):
        assert getattr(client, method)(url).status_code == 404, url
    evidence = evidence_add(
        actor=product_per_platform.created_by,
        product=product_per_platform,
        criterion=criterion("ETH-02"),
        platform="android",
        upload=upload(pdf_bytes()),
    ).evidence
    url = reverse("convergence_evidence_download", args=[product_per_platform.public_id, evidence.public_id])
    assert client.get(url).status_code == 404
    # Nothing was written by the refused requests.
    assert not Answer.objects.filter(product=product_per_platform, value__isnull=False).exists()
    assert not client.get("/editeurs/convergence/").context["rows"]


def test_members_open_every_product_page(client, colleague, product_per_platform):
    client.force_login(colleague)
    for method, url in product_routes(product_per_platform):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_state_changing_routes_refuse_get(client, editor, product):
    client.force_login(editor)
    assert client.get(reverse("convergence_answer", args=[product.public_id, "URB-01"])).status_code == 405
    upload_url = reverse("convergence_evidence_upload", args=[product.public_id, "ethique", "transparence"])
    assert client.get(upload_url).status_code == 405


def test_the_editors_home_links_to_convergence(client, editor):
    client.force_login(editor)
    assert reverse("convergence_products") in client.get(reverse("editor_home")).content.decode()


# --- Declaring ------------------------------------------------------------------------------------------------


def test_an_editor_declares_a_product(client, editor, organisation, referential):
    client.force_login(editor)
    page = client.get(reverse("convergence_product_new")).content.decode()
    assert "Sans échange de données" in page and "Avec échange de données" in page
    assert "Une réponse par plateforme" in page
    assert 'name="organisation"' not in page  # a single organisation: nothing to choose
    response = client.post(
        reverse("convergence_product_new"),
        {
            "name": "Suivi Glycémie",
            "version": "1.4",
            "product_type": ProductType.MOBILE_APP,
            "platforms": ["android", "ios"],
            "procedure": Procedure.SANS_ECHANGE,
            "answering": "par_plateforme",
        },
    )
    product = Product.objects.get(name="Suivi Glycémie")
    assert response.status_code == 302
    assert response["Location"] == reverse("convergence_product", args=[product.public_id])
    assert product.organisation == organisation and product.created_by == editor
    assert product.platforms == ["android", "ios"] and product.answers_per_platform
    assert re.fullmatch(r"CONV-\d{4}-\d{6}", product.reference)
    assert JournalEntry.objects.filter(action="convergence.produit.declare").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert product.reference in page and "2026.1" in page


def test_declaration_errors_are_in_french_and_nothing_is_declared(client, editor, referential):
    client.force_login(editor)
    response = client.post(reverse("convergence_product_new"), {"name": "", "version": "", "platforms": ["linux"]})
    assert response.status_code == 400
    page = response.content.decode()
    for message in (
        "Le formulaire contient des erreurs",
        "Indiquez le nom du service tel que les usagers le voient.",
        "Indiquez la version du service.",
        "Choisissez le type du service.",
        "Choisissez au moins une plateforme parmi Web, Android et iOS.",
        "Choisissez la démarche : sans ou avec échange de données.",
    ):
        assert message in page, message
    assert not Product.objects.exists()


def test_an_editor_of_several_organisations_chooses_one_of_theirs(client, editor, organisation, referential):
    other = MembershipFactory(user=editor).organisation
    foreign = MembershipFactory().organisation
    client.force_login(editor)
    page = client.get(reverse("convergence_product_new")).content.decode()
    assert other.name in page and foreign.name not in page
    fields = {
        "name": "Portail",
        "version": "2",
        "product_type": ProductType.WEBSITE,
        "platforms": ["web"],
        "procedure": Procedure.SANS_ECHANGE,
        "answering": "commune",
    }
    response = client.post(reverse("convergence_product_new"), fields | {"organisation": foreign.pk})
    assert response.status_code == 400
    assert "Choisissez l’une de vos organisations." in response.content.decode()
    client.post(reverse("convergence_product_new"), fields | {"organisation": other.pk})
    assert Product.objects.get().organisation == other


def test_declaring_without_a_referential_in_force_is_explained(client, editor):
    client.force_login(editor)
    page = client.get(reverse("convergence_product_new")).content.decode()
    assert "Aucun référentiel Convergence n’est en vigueur" in page


def test_editing_a_product_keeps_its_reference_and_explains_refusals(client, editor, product_per_platform):
    client.force_login(editor)
    url = reverse("convergence_product_edit", args=[product_per_platform.public_id])
    assert "Agenda Santé" in client.get(url).content.decode()
    save(editor, product_per_platform, "URB-01", "oui", platform="ios")
    fields = {
        "name": "Agenda Santé Plus",
        "version": "4.0",
        "product_type": ProductType.MOBILE_APP,
        "platforms": ["android"],
        "procedure": Procedure.AVEC_ECHANGE,
        "answering": "par_plateforme",
    }
    response = client.post(url, fields)
    assert response.status_code == 400
    # A single platform left would answer in common: refused once answers exist, in French, on the form.
    assert "la façon de répondre (commune ou par plateforme) ne peut plus changer" in response.content.decode()
    response = client.post(url, fields | {"platforms": ["android", "ios"]})
    assert response.status_code == 302
    product = Product.objects.get(pk=product_per_platform.pk)
    assert (product.name, product.version, product.reference) == (
        "Agenda Santé Plus",
        "4.0",
        product_per_platform.reference,
    )


# --- The list and the product page ----------------------------------------------------------------------------


def test_the_list_shows_progress_and_readiness(client, editor, organisation, referential):
    ready = declare(editor, organisation, name="Prêt", procedure=Procedure.SANS_ECHANGE, platforms=["web"])
    answer_all(editor, ready)
    declare(editor, organisation, name="En cours")
    MembershipFactory()  # another organisation's product never shows
    client.force_login(editor)
    page = client.get(reverse("convergence_products")).content.decode()
    assert "Prêt pour le référencement" in page
    assert "8 écarts bloquants" in page  # URB-01, 03, 04, 05, ETH-01, 02, 03 and ECH-01 (avec échange)
    assert ready.reference in page


def test_the_product_page_shows_scores_gaps_and_links(client, editor, product):
    save(editor, product, "URB-01", "oui")
    save(editor, product, "URB-03", "oui")  # expected « non »: a blocking gap with its reason
    client.force_login(editor)
    response = client.get(reverse("convergence_product", args=[product.public_id]))
    page = response.content.decode()
    assert product.reference in page
    assert "Urbanisation" in page
    assert "25.0 %" in page or "25,0 %" in page  # 1 mandatory met out of 4 in urbanisation
    assert "réponse attendue : Non" in page
    section = reverse("convergence_section", args=[product.public_id, "urbanisation", "identification"])
    assert f"{section}#critere-URB-03" in page
    assert "Prêt pour le référencement" not in page.split("<h2")[0]
    # The exports' links are drawn only once their routes exist.
    for name in ("convergence_export_pdf", "convergence_export_json", "convergence_export_csv"):
        try:
            url = reverse(name, kwargs={"product_id": product.public_id})
        except NoReverseMatch:
            url = None  # the exports are a separate part: the link is drawn once the route exists
        assert url is None or url in page


def test_a_ready_product_says_so(client, editor, organisation, referential):
    product = declare(editor, organisation, procedure=Procedure.SANS_ECHANGE)
    answer_all(editor, product)
    client.force_login(editor)
    page = client.get(reverse("convergence_product", args=[product.public_id])).content.decode()
    assert "Prêt pour le référencement" in page
    assert "Tous les critères obligatoires de la démarche sont satisfaits" in page
    assert "Écarts bloquants" not in page


def test_product_page_and_list_read_in_a_constant_number_of_queries(client, editor, organisation, referential):
    client.force_login(editor)
    product = declare(editor, organisation, procedure=Procedure.SANS_ECHANGE)
    url = reverse("convergence_product", args=[product.public_id])
    client.get(url)
    with CaptureQueriesContext(connection) as empty:
        client.get(url)
    with CaptureQueriesContext(connection) as empty_list:
        client.get(reverse("convergence_products"))
    answer_all(editor, product)
    declare(editor, organisation, name="Deuxième")
    with CaptureQueriesContext(connection) as full:
        client.get(url)
    with CaptureQueriesContext(connection) as full_list:
        client.get(reverse("convergence_products"))
    assert len(full) == len(empty)
    assert len(full_list) == len(empty_list)


# --- Duplication ----------------------------------------------------------------------------------------------


def test_duplicating_answers_through_the_page(client, editor, product_per_platform):
    product = product_per_platform
    save(editor, product, "URB-01", "oui", platform="android")
    save(editor, product, "URB-03", "non", platform="android")
    client.force_login(editor)
    page = client.get(reverse("convergence_product", args=[product.public_id])).content.decode()
    assert "Dupliquer les réponses" in page
    url = reverse("convergence_duplicate", args=[product.public_id])
    response = client.post(url, {"source": "android", "target": "ios"})
    assert response.status_code == 302
    assert Answer.objects.filter(product=product, platform="ios").count() == 2
    assert "2 réponse(s) de Android copiée(s) vers iOS." in client.get(response["Location"]).content.decode()


def test_duplication_conflicts_are_shown_and_can_be_overwritten(client, editor, product_per_platform):
    product = product_per_platform
    save(editor, product, "URB-01", "oui", platform="android")
    save(editor, product, "URB-01", "non", platform="ios")
    client.force_login(editor)
    url = reverse("convergence_duplicate", args=[product.public_id])
    response = client.post(url, {"source": "android", "target": "ios"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Aucune réponse n’a été copiée" in page and "URB-01" in page
    assert "Remplacer les réponses existantes de la plateforme cible" in page
    assert Answer.objects.get(product=product, platform="ios").value == "non"
    response = client.post(url, {"source": "android", "target": "ios", "overwrite": "on"})
    assert response.status_code == 302
    assert Answer.objects.get(product=product, platform="ios").value == "oui"


def test_duplication_form_errors(client, editor, product, product_per_platform):
    client.force_login(editor)
    url = reverse("convergence_duplicate", args=[product_per_platform.public_id])
    response = client.post(url, {"source": "android", "target": "android"})
    assert response.status_code == 400
    assert "Choisissez une plateforme cible différente de la source." in response.content.decode()
    response = client.post(url, {"source": "web", "target": "ios"})
    assert response.status_code == 400
    # A product answering in common has nothing to duplicate.
    assert client.get(reverse("convergence_duplicate", args=[product.public_id])).status_code == 404


@pytest.mark.parametrize("platform", [Platform.ANDROID])
def test_single_platform_products_never_offer_duplication(client, editor, organisation, referential, platform):
    product = declare(editor, organisation, platforms=[platform], answers_per_platform=True)
    client.force_login(editor)
    page = client.get(reverse("convergence_product", args=[product.public_id])).content.decode()
    assert "Dupliquer les réponses d’une plateforme" not in page
