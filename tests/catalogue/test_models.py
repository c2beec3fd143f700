"""A catalogue entry is valid or refused with a French message on the field to correct; PostgreSQL enforces the
same rules when something bypasses the checks."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalogue.models import DataExchange, MedicalDeviceClass, Service, ServiceKind
from tests.catalogue.helpers import make_service, service_fields

pytestmark = pytest.mark.django_db


def _errors(**overrides) -> dict[str, list[str]]:
    service = Service(**service_fields(**overrides))
    with pytest.raises(ValidationError) as caught:
        service.full_clean()
    return caught.value.message_dict


def test_a_complete_entry_is_valid():
    Service(**service_fields()).full_clean()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("website_url", "http://service.example", "https://"),
        ("website_url", "javascript:alert(1)", "https://"),
        ("website_url", "https://moi:secret@service.example", "identifiant"),
        ("accessibility_url", "ftp://service.example/a11y", "https://"),
        ("support_url", "service.example/aide", "https://"),
    ],
)
def test_addresses_must_be_https(field, value, message):
    errors = _errors(**{field: value})
    assert message in " ".join(errors[field])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app_store_url", "https://apps.apple.com.evil.example/fr/app/x/id1"),
        ("app_store_url", "https://play.google.com/store/apps/details?id=x"),
        ("app_store_url", "http://apps.apple.com/fr/app/x/id1"),
        ("app_store_url", "https://apps.apple.com/fr/developer/x/id1"),
        ("google_play_url", "https://play.google.com/store/apps/details"),
        ("google_play_url", "https://play.google.com/store/search?q=x"),
        ("google_play_url", "https://apps.apple.com/fr/app/x/id1"),
        ("google_play_url", "https://play.google.com.evil.example/store/apps/details?id=x"),
    ],
)
def test_store_buttons_lead_to_the_stores_themselves(field, value):
    errors = _errors(kind=ServiceKind.MOBILE, **{field: value})
    expected = "https://" if value.startswith("http:") else "fiche de l’application"
    assert expected in " ".join(errors[field])


def test_store_links_of_the_right_hosts_are_accepted():
    Service(
        **service_fields(
            kind=ServiceKind.BOTH,
            app_store_url="https://apps.apple.com/fr/app/glycosuivi/id6400001234",
            google_play_url="https://play.google.com/store/apps/details?id=fr.exemple.glyco",
        )
    ).full_clean()


def test_a_mobile_app_needs_a_store_link_and_a_web_service_a_website():
    assert "au moins un lien" in _errors(kind=ServiceKind.MOBILE, website_url="")["app_store_url"][0]
    assert "navigateur" in _errors(kind=ServiceKind.WEB, website_url="")["website_url"][0]
    assert "navigateur" in _errors(kind=ServiceKind.INFORMATION_SITE, website_url="")["website_url"][0]


def test_only_mobile_apps_have_store_links():
    errors = _errors(
        kind=ServiceKind.INFORMATION_SITE, google_play_url="https://play.google.com/store/apps/details?id=x"
    )
    assert "application mobile" in errors["google_play_url"][0]


def test_medical_device_class_goes_with_the_ce_marking():
    assert "classe" in _errors(medical_device=True)["medical_device_class"][0]
    assert "cochez" in _errors(medical_device_class=MedicalDeviceClass.IIA)["medical_device_class"][0]
    service = Service(**service_fields(medical_device=True, medical_device_class=MedicalDeviceClass.IIA))
    service.full_clean()
    assert service.medical_device_label == "Dispositif médical marqué CE, classe IIa"


def test_connected_objects_are_named():
    assert "objets connectés" in _errors(connected_objects=True)["connected_objects_details"][0]


def test_at_least_one_way_to_reach_the_support():
    errors = _errors(support_email="", support_phone="", support_url="")
    assert "support" in errors["support_email"][0]
    Service(**service_fields(support_email="", support_phone="01 99 00 12 34")).full_clean()
    assert "téléphone" in _errors(support_phone="appelez-nous")["support_phone"][0]


def test_data_exchanges_come_from_the_vocabulary_once_each():
    assert "data_exchanges" in _errors(data_exchanges=["tout-lire"])
    errors = _errors(data_exchanges=[DataExchange.MEASURES_READ, DataExchange.MEASURES_READ])
    assert "qu’une fois" in errors["data_exchanges"][0]


def test_data_exchanges_read_as_plain_french_in_the_vocabulary_order():
    service = Service(**service_fields(data_exchanges=[DataExchange.AGENDA_WRITE, DataExchange.MEASURES_READ]))
    assert service.data_exchange_sentences == [
        "Lire vos mesures de santé (poids, tension, glycémie…)",
        "Ajouter des rendez-vous à votre agenda, et modifier ceux qu’il a ajoutés",
    ]


def test_short_description_is_limited_to_200_characters():
    assert "short_description" in _errors(short_description="x" * 201)


@pytest.mark.parametrize("slug", ["Mon-Service", "mon_service", "mon--service", "-service", "sérénité"])
def test_slug_format(slug):
    assert "slug" in _errors(slug=slug)


@pytest.mark.parametrize(
    "overrides",
    [
        {"website_url": "", "kind": ServiceKind.WEB},
        {"medical_device": True},
        {"medical_device_class": "IV"},
        {"category": "autre"},
        {"data_exchanges": ["tout-lire"]},
        {"support_email": "", "support_url": ""},
        {"kind": ServiceKind.WEB, "app_store_url": "https://apps.apple.com/fr/app/x/id1"},
        {"slug": "Pas_Bon"},
        {"logo": "catalogue/x/logo.png"},  # a logo without its SHA-256
    ],
)
def test_the_database_refuses_what_bypasses_the_checks(overrides):
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(**service_fields(**overrides))


def test_the_database_refuses_a_published_service_without_logo():
    service = make_service(publish=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.filter(pk=service.pk).update(status="publie", logo="", logo_sha256="")
