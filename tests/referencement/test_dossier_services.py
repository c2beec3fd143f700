"""The editors' services on a dossier: creation, each section's rules and French messages, and the editable states."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from catalogue.models import AccessibilityCompliance, DataExchange, PriceModel, ServiceKind
from convergence.models import Procedure
from mes.acces.models import JournalEntry
from referencement.models import Dossier, DossierKind, Purpose, RequestedExchange, State
from referencement.services.dossiers import (
    SECTION_EXCHANGES,
    SECTION_PROCEDURE,
    SECTION_SHEET,
    SHEET_FIELDS,
    dossier_create,
    dossier_update,
    justification_key,
    redirect_uris_parse,
)
from tests.referencement.conftest import SHEET, dossier_in_state, make_ready_product


def messages_of(error: ValidationError) -> dict[str, list[str]]:
    return error.value.message_dict


# --- Creation ---------------------------------------------------------------------------------------------------------


def test_an_editor_creates_a_draft_for_a_ready_product_and_it_is_journaled(ready_product, editor):
    dossier = dossier_create(actor=editor, product=ready_product, procedure=Procedure.AVEC_ECHANGE)
    dossier.refresh_from_db()
    assert (dossier.state, dossier.kind, dossier.procedure) == (State.DRAFT, DossierKind.INITIAL, "avec_echange")
    assert dossier.organisation == ready_product.organisation
    assert dossier.name == ready_product.name
    assert dossier.reference.startswith("REF-")
    assert dossier.created_by == editor
    row = JournalEntry.objects.get(action="referencement.dossier.create")
    assert row.object_id == str(dossier.public_id)
    assert row.details["product"] == ready_product.reference


def test_the_simple_procedure_suits_a_product_evaluated_with_data_exchange(ready_product, editor):
    dossier = dossier_create(actor=editor, product=ready_product, procedure=Procedure.SANS_ECHANGE)
    assert dossier.procedure == Procedure.SANS_ECHANGE


def test_data_exchange_needs_a_product_evaluated_for_data_exchange(ready_product_simple, editor):
    with pytest.raises(ValidationError) as error:
        dossier_create(actor=editor, product=ready_product_simple, procedure=Procedure.AVEC_ECHANGE)
    assert "évalué dans Convergence pour la démarche « avec échange de données »" in messages_of(error)["procedure"][0]
    assert not Dossier.objects.exists()


def test_a_product_that_is_not_ready_is_refused_with_its_gap_count(referential, editor, organisation):
    from convergence.services import product_declare

    product = product_declare(
        actor=editor,
        organisation=organisation,
        name="Brouillon",
        version="1.0",
        product_type="application_mobile",
        platforms=["android"],
        procedure=Procedure.SANS_ECHANGE,
    )
    with pytest.raises(ValidationError) as error:
        dossier_create(actor=editor, product=product, procedure=Procedure.SANS_ECHANGE)
    message = messages_of(error)["product"][0]
    assert "n’est pas prêt pour le référencement" in message
    assert "écart(s) bloquant(s)" in message
    assert not Dossier.objects.exists()


def test_one_open_dossier_per_product_is_said_in_french(ready_product, editor, colleague):
    first = dossier_create(actor=editor, product=ready_product, procedure=Procedure.SANS_ECHANGE)
    with pytest.raises(ValidationError) as error:
        dossier_create(actor=colleague, product=ready_product, procedure=Procedure.SANS_ECHANGE)
    assert first.reference in messages_of(error)["product"][0]
    assert "déjà en cours" in messages_of(error)["product"][0]
    assert Dossier.objects.count() == 1


def test_the_database_constraint_also_answers_in_french(ready_product, editor, monkeypatch):
    """Should two requests race past the check, the unique constraint's refusal is turned into the same message."""
    from referencement.services import dossiers

    dossier_create(actor=editor, product=ready_product, procedure=Procedure.SANS_ECHANGE)
    monkeypatch.setattr(dossiers, "_open_dossier", lambda product, **kwargs: None)
    with pytest.raises(ValidationError) as error:
        dossier_create(actor=editor, product=ready_product, procedure=Procedure.SANS_ECHANGE)
    assert "déjà en cours" in messages_of(error)["product"][0]
    assert Dossier.objects.count() == 1


def test_a_product_already_referenced_asks_for_a_renewal_instead(ready_product, editor):
    published = dossier_in_state(ready_product, State.PUBLISHED, editor=editor)
    with pytest.raises(ValidationError) as error:
        dossier_create(actor=editor, product=ready_product, procedure=Procedure.AVEC_ECHANGE)
    message = messages_of(error)["product"][0]
    assert published.reference in message
    assert "renouvellement" in message


