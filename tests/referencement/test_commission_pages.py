"""The commission's pages: the queue with its filters, the dossier view and its files, and each step made through
the pages (instruction, decision, conflicts, comments, votes, opinion)."""

import hashlib
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalogue.models import Category, DataExchange
from convergence.models import EvidenceFile, Procedure, ProductType
from convergence.services import product_declare
from referencement.models import (
    CommissionComment,
    ConflictOfInterest,
    Dossier,
    DossierKind,
    Event,
    Opinion,
    OpinionResult,
    State,
    Vote,
    dossier_reference_next,
)
from tests.factories import CommissionMemberFactory, MembershipFactory
from tests.referencement.conftest import dossier_in_state, png_bytes


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _dossier_url(dossier) -> str:
    return reverse("commission_dossier", args=[dossier.public_id])


@pytest.fixture
def reviewed(ready_product, editor):
    return dossier_in_state(ready_product, State.COMMISSION, editor=editor)


# --- The queue ----------------------------------------------------------------------------------------------------


def _bare_dossiers(
    editor,
    organisation,
    count: int,
    *,
    state=State.COMMISSION,
    prefix="Appli",
    procedure=Procedure.SANS_ECHANGE,
    **fields,
):
    """Dossiers of throwaway products (the queue does not read the extract)."""
    dossiers = []
    for index in range(count):
        product = product_declare(
            actor=editor,
            organisation=organisation,
            name=f"{prefix} {index}",
            version="1.0",
            product_type=ProductType.WEBSITE,
            platforms=["web"],
            procedure=procedure,
        )
        values = {
            "reference": dossier_reference_next(),
            "organisation": organisation,
            "product": product,
            "kind": DossierKind.INITIAL,
            "state": state,
            "procedure": product.procedure,
            "name": f"{prefix} {index}",
            "category": Category.PREVENTION,
            "commission_round": 1 if state == State.COMMISSION else 0,
            "submitted_at": timezone.now(),
            **fields,
        }
        dossiers.append(Dossier.objects.create(**values))
    return dossiers


def test_the_queue_shows_the_dossiers_awaiting_the_commission_by_default(
    client, commission_member, referential, editor, organisation
):
    waiting = _bare_dossiers(editor, organisation, 2, prefix="Attente")
    _bare_dossiers(editor, organisation, 1, state=State.INSTRUCTION, prefix="Instruction")
    _bare_dossiers(editor, organisation, 1, state=State.DRAFT, prefix="Brouillon")
    client.force_login(commission_member)
    response = client.get(reverse("commission_home"))
    html = response.content.decode()
    assert response.status_code == 200
    for dossier in waiting:
        assert dossier.reference in html
    assert "Instruction 0" not in html and "Brouillon 0" not in html
    assert "2 dossiers" in html
    # The counts per state are in the filter's options (a draft is never counted).
    assert "En attente de la commission (2)" in html
    assert "Toutes les demandes déposées (3)" in html
    assert "À traiter par l’administration (1)" in html


def test_the_queue_filters_by_state_procedure_category_and_text(
    client, administrator, referential, editor, organisation
):
    instruction = _bare_dossiers(editor, organisation, 1, state=State.INSTRUCTION, prefix="Tensio")[0]
    exchange = _bare_dossiers(editor, organisation, 1, prefix="Diabète", procedure=Procedure.AVEC_ECHANGE)[0]
    info = _bare_dossiers(editor, organisation, 1, prefix="Info", category=Category.INFORMATION)[0]
    other_org = MembershipFactory(organisation__name="Santé Plus SAS")
    foreign = _bare_dossiers(other_org.user, other_org.organisation, 1, prefix="Rythme")[0]
    client.force_login(administrator)

    def listed(**params) -> set[str]:
        html = client.get(reverse("commission_home"), params).content.decode()
        return {dossier.reference for dossier in (instruction, exchange, info, foreign) if dossier.reference in html}

    assert listed() == {exchange.reference, info.reference, foreign.reference}
    assert listed(etat="administration") == {instruction.reference}
    assert listed(etat=State.INSTRUCTION) == {instruction.reference}
    assert listed(etat="tous") == {instruction.reference, exchange.reference, info.reference, foreign.reference}
    assert listed(procedure=Procedure.AVEC_ECHANGE) == {exchange.reference}
    assert listed(categorie=Category.INFORMATION) == {info.reference}
    assert listed(q="santé plus") == {foreign.reference}
    assert listed(q=info.reference.lower(), etat="tous") == {info.reference}
    assert listed(q="diab") == {exchange.reference}


