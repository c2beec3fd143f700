"""The editors' référencement pages: home, list, creation, the dossier page (timeline, extract, next step), the
sections, the images, submission and the editor's steps, through the views."""

import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from catalogue.models import DataExchange
from convergence.models import Procedure
from convergence.services import product_declare
from referencement.models import (
    Audit,
    CommissionComment,
    Decision,
    DecisionResult,
    Dossier,
    DossierKind,
    Opinion,
    OpinionResult,
    State,
    Vote,
)
from referencement.services.dossiers import dossier_create
from referencement.workflow import dossier_transition
from tests.referencement.conftest import dossier_in_state, png_bytes


def page_of(response) -> str:
    return response.content.decode()


def text_of(response) -> str:
    """The page's text, tags removed and blanks folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", page_of(response)).split())


@pytest.fixture
def signed_in(client, editor):
    client.force_login(editor)
    return client


def detail_url(dossier) -> str:
    return reverse("referencement_dossier", args=[dossier.public_id])


# --- Home and list ----------------------------------------------------------------------------------------------------


def test_the_home_shows_the_dossiers_the_convergence_card_and_the_diagnosis(signed_in, ready_product, organisation):
    dossier = dossier_in_state(ready_product, State.COMPLETION)
    response = signed_in.get(reverse("editor_home"))
    page = page_of(response)
    assert response.status_code == 200
    assert dossier.reference in page
    assert detail_url(dossier) in page
    assert "À compléter" in page
    assert "fr-badge--warning" in page
    assert reverse("convergence_products") in page
    assert reverse("referencement_eligibility") in page
    assert reverse("referencement_dossier_new") in page
    assert organisation.name in page


def test_the_home_without_dossier_says_so(signed_in):
    assert "Aucun dossier de référencement pour le moment." in page_of(signed_in.get(reverse("editor_home")))


def test_the_list_shows_only_the_organisations_dossiers(signed_in, ready_product, outsider):
    mine = dossier_in_state(ready_product, State.INSTRUCTION)
    from mes.comptes.models import Membership
    from tests.referencement.conftest import make_ready_product

    theirs_product = make_ready_product(outsider, Membership.objects.get(user=outsider).organisation, name="Autre")
    theirs = dossier_in_state(theirs_product, State.DRAFT)
    page = page_of(signed_in.get(reverse("referencement_dossiers")))
    assert mine.reference in page
    assert "En instruction" in page
    assert theirs.reference not in page


# --- Creation ---------------------------------------------------------------------------------------------------------


def test_the_new_page_offers_ready_products_and_says_why_others_are_not(signed_in, ready_product, editor, organisation):
    not_ready = product_declare(
        actor=editor,
        organisation=organisation,
        name="Carnet Ado",
        version="0.9",
        product_type="site_web",
        platforms=["web"],
        procedure=Procedure.SANS_ECHANGE,
    )
    page = page_of(signed_in.get(reverse("referencement_dossier_new")))
    assert f'value="{ready_product.public_id}"' in page
    assert f'value="{not_ready.public_id}"' not in page
    assert "Carnet Ado 0.9" in page
    assert "pas encore prêt" in page
    assert reverse("convergence_product", args=[not_ready.public_id]) in page


def test_a_product_with_a_request_in_progress_links_to_it(signed_in, ready_product):
    dossier = dossier_in_state(ready_product, State.SUBMITTED)
    page = page_of(signed_in.get(reverse("referencement_dossier_new")))
    assert f'value="{ready_product.public_id}"' not in page
    assert detail_url(dossier) in page
    assert "Aucun produit n’est prêt pour un nouveau dossier" in page


def test_creating_a_dossier_through_the_page(signed_in, ready_product):
    response = signed_in.post(
        reverse("referencement_dossier_new"), {"product": str(ready_product.public_id), "procedure": "avec_echange"}
    )
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(dossier)
    assert (dossier.procedure, dossier.state) == (Procedure.AVEC_ECHANGE, State.DRAFT)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"procedure": "sans_echange"}, "Choisissez le produit Convergence à référencer."),
        ({"product": "other", "procedure": "sans_echange"}, "Choisissez l’un de vos produits prêts"),
        ({"product": "ready"}, "Choisissez la procédure : simple ou avec échange de données."),
        ({"product": "simple", "procedure": "avec_echange"}, "évalué dans Convergence pour la démarche"),
    ],
    ids=["no-product", "foreign-product", "no-procedure", "exchange-on-simple"],
)
def test_creation_errors_are_french_and_create_nothing(
    signed_in, ready_product, ready_product_simple, outsider, data, message
):
    products = {"ready": ready_product, "simple": ready_product_simple}
    if data.get("product") == "other":
        from mes.comptes.models import Membership
        from tests.referencement.conftest import make_ready_product

        data["product"] = str(
            make_ready_product(outsider, Membership.objects.get(user=outsider).organisation, name="Autre").public_id
        )
    elif "product" in data:
        data["product"] = str(products[data["product"]].public_id)
    response = signed_in.post(reverse("referencement_dossier_new"), data)
    assert response.status_code == 400
    assert message in page_of(response)
    assert not Dossier.objects.exists()


# --- The dossier page -------------------------------------------------------------------------------------------------


def test_a_draft_shows_what_is_missing_with_links_to_the_sections(signed_in, ready_product, editor):
    dossier = dossier_create(actor=editor, product=ready_product, procedure="avec_echange")
    response = signed_in.get(detail_url(dossier))
    page = page_of(response)
    assert response.status_code == 200
    assert "Brouillon" in page
    assert "Choisissez la finalité du service." in page
    assert reverse("referencement_dossier_edit", args=[dossier.public_id, "procedure"]) + "#id_purpose" in page
    assert reverse("referencement_dossier_edit", args=[dossier.public_id, "echanges"]) + "#id_oid" in page
    assert reverse("referencement_dossier_images", args=[dossier.public_id]) + "#id_logo" in page
    assert reverse("referencement_dossier_abandon", args=[dossier.public_id]) in page
    assert "Aucune étape pour le moment" in page


def test_a_complete_draft_says_it_can_be_submitted(signed_in, draft_dossier):
    page = page_of(signed_in.get(detail_url(draft_dossier)))
    assert "Le dossier est complet : vous pouvez le déposer." in page
    assert reverse("referencement_dossier_submit", args=[draft_dossier.public_id]) in page


def test_the_timeline_names_the_commission_and_the_administration_not_their_members(
    signed_in, ready_product, editor, administrator, other_member
):
    dossier = dossier_in_state(ready_product, State.DRAFT, editor=editor)
    dossier_transition(actor=editor, dossier=dossier, transition="submit")
    dossier_transition(
        actor=administrator,
        dossier=dossier,
        transition="request_completion",
        comment="Ajoutez la déclaration d’accessibilité.",
        details={"deadline": "2031-03-15"},
    )
    dossier_transition(actor=editor, dossier=dossier, transition="submit")
    dossier_transition(actor=administrator, dossier=dossier, transition="declare_admissible")
    dossier_transition(
        actor=administrator, dossier=dossier, transition="refer_to_commission", changes={"commission_round": 1}
    )
    CommissionComment.objects.create(dossier=dossier, author=other_member, body="Commentaire privé des membres.")
    Vote.objects.create(dossier=dossier, round=1, member=other_member, choice="defavorable", reason="Vote secret.")
    Opinion.objects.create(
        dossier=dossier,
        round=1,
        result=OpinionResult.ADJOURNED,
        reasons="La commission souhaite l’étude clinique.",
        tally={"ajourne": 3},
    )
    dossier_transition(
        actor=other_member,
        dossier=dossier,
        transition="adjourn",
        comment="Transmettez l’étude clinique.",
        details={"round": 1, "tally": {"ajourne": 3}, "deadline": "2031-04-30"},
    )
    # The editor, the administrator and the member have different names, so that each check below means something.
    assert len({editor.display_name, administrator.display_name, other_member.display_name}) == 3
    response = signed_in.get(detail_url(dossier))
    text = text_of(response)
    assert "Compléments demandés" in text
    assert "Ajoutez la déclaration d’accessibilité." in text
    assert "Date limite de réponse : 15 mars 2031 à 23:59" in text
    assert "Avis ajourné — informations demandées" in text
    assert "Date limite de réponse : 30 avril 2031 à 23:59" in text
    assert "La commission souhaite l’étude clinique." in text
    assert "La commission" in text
    assert "L’administration" in text
    assert editor.display_name in text
    # No member's name, no private comment, no vote.
    assert administrator.display_name not in text
    assert other_member.display_name not in text
    assert "Commentaire privé des membres." not in text
    assert "Vote secret." not in text
    assert reverse("referencement_dossier_answer", args=[dossier.public_id]) in page_of(response)


def test_the_decision_and_the_opinion_with_reservations_are_shown(signed_in, ready_product, administrator):
    dossier = dossier_in_state(ready_product, State.CONVENTION, commission_round=1)
    Opinion.objects.create(
        dossier=dossier,
        round=1,
        result=OpinionResult.RESERVATIONS,
        reasons="Service utile.",
        reservations="Limiter la lecture des mesures.",
    )
    Decision.objects.create(
        dossier=dossier,
        result=DecisionResult.GRANTED,
        granted_exchanges=[DataExchange.MEASURES_WRITE],
        reasons="Accordé pour l’écriture des mesures.",
        decided_by=administrator,
    )
    text = text_of(signed_in.get(detail_url(dossier)))
    assert "Favorable avec réserves" in text
    assert "Limiter la lecture des mesures." in text
    assert "Référencement accordé" in text
    assert "Données accordées : Mesures de santé — écriture" in text
    assert administrator.display_name not in text
    assert reverse("referencement_convention", args=[dossier.public_id]) in page_of(signed_in.get(detail_url(dossier)))


def test_the_frozen_extract_is_summarised_and_verified(signed_in, ready_product):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION)
    page = page_of(signed_in.get(detail_url(dossier)))
    assert dossier.extract_checksum in page
    assert "vérifiée" in page
    for block in dossier.extract["questionnaires"]:
        assert block["title"] in page
    assert reverse("referencement_extract_pdf", args=[dossier.public_id]) in page


def test_an_altered_extract_is_flagged(signed_in, ready_product):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION)
    extract = dossier.extract
    extract["readiness"]["blocking_gaps"] = 7
    Dossier.objects.filter(pk=dossier.pk).update(extract=extract)
    assert "ne correspond pas" in page_of(signed_in.get(detail_url(dossier)))


def test_the_extract_pdf_is_rendered_from_the_frozen_data(signed_in, ready_product):
    dossier = dossier_in_state(ready_product, State.COMMISSION)
    response = signed_in.get(reverse("referencement_extract_pdf", args=[dossier.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert dossier.reference in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_a_draft_has_no_frozen_extract_yet(signed_in, draft_dossier):
    assert signed_in.get(reverse("referencement_extract_pdf", args=[draft_dossier.public_id])).status_code == 404


@pytest.mark.parametrize(
    ("state", "route", "label"),
    [
        (State.TECHNICAL_TESTS, "referencement_sandbox", "Ouvrir les tests d’accrochage"),
        (State.CONVENTION, "referencement_convention", "Lire et signer la convention"),
        (State.PUBLISHED, "referencement_dossier_redeclare", "Déclarer une nouvelle version majeure"),
        (State.ADJOURNED, "referencement_dossier_answer", "Répondre à la commission"),
    ],
    ids=["tests", "convention", "published", "adjourned"],
)
def test_the_next_step_of_each_state(signed_in, ready_product, state, route, label):
    dossier = dossier_in_state(ready_product, state)
    page = page_of(signed_in.get(detail_url(dossier)))
    assert reverse(route, args=[dossier.public_id]) in page
    assert label in page


def test_an_open_audit_is_linked(signed_in, ready_product):
    dossier = dossier_in_state(ready_product, State.PUBLISHED)
    audit = Audit.objects.create(
        dossier=dossier,
        requested_evidence="Le registre des traitements.",
        deadline=timezone.now() + timezone.timedelta(days=20),
    )
    page = page_of(signed_in.get(detail_url(dossier)))
    assert reverse("referencement_audit", args=[dossier.public_id, audit.public_id]) in page
    assert "Audit en cours" in page


# --- Sections ---------------------------------------------------------------------------------------------------------


def test_the_sheet_section_saves_and_leads_to_the_images(signed_in, draft_dossier):
    url = reverse("referencement_dossier_edit", args=[draft_dossier.public_id, "fiche"])
    form = signed_in.get(url)
    assert form.status_code == 200
    assert 'value="Suivi Tension"' in page_of(form)
    data = {
        "name": "Suivi Tension Plus",
        "short_description": "Votre tension, suivie.",
        "long_description": "Texte.",
        "category": "pathologies",
        "service_kind": "web",
        "website_url": "https://suivi-tension.example.fr",
        "price_model": "gratuit",
        "support_url": "https://suivi-tension.example.fr/aide",
        "accessibility_compliance": "non-evaluee",
    }
    response = signed_in.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("referencement_dossier_images", args=[draft_dossier.public_id])
    draft_dossier.refresh_from_db()
    assert (draft_dossier.name, draft_dossier.service_kind, draft_dossier.app_store_url) == (
        "Suivi Tension Plus",
        "web",
        "",
    )


def test_sheet_errors_are_shown_field_by_field(signed_in, draft_dossier):
    url = reverse("referencement_dossier_edit", args=[draft_dossier.public_id, "fiche"])
    response = signed_in.post(url, {"name": "", "service_kind": "mobile", "medical_device": "on", "support_email": "x"})
    page = page_of(response)
    assert response.status_code == 400
    assert "Cette partie n’a pas été enregistrée" in page
    assert "Indiquez le nom du service" in page
    assert "Saisissez une adresse e-mail valide." in page
    draft_dossier.refresh_from_db()
    assert draft_dossier.name == "Suivi Tension"


def test_service_rules_of_the_sheet_are_shown_on_their_field(signed_in, draft_dossier):
    url = reverse("referencement_dossier_edit", args=[draft_dossier.public_id, "fiche"])
    data = {
        "name": "Suivi",
        "short_description": "Court.",
        "long_description": "Long.",
        "category": "pathologies",
        "service_kind": "mobile",
        "price_model": "gratuit",
        "medical_device": "on",
        "support_email": "support@exemple.fr",
        "accessibility_compliance": "non-evaluee",
    }
    response = signed_in.post(url, data)
    assert response.status_code == 400
    page = page_of(response)
    assert re.search(r'id="id_medical_device_class-erreur">Indiquez la classe du dispositif médical\.', page)
    assert "Indiquez au moins un lien vers l’App Store ou Google Play." in page


def test_the_exchanges_section_through_the_page(signed_in, draft_dossier):
    url = reverse("referencement_dossier_edit", args=[draft_dossier.public_id, "echanges"])
    page = page_of(signed_in.get(url))
    assert "checked" in page
    assert "Les mesures du tensiomètre sont ajoutées" in page
    response = signed_in.post(
        url,
        {
            "exchange_agenda_lecture": "on",
            "justification_agenda_lecture": "",
            "justification_contact_lecture": "Pour rappeler les rendez-vous.",
            "oid": "1.2.250.01",
            "redirect_uris": "https://exemple.fr/retour\nhttp://exemple.fr/retour",
        },
    )
    assert response.status_code == 400
    page = page_of(response)
    assert "Cochez la donnée « Données de contact — lecture » si vous la demandez" in page
    response = signed_in.post(
        url,
        {
            "exchange_agenda_lecture": "on",
            "justification_agenda_lecture": "",
            "oid": "1.2.250.01",
            "redirect_uris": "https://exemple.fr/retour\nhttp://exemple.fr/retour",
        },
    )
    page = page_of(response)
    assert "Justifiez le besoin de la donnée « Agenda — lecture »" in page
    assert "par exemple 1.2.250.1.999" in page
    assert "« http://exemple.fr/retour » doit commencer par https://" in page
    response = signed_in.post(
        url,
        {
            "exchange_agenda_lecture": "on",
            "justification_agenda_lecture": "Afficher les rendez-vous.",
            "oid": "1.2.250.1.42",
            "redirect_uris": "https://exemple.fr/retour\r\n\r\n",
        },
    )
    assert response.status_code == 302
    draft_dossier.refresh_from_db()
    assert list(draft_dossier.requested_exchanges.values_list("exchange", flat=True)) == [DataExchange.AGENDA_READ]
    assert draft_dossier.redirect_uris == ["https://exemple.fr/retour"]


def test_the_simple_procedure_has_no_exchanges_page(signed_in, ready_product_simple):
    dossier = dossier_in_state(ready_product_simple, State.DRAFT)
    assert signed_in.get(reverse("referencement_dossier_edit", args=[dossier.public_id, "echanges"])).status_code == 404
    assert signed_in.get(reverse("referencement_dossier_edit", args=[dossier.public_id, "tarifs"])).status_code == 404


def test_the_procedure_section_through_the_page(signed_in, draft_dossier):
    url = reverse("referencement_dossier_edit", args=[draft_dossier.public_id, "procedure"])
    response = signed_in.post(url, {"procedure": "avec_echange", "purpose": "bien_etre", "purpose_details": "Texte."})
    assert response.status_code == 400
    assert "prévention, de diagnostic, de soins" in page_of(response)
    response = signed_in.post(url, {"procedure": "avec_echange", "purpose": "prevention", "purpose_details": "Texte."})
    assert response.status_code == 302
    assert response["Location"] == reverse("referencement_dossier_edit", args=[draft_dossier.public_id, "echanges"])


def test_a_dossier_under_review_is_not_editable_through_the_pages(signed_in, ready_product):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION)
    url = reverse("referencement_dossier_edit", args=[dossier.public_id, "procedure"])
    response = signed_in.post(
        url, {"procedure": "sans_echange", "purpose": "soins", "purpose_details": "Texte."}, follow=True
    )
    assert "ne peut plus être modifié" in page_of(response)
    dossier.refresh_from_db()
    assert dossier.procedure == Procedure.AVEC_ECHANGE


# --- Images -----------------------------------------------------------------------------------------------------------


def test_the_logo_and_a_screenshot_through_the_page(signed_in, draft_dossier, outsider, client):
    logo = SimpleUploadedFile("logo.png", png_bytes(128, 128, (0, 100, 0)), content_type="image/png")
    response = signed_in.post(reverse("referencement_dossier_logo", args=[draft_dossier.public_id]), {"logo": logo})
    assert response.status_code == 302
    draft_dossier.refresh_from_db()
    shot = SimpleUploadedFile("ecran.png", png_bytes(300, 600), content_type="image/png")
    response = signed_in.post(
        reverse("referencement_dossier_screenshot_add", args=[draft_dossier.public_id]),
        {"image": shot, "alt_text": "Courbe de tension"},
    )
    assert response.status_code == 302
    page = page_of(signed_in.get(reverse("referencement_dossier_images", args=[draft_dossier.public_id])))
    assert 'alt="Courbe de tension"' in page
    image_url = reverse("referencement_dossier_image", args=[draft_dossier.public_id, draft_dossier.logo_key])
    assert image_url in page
    image = signed_in.get(image_url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert "sandbox" in image["Content-Security-Policy"]
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    assert (
        signed_in.get(reverse("referencement_dossier_image", args=[draft_dossier.public_id, "0" * 16])).status_code
        == 404
    )
    client.force_login(outsider)
    assert client.get(image_url).status_code == 404


def test_a_refused_image_is_explained_on_the_page(signed_in, draft_dossier):
    svg = SimpleUploadedFile(
        "logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", content_type="image/svg+xml"
    )
    response = signed_in.post(reverse("referencement_dossier_logo", args=[draft_dossier.public_id]), {"logo": svg})
    assert response.status_code == 400
    assert "Les images SVG ne sont pas acceptées" in page_of(response)
    response = signed_in.post(
        reverse("referencement_dossier_screenshot_add", args=[draft_dossier.public_id]), {"alt_text": "x"}
    )
    assert response.status_code == 400
    assert "Choisissez le fichier de la capture d’écran." in page_of(response)


def test_screenshots_are_reordered_and_removed_through_the_page(signed_in, draft_dossier, editor):
    from referencement.services.dossiers import dossier_screenshot_add

    first, second = (
        dossier_screenshot_add(actor=editor, dossier=draft_dossier, upload=png_bytes(200, 200), alt_text=text)
        for text in ("Premier", "Second")
    )
    move = reverse("referencement_dossier_screenshot_move", args=[draft_dossier.public_id, second.public_id])
    assert signed_in.post(move, {"sens": "avant"}).status_code == 302
    assert list(draft_dossier.screenshots.values_list("alt_text", flat=True)) == ["Second", "Premier"]
    signed_in.post(move, {"sens": "nulle-part"})
    assert list(draft_dossier.screenshots.values_list("alt_text", flat=True)) == ["Second", "Premier"]
    remove = reverse("referencement_dossier_screenshot_remove", args=[draft_dossier.public_id, first.public_id])
    assert signed_in.post(remove).status_code == 302
    assert list(draft_dossier.screenshots.values_list("alt_text", flat=True)) == ["Second"]
    assert signed_in.get(remove).status_code == 405


# --- Submission and steps ---------------------------------------------------------------------------------------------


def test_the_submit_page_lists_the_missing_points(signed_in, ready_product, editor):
    dossier = dossier_create(actor=editor, product=ready_product, procedure="sans_echange")
    url = reverse("referencement_dossier_submit", args=[dossier.public_id])
    response = signed_in.post(url)
    assert response.status_code == 400
    page = page_of(response)
    assert "Le dossier est incomplet" in page
    assert "Ajoutez le logo du service." in page
    assert reverse("referencement_dossier_edit", args=[dossier.public_id, "fiche"]) + "#id_category" in page
    dossier.refresh_from_db()
    assert dossier.state == State.DRAFT


def test_submitting_through_the_page(signed_in, draft_dossier):
    url = reverse("referencement_dossier_submit", args=[draft_dossier.public_id])
    assert "Le dossier est complet" in page_of(signed_in.get(url))
    response = signed_in.post(url)
    assert response.status_code == 302
    draft_dossier.refresh_from_db()
    assert draft_dossier.state == State.SUBMITTED
    text = text_of(signed_in.get(detail_url(draft_dossier)))
    assert "Dossier déposé" in text
    assert "en cours d’examen" in text


def test_a_product_no_longer_ready_is_explained_on_the_submit_page(signed_in, draft_dossier):
    from convergence.models import Answer

    Answer.objects.filter(product=draft_dossier.product).delete()
    response = signed_in.post(reverse("referencement_dossier_submit", args=[draft_dossier.public_id]))
    assert response.status_code == 400
    assert "n’est pas prêt pour le référencement" in page_of(response)


def test_abandoning_through_the_confirmation_page(signed_in, draft_dossier):
    url = reverse("referencement_dossier_abandon", args=[draft_dossier.public_id])
    assert "L’abandon est définitif" in page_of(signed_in.get(url))
    draft_dossier.refresh_from_db()
    assert draft_dossier.state == State.DRAFT
    assert signed_in.post(url, {"reason": "Arrêt du produit."}).status_code == 302
    draft_dossier.refresh_from_db()
    assert draft_dossier.state == State.ABANDONED
    assert "Arrêt du produit." in page_of(signed_in.get(detail_url(draft_dossier)))
    response = signed_in.get(url, follow=True)
    assert "ne peut plus être abandonnée" in page_of(response)


def test_answering_the_commission_through_the_page(signed_in, ready_product):
    dossier = dossier_in_state(ready_product, State.ADJOURNED)
    Opinion.objects.create(dossier=dossier, round=1, result=OpinionResult.ADJOURNED, reasons="Précisez la cible.")
    url = reverse("referencement_dossier_answer", args=[dossier.public_id])
    page = page_of(signed_in.get(url))
    assert "Précisez la cible." in page
    response = signed_in.post(url, {"answer": "  "})
    assert response.status_code == 400
    assert "Rédigez votre réponse aux questions de la commission." in page_of(response)
    assert signed_in.post(url, {"answer": "Les adultes hypertendus."}).status_code == 302
    dossier.refresh_from_db()
    assert (dossier.state, dossier.commission_round) == (State.COMMISSION, 2)
    assert "n’attend pas de réponse" in page_of(signed_in.get(url, follow=True))


def test_a_renewal_through_the_page(signed_in, ready_product):
    published = dossier_in_state(ready_product, State.PUBLISHED, valid_until=date(2030, 1, 31))
    url = reverse("referencement_dossier_redeclare", args=[published.public_id])
    assert "Référencé jusqu’au 31 janvier 2030" in text_of(signed_in.get(detail_url(published)))
    assert signed_in.get(url).status_code == 200
    response = signed_in.post(url, {"kind": "version_majeure"})
    assert response.status_code == 400
    assert "Choisissez le produit Convergence de la nouvelle version." in page_of(response)
    response = signed_in.post(url, {"kind": "renouvellement"})
    renewal = Dossier.objects.get(previous=published)
    assert response["Location"] == detail_url(renewal)
    assert renewal.kind == DossierKind.RENEWAL
    # The published dossier now links to the request in progress, and the form leads there.
    assert detail_url(renewal) in page_of(signed_in.get(detail_url(published)))
    assert signed_in.get(url)["Location"] == detail_url(renewal)


def test_a_draft_cannot_be_redeclared_through_the_page(signed_in, draft_dossier):
    response = signed_in.post(
        reverse("referencement_dossier_redeclare", args=[draft_dossier.public_id]), {"kind": "renouvellement"}
    )
    assert response.status_code == 302
    assert not Dossier.objects.filter(previous=draft_dossier).exists()