def test_a_dossier_ended_for_good_does_not_block_a_new_one(ready_product, editor):
    dossier_in_state(ready_product, State.ABANDONED, editor=editor)
    assert dossier_create(actor=editor, product=ready_product, procedure=Procedure.SANS_ECHANGE).state == State.DRAFT


@pytest.mark.parametrize(
    "actor_name", ["outsider", "commission_member", "administrator"], ids=["outsider", "member", "admin"]
)
def test_only_an_editor_of_the_organisation_creates_a_dossier(request, ready_product, actor_name):
    with pytest.raises(PermissionDenied):
        dossier_create(actor=request.getfixturevalue(actor_name), product=ready_product, procedure="sans_echange")
    assert not Dossier.objects.exists()


# --- Procedure and purpose --------------------------------------------------------------------------------------------


def _procedure(**values):
    return {"procedure": "avec_echange", "purpose": Purpose.CARE, "purpose_details": "Suivi de la tension."} | values


def test_the_procedure_section_is_saved_and_journaled(draft_dossier, editor):
    dossier_update(
        actor=editor,
        dossier=draft_dossier,
        section=SECTION_PROCEDURE,
        values=_procedure(purpose=Purpose.PREVENTION, purpose_details="  Prévention cardiovasculaire.\r\n  "),
    )
    draft_dossier.refresh_from_db()
    assert (draft_dossier.purpose, draft_dossier.purpose_details) == (
        Purpose.PREVENTION,
        "Prévention cardiovasculaire.",
    )
    row = JournalEntry.objects.get(action="referencement.dossier.update")
    assert row.details["section"] == SECTION_PROCEDURE
    assert row.details["fields"] == ["purpose", "purpose_details"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"procedure": ""}, "procedure", "Choisissez la procédure"),
        ({"purpose": ""}, "purpose", "Choisissez la finalité du service."),
        ({"purpose": "loisirs"}, "purpose", "Choisissez une finalité de la liste."),
        ({"purpose": Purpose.WELLBEING}, "purpose", "prévention, de diagnostic, de soins ou de suivi social"),
        ({"purpose": Purpose.INFORMATION}, "purpose", "prévention, de diagnostic, de soins ou de suivi social"),
        ({"purpose_details": "   "}, "purpose_details", "Décrivez en quelques phrases la finalité"),
        ({"purpose_details": "x" * 2001}, "purpose_details", "limitée à 2\u00a0000 caractères"),
    ],
    ids=[
        "no-procedure",
        "no-purpose",
        "unknown-purpose",
        "wellbeing-exchange",
        "information-exchange",
        "no-details",
        "too-long",
    ],
)
def test_each_rule_of_the_procedure_section(draft_dossier, editor, values, field, message):
    with pytest.raises(ValidationError) as error:
        dossier_update(actor=editor, dossier=draft_dossier, section=SECTION_PROCEDURE, values=_procedure(**values))
    assert message in " ".join(messages_of(error)[field])
    draft_dossier.refresh_from_db()
    assert draft_dossier.purpose == Purpose.CARE
    assert not JournalEntry.objects.filter(action="referencement.dossier.update").exists()


def test_a_wellbeing_purpose_is_fine_without_data_exchange(ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.DRAFT, editor=editor)
    dossier_update(
        actor=editor,
        dossier=dossier,
        section=SECTION_PROCEDURE,
        values=_procedure(procedure="sans_echange", purpose=Purpose.WELLBEING),
    )
    dossier.refresh_from_db()
    assert dossier.purpose == Purpose.WELLBEING


def test_switching_to_the_simple_procedure_clears_the_exchange_part(draft_dossier, editor):
    assert draft_dossier.requested_exchanges.exists()
    dossier_update(
        actor=editor, dossier=draft_dossier, section=SECTION_PROCEDURE, values=_procedure(procedure="sans_echange")
    )
    draft_dossier.refresh_from_db()
    assert (draft_dossier.procedure, draft_dossier.oid, draft_dossier.redirect_uris) == ("sans_echange", "", [])
    assert not draft_dossier.requested_exchanges.exists()


def test_the_exchange_procedure_is_refused_for_a_product_without_exchange(ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.DRAFT, editor=editor)
    with pytest.raises(ValidationError) as error:
        dossier_update(actor=editor, dossier=dossier, section=SECTION_PROCEDURE, values=_procedure())
    assert "changez la démarche du produit dans Convergence" in messages_of(error)["procedure"][0]