def test_an_unknown_filter_value_is_reported_and_ignored(client, commission_member, referential, editor, organisation):
    waiting = _bare_dossiers(editor, organisation, 1)[0]
    client.force_login(commission_member)
    response = client.get(reverse("commission_home"), {"etat": "nimporte", "procedure": "autre"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in html
    assert waiting.reference in html


def test_a_member_sees_where_they_voted_or_declared_a_conflict(
    client, commission_member, referential, editor, organisation
):
    voted, conflicted, pending = _bare_dossiers(editor, organisation, 3)
    Vote.objects.create(dossier=voted, round=1, member=commission_member, choice=OpinionResult.FAVOURABLE)
    ConflictOfInterest.objects.create(dossier=conflicted, member=commission_member, reason="Lien.")
    client.force_login(commission_member)
    html = client.get(reverse("commission_home")).content.decode()
    rows = {
        dossier.reference: html[html.index(dossier.reference) :].split("</tr>")[0]
        for dossier in (voted, conflicted, pending)
    }
    assert "Vous avez voté" in rows[voted.reference]
    assert "Conflit d’intérêts déclaré" in rows[conflicted.reference]
    assert "À voter" in rows[pending.reference]


def test_the_queue_is_paginated(client, commission_member, referential, editor, organisation):
    _bare_dossiers(editor, organisation, 27)
    client.force_login(commission_member)
    first = client.get(reverse("commission_home")).content.decode()
    second = client.get(reverse("commission_home"), {"page": 2}).content.decode()
    assert "27 dossiers" in first
    assert first.count('href="/commission/dossiers/') == 25
    assert second.count('href="/commission/dossiers/') == 2


def test_the_queue_runs_the_same_queries_whatever_the_number_of_dossiers(
    client, commission_member, other_member, referential, editor, organisation, django_assert_max_num_queries
):
    client.force_login(commission_member)
    client.get(reverse("commission_home"))  # session, user and everything cached once

    def measure() -> int:
        with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(12):
            assert client.get(reverse("commission_home")).status_code == 200
        return len(captured)

    dossiers = _bare_dossiers(editor, organisation, 3, prefix="Petit")
    Vote.objects.create(dossier=dossiers[0], round=1, member=other_member, choice=OpinionResult.FAVOURABLE)
    small = measure()
    more = _bare_dossiers(editor, organisation, 30, prefix="Grand")
    Vote.objects.bulk_create(
        Vote(dossier=dossier, round=1, member=commission_member, choice=OpinionResult.FAVOURABLE) for dossier in more
    )
    assert measure() == small


# --- The dossier page ---------------------------------------------------------------------------------------------


def test_a_member_reads_the_whole_dossier(client, commission_member, reviewed):
    Event.objects.create(
        dossier=reviewed,
        transition="refer_to_commission",
        from_state=State.INSTRUCTION,
        to_state=State.COMMISSION,
        actor_label="Alex Test",
        comment="Transmis après instruction.",
    )
    client.force_login(commission_member)
    response = client.get(_dossier_url(reviewed))
    html = response.content.decode()
    assert response.status_code == 200
    assert reviewed.reference in html and reviewed.organisation.name in html
    # Catalogue sheet and its logo served to reviewers.
    assert reviewed.short_description in html
    assert reverse("commission_dossier_image", args=[reviewed.public_id, reviewed.logo_key]) in html
    # Requested exchanges with their justifications.
    assert "Les mesures du tensiomètre sont ajoutées" in html
    # The frozen extract: a score per questionnaire, its PDF, its evidence files by name.
    for block in reviewed.extract["questionnaires"]:
        assert block["title"] in html
    assert "Empreinte vérifiée" in html
    assert reverse("commission_extract_pdf", args=[reviewed.public_id]) in html
    first_evidence = next(
        item for block in reviewed.extract["questionnaires"] for row in block["criteria"] for item in row["evidence"]
    )
    assert first_evidence["name"] in html
    assert f"/commission/dossiers/{reviewed.public_id}/preuves/" in html
    # The timeline, and the commission's private part with the vote form.
    assert "Transmis après instruction." in html
    assert 'id="vote"' in html
    assert "Déclarer un conflit d’intérêts" in html
    assert reverse("commission_opinion", args=[reviewed.public_id]) in html


def test_the_extract_shows_its_blocking_gaps(client, commission_member, referential, editor, organisation):
    # A product that answered nothing: every mandatory criterion is a gap.
    product = product_declare(
        actor=editor,
        organisation=organisation,
        name="Incomplet",
        version="0.1",
        product_type=ProductType.MOBILE_APP,
        platforms=["android"],
        procedure=Procedure.SANS_ECHANGE,
    )
    dossier = dossier_in_state(product, State.COMMISSION, editor=editor)
    gap = dossier.extract["questionnaires"][0]["gaps"][0]
    client.force_login(commission_member)
    html = client.get(_dossier_url(dossier)).content.decode()
    assert f"{dossier.extract['readiness']['blocking_gaps']} écarts bloquants au dépôt" in html
    assert f"<strong>{gap['id']}</strong>" in html


def test_an_altered_extract_is_flagged(client, commission_member, reviewed):
    extract = dict(reviewed.extract)
    extract["readiness"] = {"ready": True, "blocking_gaps": 0, "note": "modifié"}
    Dossier.objects.filter(pk=reviewed.pk).update(extract=extract)
    client.force_login(commission_member)
    html = client.get(_dossier_url(reviewed)).content.decode()
    assert "L’empreinte de l’extrait ne correspond pas" in html


def test_an_administrator_reads_the_dossier_but_has_no_vote(client, administrator, reviewed):
    client.force_login(administrator)
    html = client.get(_dossier_url(reviewed)).content.decode()
    assert 'id="vote"' not in html
    assert "ne votent pas" in html
    assert "Déclarer un conflit d’intérêts" not in html
    assert reverse("commission_opinion", args=[reviewed.public_id]) not in html
    assert "Ajouter le commentaire" in html


def test_a_member_with_a_conflict_sees_no_vote_form(client, commission_member, reviewed):
    ConflictOfInterest.objects.create(dossier=reviewed, member=commission_member, reason="Ancien associé.")
    client.force_login(commission_member)
    html = client.get(_dossier_url(reviewed)).content.decode()
    assert 'id="vote"' not in html
    assert "vous ne votez pas" in html
    assert reverse("commission_opinion", args=[reviewed.public_id]) not in html


def test_the_votes_and_the_tally_are_shown(client, commission_member, other_member, reviewed):
    Vote.objects.create(
        dossier=reviewed, round=1, member=other_member, choice=OpinionResult.UNFAVOURABLE, reason="Trop."
    )
    client.force_login(commission_member)
    html = client.get(_dossier_url(reviewed)).content.decode()
    assert other_member.display_name in html
    assert "Défavorable : 1" in html
    assert "1 vote exprimé ; quorum : 3" in html


def test_the_technical_tests_checklist_is_shown_once_opened(client, administrator, ready_product, editor):
    from referencement.services.sandbox import technical_tests_start

    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    technical_tests_start(actor=administrator, dossier=dossier)
    client.force_login(administrator)
    html = client.get(_dossier_url(dossier)).content.decode()
    assert "data-sandbox-checklist" in html
    assert "À faire" in html
    assert "pourra être transmis à la commission quand tous les tests" in html
    assert reverse("commission_refer", args=[dossier.public_id]) not in html


# --- Files --------------------------------------------------------------------------------------------------------


def test_the_logo_and_screenshots_are_served_as_png_to_reviewers(client, commission_member, reviewed):
    screenshot_bytes = png_bytes(120, 240, (10, 120, 10))
    sha256 = hashlib.sha256(screenshot_bytes).hexdigest()
    screenshot = reviewed.screenshots.model(dossier=reviewed, sha256=sha256, width=120, height=240, alt_text="Accueil")
    screenshot.image.save("capture.png", ContentFile(screenshot_bytes), save=True)
    client.force_login(commission_member)
    logo = client.get(reverse("commission_dossier_image", args=[reviewed.public_id, reviewed.logo_key]))
    assert logo.status_code == 200
    assert logo["Content-Type"] == "image/png"
    assert logo["X-Content-Type-Options"] == "nosniff"
    shot = client.get(reverse("commission_dossier_image", args=[reviewed.public_id, sha256[:16]]))
    assert b"".join(shot.streaming_content) == screenshot_bytes
    assert 'alt="Accueil"' in client.get(_dossier_url(reviewed)).content.decode()
    assert client.get(reverse("commission_dossier_image", args=[reviewed.public_id, "0" * 16])).status_code == 404


def test_another_dossiers_image_is_not_served_under_this_dossier(
    client, commission_member, reviewed, ready_product_simple, editor
):
    other = dossier_in_state(ready_product_simple, State.COMMISSION, editor=editor)
    Dossier.objects.filter(pk=other.pk).update(logo_sha256="f" * 64)
    client.force_login(commission_member)
    assert client.get(reverse("commission_dossier_image", args=[reviewed.public_id, "f" * 16])).status_code == 404


def _named_evidence(dossier) -> EvidenceFile:
    sha256 = next(
        item["sha256"]
        for block in dossier.extract["questionnaires"]
        for row in block["criteria"]
        for item in row["evidence"]
    )
    return EvidenceFile.objects.filter(product=dossier.product, sha256=sha256).first()


def _stray_evidence(product, name="autre.pdf") -> EvidenceFile:
    content = b"%PDF-1.4\n% preuve hors extrait\n"
    evidence = EvidenceFile(
        product=product,
        original_name=name,
        format="pdf",
        content_type="application/pdf",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    evidence.file.save(name, ContentFile(content), save=True)
    return evidence


def test_an_evidence_file_named_by_the_extract_is_downloaded(client, administrator, reviewed):
    evidence = _named_evidence(reviewed)
    client.force_login(administrator)
    response = client.get(reverse("commission_evidence", args=[reviewed.public_id, evidence.public_id]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_evidence_outside_the_frozen_extract_is_not_served(client, administrator, reviewed, ready_product_simple):
    added_later = _stray_evidence(reviewed.product)
    other_product = _stray_evidence(ready_product_simple)
    client.force_login(administrator)
    for evidence in (added_later, other_product):
        url = reverse("commission_evidence", args=[reviewed.public_id, evidence.public_id])
        assert client.get(url).status_code == 404


def test_the_extract_pdf_is_the_frozen_one(client, commission_member, reviewed):
    client.force_login(commission_member)
    response = client.get(reverse("commission_extract_pdf", args=[reviewed.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert reviewed.reference in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


# --- Instruction through the pages --------------------------------------------------------------------------------


def test_an_administrator_declares_the_dossier_complete(client, administrator, ready_product, editor):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    client.force_login(administrator)
    html = client.get(_dossier_url(dossier)).content.decode()
    assert "Déclarer le dossier complet" in html
    response = client.post(reverse("commission_admissible", args=[dossier.public_id]), {"comment": "Complet."})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == State.INSTRUCTION
    assert "instruction est ouverte" in _messages(response)[0]


def test_a_completion_request_form_reports_its_errors_then_returns_the_dossier(
    client, administrator, ready_product, editor
):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    url = reverse("commission_completion", args=[dossier.public_id])
    client.force_login(administrator)
    assert client.get(url).status_code == 200
    empty = client.post(url, {"requests": "", "deadline": ""})
    assert empty.status_code == 400
    assert "Indiquez les compléments demandés à l’éditeur." in empty.content.decode()
    assert "Indiquez la date limite de réponse." in empty.content.decode()
    past = client.post(url, {"requests": "Ajoutez l’AIPD.", "deadline": "2001-01-01"})
    assert past.status_code == 400
    assert "postérieure à aujourd’hui" in past.content.decode()
    deadline = timezone.localdate() + timedelta(days=20)
    done = client.post(url, {"requests": "Ajoutez l’AIPD.", "deadline": deadline.strftime("%d/%m/%Y")})
    assert done.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == State.COMPLETION


def test_no_completion_form_once_the_commission_has_the_dossier(client, administrator, reviewed):
    client.force_login(administrator)
    response = client.get(reverse("commission_completion", args=[reviewed.public_id]))
    assert response.status_code == 302
    assert "avant l’examen par la commission" in _messages(response)[0]


def test_an_administrator_opens_the_technical_tests(client, administrator, ready_product, editor):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    client.force_login(administrator)
    assert "Ouvrir les tests d’accrochage" in client.get(_dossier_url(dossier)).content.decode()
    response = client.post(reverse("commission_tests_start", args=[dossier.public_id]))
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == State.TECHNICAL_TESTS
    assert dossier.sandbox_habilitation is not None and dossier.sandbox_habilitation.sandbox


def test_no_technical_tests_for_the_simple_procedure(client, administrator, ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.INSTRUCTION, editor=editor)
    client.force_login(administrator)
    assert "Ouvrir les tests d’accrochage" not in client.get(_dossier_url(dossier)).content.decode()
    response = client.post(reverse("commission_tests_start", args=[dossier.public_id]))
    assert "ne concernent que les demandes avec échange" in _messages(response)[0]
    dossier.refresh_from_db()
    assert dossier.state == State.INSTRUCTION


def test_the_referral_page_step_explains_a_refusal(client, administrator, ready_product, editor):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    client.force_login(administrator)
    response = client.post(reverse("commission_refer", args=[dossier.public_id]), follow=True)
    assert "passe d’abord par les tests d’accrochage" in response.content.decode()
    dossier.refresh_from_db()
    assert dossier.state == State.INSTRUCTION


def test_a_simple_dossier_is_referred_to_the_commission(client, administrator, ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.INSTRUCTION, editor=editor)
    client.force_login(administrator)
    client.post(reverse("commission_refer", args=[dossier.public_id]), {"comment": ""})
    dossier.refresh_from_db()
    assert (dossier.state, dossier.commission_round) == (State.COMMISSION, 1)


def test_the_decision_form_shows_the_opinion_and_offers_only_the_requested_exchanges(
    client, administrator, commission_member, ready_product, editor
):
    dossier = dossier_in_state(ready_product, State.OPINION, editor=editor)
    Opinion.objects.create(
        dossier=dossier,
        round=1,
        result=OpinionResult.UNFAVOURABLE,
        reasons="Finalité mal établie.",
        adopted_by=commission_member,
    )
    url = reverse("commission_decision", args=[dossier.public_id])
    client.force_login(administrator)
    html = client.get(url).content.decode()
    assert "Avis de la commission : Défavorable" in html
    assert "Finalité mal établie." in html
    assert "peut néanmoins accorder le référencement" in html
    assert f'value="{DataExchange.MEASURES_WRITE}"' in html
    assert f'value="{DataExchange.AGENDA_READ}"' not in html
    refused = client.post(url, {"result": "accorde", "granted_exchanges": [DataExchange.MEASURES_WRITE], "reasons": ""})
    assert refused.status_code == 400
    assert "Indiquez les motifs de la décision." in refused.content.decode()
    granted = client.post(
        url,
        {"result": "accorde", "granted_exchanges": [DataExchange.MEASURES_WRITE], "reasons": "Réserves levées."},
    )
    assert granted.status_code == 302
    dossier.refresh_from_db()
    assert (dossier.state, dossier.granted_exchanges) == (State.CONVENTION, [DataExchange.MEASURES_WRITE])


def test_the_decision_page_waits_for_the_opinion(client, administrator, reviewed):
    client.force_login(administrator)
    response = client.get(reverse("commission_decision", args=[reviewed.public_id]))
    assert response.status_code == 302
    assert "après l’avis de la commission" in _messages(response)[0]


# --- The commission's work through the pages ----------------------------------------------------------------------


def test_a_member_comments_then_reads_the_comment(client, commission_member, reviewed):
    url = reverse("commission_comment", args=[reviewed.public_id])
    client.force_login(commission_member)
    empty = client.post(url, {"body": " "})
    assert empty.status_code == 400
    assert "Écrivez votre commentaire." in empty.content.decode()
    response = client.post(url, {"body": "La finalité me paraît claire."}, follow=True)
    assert "La finalité me paraît claire." in response.content.decode()
    assert CommissionComment.objects.get().author == commission_member


def test_a_member_declares_a_conflict_and_the_vote_form_disappears(client, commission_member, reviewed):
    client.force_login(commission_member)
    response = client.post(
        reverse("commission_conflict", args=[reviewed.public_id]), {"reason": "Consultant de l’éditeur."}, follow=True
    )
    html = response.content.decode()
    assert "Consultant de l’éditeur." in html
    assert 'id="vote"' not in html
    refused = client.post(reverse("commission_vote", args=[reviewed.public_id]), {"choice": "favorable"})
    assert refused.status_code == 400
    assert "conflit d’intérêts" in refused.content.decode()
    assert not Vote.objects.exists()


def test_a_member_votes_and_changes_the_vote_through_the_page(client, commission_member, reviewed):
    url = reverse("commission_vote", args=[reviewed.public_id])
    client.force_login(commission_member)
    refused = client.post(url, {"choice": "reserves", "reason": ""})
    assert refused.status_code == 400
    assert "Motivez votre vote" in refused.content.decode()
    assert client.post(url, {"choice": "favorable"}).status_code == 302
    assert client.post(url, {"choice": "defavorable", "reason": "Données excessives."}).status_code == 302
    vote = Vote.objects.get()
    assert (vote.choice, vote.reason) == ("defavorable", "Données excessives.")
    assert "Modifier mon vote" in client.get(_dossier_url(reviewed)).content.decode()


def test_the_opinion_is_adopted_through_its_page_once_the_quorum_is_reached(
    client, commission_member, other_member, reviewed
):
    url = reverse("commission_opinion", args=[reviewed.public_id])
    client.force_login(commission_member)
    early = client.get(url).content.decode()
    assert "Le quorum n’est pas atteint" in early
    refused = client.post(url, {"result": "favorable", "reasons": "Conforme."})
    assert refused.status_code == 400
    assert "0 vote(s) exprimé(s) sur les 3 nécessaires" in refused.content.decode()
    third = CommissionMemberFactory(user__first_name="Jeanne").user
    for member in (commission_member, other_member, third):
        Vote.objects.create(dossier=reviewed, round=1, member=member, choice=OpinionResult.FAVOURABLE)
    page = client.get(url).content.decode()
    # The majority is proposed.
    assert 'value="favorable" checked' in page
    response = client.post(url, {"result": "favorable", "reasons": "Conforme, service utile."})
    assert response.status_code == 302
    reviewed.refresh_from_db()
    assert reviewed.state == State.OPINION
    assert Opinion.objects.get().tally == {"favorable": 3}
    html = client.get(_dossier_url(reviewed)).content.decode()
    assert "Séance n° 1 : avis Favorable" in html
    assert "Favorable : 3" in html


def test_the_adjournment_form_reports_a_deadline_too_far(settings, client, commission_member, reviewed):
    settings.REFERENCEMENT_COMMISSION_QUORUM = 1
    Vote.objects.create(dossier=reviewed, round=1, member=commission_member, choice=OpinionResult.ADJOURNED)
    client.force_login(commission_member)
    response = client.post(
        reverse("commission_opinion", args=[reviewed.public_id]),
        {
            "result": "ajourne",
            "reasons": "Informations manquantes.",
            "questions": "Où sont hébergées les données ?",
            "deadline": (timezone.localdate() + timedelta(days=75)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "ne peut pas dépasser 60 jours" in response.content.decode()


def test_the_opinion_page_is_closed_once_the_opinion_is_adopted(client, commission_member, ready_product, editor):
    dossier = dossier_in_state(ready_product, State.OPINION, editor=editor)
    client.force_login(commission_member)
    response = client.get(reverse("commission_opinion", args=[dossier.public_id]))
    assert response.status_code == 302
    assert "Vous ne pouvez pas adopter l’avis" in _messages(response)[0]


# --- Statistics page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["commission", "admin"])
def test_the_statistics_page_shows_the_pipeline(client, persona_users, role, referential, editor, organisation):
    _bare_dossiers(editor, organisation, 2, state=State.INSTRUCTION)
    _bare_dossiers(editor, organisation, 1, state=State.TECHNICAL_TESTS, prefix="Tests")
    client.force_login(persona_users[role])
    html = client.get(reverse("commission_statistics")).content.decode()
    assert "3 demandes complètes en cours d’instruction" in html
    assert "Durée moyenne par étape" in html


@pytest.mark.parametrize("state", [state for state in State.values if state != State.DRAFT], ids=str)
def test_the_dossier_page_opens_in_every_state(client, administrator, commission_member, ready_product, editor, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    for reviewer in (administrator, commission_member):
        client.force_login(reviewer)
        response = client.get(_dossier_url(dossier))
        assert response.status_code == 200
        assert dossier.get_state_display() in response.content.decode()