# --- Exchanges, OID, redirect URIs ------------------------------------------------------------------------------------


def _exchanges(**values):
    return {
        "exchanges": {DataExchange.MEASURES_WRITE: "Les mesures du tensiomètre vont dans l’espace."},
        "oid": "1.2.250.1.999.1",
        "redirect_uris": ["https://suivi-tension.example.fr/oauth/retour", "http://localhost:8080/retour"],
    } | values


def test_the_exchanges_section_replaces_the_requested_exchanges(draft_dossier, editor):
    dossier_update(
        actor=editor,
        dossier=draft_dossier,
        section=SECTION_EXCHANGES,
        values=_exchanges(
            exchanges={DataExchange.CONTACT_READ: "Rappel des rendez-vous.", DataExchange.AGENDA_WRITE: "Rendez-vous."}
        ),
    )
    draft_dossier.refresh_from_db()
    rows = list(RequestedExchange.objects.filter(dossier=draft_dossier).values_list("exchange", "justification"))
    # Stored in the vocabulary's order, whatever the order given.
    assert rows == [(DataExchange.AGENDA_WRITE, "Rendez-vous."), (DataExchange.CONTACT_READ, "Rappel des rendez-vous.")]
    assert draft_dossier.oid == "1.2.250.1.999.1"
    assert draft_dossier.redirect_uris == [
        "https://suivi-tension.example.fr/oauth/retour",
        "http://localhost:8080/retour",
    ]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"exchanges": {}}, "exchanges", "Cochez au moins une donnée"),
        ({"exchanges": {"photos-lecture": "x"}}, "exchanges", "La donnée « photos-lecture » n’existe pas."),
        (
            {"exchanges": {DataExchange.DOCUMENTS_READ: "  "}},
            justification_key(DataExchange.DOCUMENTS_READ),
            "Justifiez le besoin de la donnée « Documents — lecture »",
        ),
        (
            {"exchanges": {DataExchange.DOCUMENTS_READ: "x" * 1001}},
            justification_key(DataExchange.DOCUMENTS_READ),
            "limitée à 1\u00a0000 caractères",
        ),
        ({"oid": ""}, "oid", "Indiquez l’OID de votre organisation"),
        ({"oid": "1.2.250.01"}, "oid", "par exemple 1.2.250.1.999"),
        ({"oid": "3.1.2"}, "oid", "par exemple 1.2.250.1.999"),
        ({"oid": "1.2 .250"}, "oid", "par exemple 1.2.250.1.999"),
        ({"oid": "urn:oid:1.2.250"}, "oid", "par exemple 1.2.250.1.999"),
        ({"redirect_uris": []}, "redirect_uris", "Indiquez au moins une URI de redirection"),
        (
            {"redirect_uris": [f"https://exemple.fr/retour{n}" for n in range(6)]},
            "redirect_uris",
            "Indiquez au plus 5 URI de redirection (vous en avez indiqué 6).",
        ),
        ({"redirect_uris": ["http://exemple.fr/retour"]}, "redirect_uris", "doit commencer par https://"),
        ({"redirect_uris": ["https://exemple.fr/retour#fin"]}, "redirect_uris", "ne doit pas contenir de fragment"),
        ({"redirect_uris": ["https://*.exemple.fr/retour"]}, "redirect_uris", "les jokers (*) ne sont pas admis"),
        ({"redirect_uris": ["https://moi:secret@exemple.fr/"]}, "redirect_uris", "ni identifiant ni mot de passe"),
        ({"redirect_uris": ["exemple.fr/retour"]}, "redirect_uris", "n’est pas une adresse complète"),
        ({"redirect_uris": ["fr.exemple.app:/retour"]}, "redirect_uris", "n’est pas une adresse complète"),
        ({"redirect_uris": ["https://exemple.fr:port/"]}, "redirect_uris", "n’est pas une adresse valide"),
        (
            {"redirect_uris": ["https://exemple.fr/a", "https://exemple.fr/a"]},
            "redirect_uris",
            "« https://exemple.fr/a » est indiquée deux fois.",
        ),
    ],
    ids=[
        "no-exchange",
        "unknown-exchange",
        "no-justification",
        "long-justification",
        "no-oid",
        "oid-leading-zero",
        "oid-bad-root",
        "oid-space",
        "oid-urn",
        "no-uri",
        "six-uris",
        "plain-http",
        "fragment",
        "wildcard",
        "credentials",
        "no-scheme",
        "custom-scheme",
        "bad-port",
        "duplicate",
    ],
)
def test_each_rule_of_the_exchanges_section(draft_dossier, editor, values, field, message):
    before = list(draft_dossier.requested_exchanges.values_list("exchange", flat=True))
    with pytest.raises(ValidationError) as error:
        dossier_update(actor=editor, dossier=draft_dossier, section=SECTION_EXCHANGES, values=_exchanges(**values))
    assert message in " ".join(messages_of(error)[field])
    assert list(draft_dossier.requested_exchanges.values_list("exchange", flat=True)) == before


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:3000/retour", "http://localhost/retour", "https://exemple.fr/retour?source=mes"]
)
def test_development_and_query_uris_are_accepted(draft_dossier, editor, uri):
    dossier_update(
        actor=editor, dossier=draft_dossier, section=SECTION_EXCHANGES, values=_exchanges(redirect_uris=[uri])
    )
    draft_dossier.refresh_from_db()
    assert draft_dossier.redirect_uris == [uri]


def test_redirect_uris_are_read_one_per_line():
    assert redirect_uris_parse(" https://a.fr/1 \r\n\r\nhttps://b.fr/2\n") == ["https://a.fr/1", "https://b.fr/2"]


def test_the_simple_procedure_has_no_exchanges_section(ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.DRAFT, editor=editor)
    with pytest.raises(ValidationError, match="procédure simple n’échange aucune donnée"):
        dossier_update(actor=editor, dossier=dossier, section=SECTION_EXCHANGES, values=_exchanges())


# --- The catalogue sheet ----------------------------------------------------------------------------------------------


def _sheet(**values):
    sheet = {name: SHEET.get(name, "") for name in SHEET_FIELDS}
    sheet |= {"medical_device": False, "connected_objects": True}
    return sheet | values


def test_the_sheet_is_saved_tidied(draft_dossier, editor):
    dossier_update(
        actor=editor,
        dossier=draft_dossier,
        section=SECTION_SHEET,
        values=_sheet(name="  Suivi   Tension  ", long_description="Premier.\r\n\r\nSecond.\r\n", price_details=""),
    )
    draft_dossier.refresh_from_db()
    assert draft_dossier.name == "Suivi Tension"
    assert draft_dossier.long_description == "Premier.\n\nSecond."


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": ""}, "name", "Indiquez le nom du service"),
        ({"short_description": ""}, "short_description", "Rédigez la description courte"),
        ({"short_description": "x" * 161}, "short_description", "160"),
        ({"long_description": ""}, "long_description", "Rédigez la description longue"),
        ({"category": ""}, "category", "Choisissez la catégorie du catalogue."),
        ({"category": "jeux"}, "category", "Choisissez une valeur de la liste."),
        ({"service_kind": ""}, "service_kind", "Choisissez le type de service."),
        ({"price_model": ""}, "price_model", "Choisissez le modèle économique."),
        ({"price_model": PriceModel.SUBSCRIPTION}, "price_details", "Précisez le prix"),
        # The catalogue's rules, with its own messages (catalogue.models.Service.clean).
        ({"medical_device": True}, "medical_device_class", "Indiquez la classe du dispositif médical."),
        ({"medical_device_class": "IIa"}, "medical_device_class", "Une classe n’est indiquée que pour un dispositif"),
        ({"connected_objects_details": ""}, "connected_objects_details", "Indiquez avec quels objets connectés"),
        (
            {"connected_objects": False},
            "connected_objects_details",
            "Cochez « fonctionne avec des objets connectés » ou videz ce champ.",
        ),
        (
            {"service_kind": ServiceKind.WEB, "app_store_url": "", "google_play_url": ""},
            "website_url",
            "Indiquez l’adresse du site",
        ),
        ({"app_store_url": "", "google_play_url": ""}, "app_store_url", "Indiquez au moins un lien vers l’App Store"),
        (
            {"service_kind": ServiceKind.WEB, "website_url": "https://exemple.fr"},
            "app_store_url",
            "Un lien de téléchargement n’est indiqué que pour une application mobile.",
        ),
        ({"support_email": ""}, "support_email", "Indiquez au moins un moyen de contacter le support"),
        ({"support_email": "support"}, "support_email", "adresse e-mail valide"),
        ({"support_phone": "appelez-nous"}, "support_phone", "Saisissez un numéro de téléphone"),
        ({"website_url": "http://exemple.fr"}, "website_url", "commençant par https://"),
        ({"app_store_url": "https://exemple.fr/app"}, "app_store_url", "https://apps.apple.com"),
        ({"google_play_url": "https://exemple.fr/"}, "google_play_url", "play.google.com/store/apps/details"),
        ({"accessibility_url": ""}, "accessibility_url", "Indiquez l’adresse de la déclaration d’accessibilité"),
    ],
    ids=[
        "no-name",
        "no-short",
        "long-short",
        "no-long",
        "no-category",
        "bad-category",
        "no-kind",
        "no-price",
        "subscription-details",
        "device-class",
        "class-without-device",
        "objects-details",
        "details-without-objects",
        "web-needs-site",
        "mobile-needs-store",
        "store-only-mobile",
        "no-support",
        "bad-email",
        "bad-phone",
        "plain-http",
        "app-store-host",
        "google-play-host",
        "statement-url",
    ],
)
def test_each_rule_of_the_sheet(draft_dossier, editor, values, field, message):
    with pytest.raises(ValidationError) as error:
        dossier_update(actor=editor, dossier=draft_dossier, section=SECTION_SHEET, values=_sheet(**values))
    assert message in " ".join(messages_of(error)[field])
    draft_dossier.refresh_from_db()
    assert draft_dossier.name == SHEET["name"]


def test_an_unassessed_accessibility_needs_no_statement(draft_dossier, editor):
    values = _sheet(accessibility_compliance=AccessibilityCompliance.NOT_ASSESSED, accessibility_url="")
    dossier_update(actor=editor, dossier=draft_dossier, section=SECTION_SHEET, values=values)
    draft_dossier.refresh_from_db()
    assert draft_dossier.accessibility_compliance == AccessibilityCompliance.NOT_ASSESSED


def test_every_error_of_the_sheet_is_reported_at_once(draft_dossier, editor):
    with pytest.raises(ValidationError) as error:
        dossier_update(
            actor=editor,
            dossier=draft_dossier,
            section=SECTION_SHEET,
            values=_sheet(name="", category="", price_model=""),
        )
    assert {"name", "category", "price_model"} <= set(messages_of(error))


# --- Who and when -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [State.SUBMITTED, State.INSTRUCTION, State.COMMISSION, State.ADJOURNED, State.PUBLISHED, State.ABANDONED],
    ids=["submitted", "instruction", "commission", "adjourned", "published", "abandoned"],
)
def test_a_dossier_is_edited_only_as_a_draft_or_when_completion_is_asked(ready_product, editor, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    with pytest.raises(ValidationError, match="ne peut plus être modifié"):
        dossier_update(actor=editor, dossier=dossier, section=SECTION_PROCEDURE, values=_procedure(purpose="soins"))


def test_a_dossier_returned_for_completion_can_be_edited(ready_product, editor):
    dossier = dossier_in_state(ready_product, State.COMPLETION, editor=editor)
    dossier_update(actor=editor, dossier=dossier, section=SECTION_PROCEDURE, values=_procedure(purpose="diagnostic"))
    dossier.refresh_from_db()
    assert dossier.purpose == Purpose.DIAGNOSIS


@pytest.mark.parametrize(
    "actor_name", ["outsider", "commission_member", "administrator"], ids=["outsider", "member", "admin"]
)
def test_nobody_but_the_organisation_edits_the_dossier(request, draft_dossier, actor_name):
    with pytest.raises(PermissionDenied):
        dossier_update(
            actor=request.getfixturevalue(actor_name),
            dossier=draft_dossier,
            section=SECTION_PROCEDURE,
            values=_procedure(purpose="diagnostic"),
        )
    draft_dossier.refresh_from_db()
    assert draft_dossier.purpose == Purpose.CARE


def test_a_colleague_of_the_organisation_may_edit(draft_dossier, colleague):
    dossier_update(
        actor=colleague, dossier=draft_dossier, section=SECTION_PROCEDURE, values=_procedure(purpose="soins")
    )


def test_an_unknown_section_is_refused(draft_dossier, editor):
    with pytest.raises(ValidationError, match="n’existe pas"):
        dossier_update(actor=editor, dossier=draft_dossier, section="tarifs", values={})


def test_a_second_product_of_the_organisation_gets_its_own_dossier(ready_product, editor, organisation):
    other = make_ready_product(editor, organisation, name="Suivi Glycémie")
    first = dossier_create(actor=editor, product=ready_product, procedure="avec_echange")
    second = dossier_create(actor=editor, product=other, procedure="sans_echange")
    assert first.reference != second.reference
