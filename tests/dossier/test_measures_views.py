"""Pages of the measures: overview, a page per measure, entry, deletion — and who may reach them."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dossier.fhir.measures import build_observation
from dossier.measures_catalog import INS_SYSTEM, MEASURES
from dossier.models import Measure, MeasureKind, SourceKind
from dossier.services.measures import MEASURE_DELETED, measure_record_observation
from mes.acces.models import JournalEntry
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.dossier.measures_support import at, bulk_values, record

pytestmark = pytest.mark.django_db

OTHER_ROLES = ["professional", "editor", "commission", "admin"]


def routes(measure=None):
    public_id = measure.public_id if measure else "00000000-0000-0000-0000-000000000000"
    kind = measure.kind if measure else MeasureKind.WEIGHT
    return [
        reverse("measure_overview"),
        reverse("measure_detail", args=[kind]),
        reverse("measure_add", args=[kind]),
        reverse("measure_delete", args=[kind, public_id]),
    ]


def app_value(access, kind=MeasureKind.HEART_RATE, value="64", label="Cardio Suivi"):
    resource = build_observation(
        spec=MEASURES[kind],
        citizen=access.citizen,
        effective_at=timezone.now() - timedelta(hours=3),
        value=Decimal(value),
    )
    resource["subject"] = {"identifier": {"system": INS_SYSTEM, "value": access.citizen.ins}}
    return measure_record_observation(access=access, resource=resource, source_kind=SourceKind.APP, source_label=label)


def main_text(response) -> str:
    html = response.content.decode()
    return re.sub(r"[ \t\r\n]+", " ", html.split('id="content"', 1)[1].split("</main>", 1)[0])


# --- who may reach the pages ------------------------------------------------------------------------------------


def test_visitors_are_asked_to_sign_in_everywhere(client, access):
    measure = record(access, MeasureKind.WEIGHT, "70")
    for index, path in enumerate(routes(measure)):
        # The overview and the measure pages answer only GET: any other method is refused before anything else.
        for method in ("get", "post") if index >= 2 else ("get",):
            response = getattr(client, method)(path)
            assert response.status_code == 302, (method, path)
            assert response["Location"].startswith(reverse("account_login"))
    assert Measure.objects.filter(pk=measure.pk).exists()


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_everywhere(client, persona_users, access, role):
    measure = record(access, MeasureKind.WEIGHT, "70")
    client.force_login(persona_users[role])
    for index, path in enumerate(routes(measure)):
        assert client.get(path).status_code == 403, path
        if index >= 2:
            assert client.post(path, {"value": "80", "date": "2024-01-01", "time": "08:00"}).status_code == 403, path
    assert Measure.objects.filter(citizen=access.citizen).count() == 1


def test_another_citizen_gets_404_on_the_delete_route_and_the_value_stays(client, access, other_citizen):
    mine = record(access, MeasureKind.TEMPERATURE, "38.4")
    client.force_login(other_citizen.user)
    path = reverse("measure_delete", args=[mine.kind, mine.public_id])
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    mine.refresh_from_db()
    assert mine.value == Decimal("38.4")
    assert not JournalEntry.objects.filter(action=MEASURE_DELETED).exists()


def test_another_citizens_values_never_appear(client, access, other_access, other_citizen, citizen):
    record(other_access, MeasureKind.WEIGHT, "93.7")
    record(other_access, MeasureKind.HEART_RATE, "123")
    record(access, MeasureKind.WEIGHT, "61.2")
    client.force_login(citizen.user)
    overview = main_text(client.get(reverse("measure_overview")))
    detail = main_text(client.get(reverse("measure_detail", args=[MeasureKind.WEIGHT])))
    heart = main_text(client.get(reverse("measure_detail", args=[MeasureKind.HEART_RATE])))
    for text in (overview, detail, heart):
        assert "93,7" not in text
        assert "123" not in text
    assert "61,2" in overview
    assert "61,2" in detail
    assert "Aucune valeur enregistrée pour le moment." in heart


@pytest.mark.parametrize("name", ["measure_detail", "measure_add"])
def test_unknown_measure_is_404(client, citizen, name):
    client.force_login(citizen.user)
    assert client.get(reverse(name, args=["cholesterol"])).status_code == 404


def test_delete_route_with_the_wrong_measure_is_404(client, access, citizen):
    weight = record(access, MeasureKind.WEIGHT, "70")
    client.force_login(citizen.user)
    assert client.get(reverse("measure_delete", args=[MeasureKind.HEIGHT, weight.public_id])).status_code == 404
    assert client.post(reverse("measure_delete", args=["inconnue", weight.public_id])).status_code == 404
    assert Measure.objects.filter(pk=weight.pk).exists()


def test_pages_are_not_cached(client, citizen):
    client.force_login(citizen.user)
    for path in routes()[:3]:
        assert "no-store" in client.get(path)["Cache-Control"]


# --- overview and measure pages ---------------------------------------------------------------------------------


def test_overview_shows_a_card_per_measure_with_the_latest_value(client, access, citizen):
    record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "71.4", at(2024, 3, 1, 9, 15))
    record(access, MeasureKind.BLOOD_PRESSURE, 128, at(2024, 3, 2, 8, 0), value_secondary=82)
    record(access, MeasureKind.GLUCOSE, "1.02", at(2024, 3, 2, 7, 0), unit="g/L", glucose_moment="a-jeun")
    client.force_login(citizen.user)
    text = main_text(client.get(reverse("measure_overview")))
    for spec in MEASURES.values():
        assert reverse("measure_detail", args=[spec.kind]) in text
    assert "71,4\u00a0kg" in text
    assert "Dernière valeur le 1 mars 2024 à 9\u00a0h\u00a015" in text
    assert "128/82\u00a0mmHg" in text
    assert "1,02\u00a0g/L" in text and "À jeun" in text
    assert "Calculé dès que vous avez saisi un poids et une taille." in text


def test_measure_page_has_an_accessible_chart_and_the_list(client, access, citizen):
    record(access, MeasureKind.WEIGHT, "70.5", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "69.8", at(2024, 2, 1, 8, 0))
    app_value(access, MeasureKind.WEIGHT, "69.1", label="Balance Connectée")
    client.force_login(citizen.user)
    response = client.get(reverse("measure_detail", args=[MeasureKind.WEIGHT]))
    html = response.content.decode()
    assert html.count('role="img"') == 2  # the wide and the narrow drawing
    assert '<title id="graphique-large-titre">Poids : évolution du 1 janvier 2024 au' in html
    assert 'aria-labelledby="graphique-large-titre graphique-large-description"' in html
    assert "3 valeur(s) sur la période. Poids : de 69,1 à 70,5 kg." in html
    assert ">Poids (kg)</text>" in html  # the axis says its unit
    assert ">janv. 2024</text>" in html  # dates on the axis, as precise as the span needs
    assert "Afficher les données du graphique sous forme de tableau" in html
    text = main_text(response)
    assert "1 janvier 2024 à 8\u00a0h\u00a000" in text
    assert "Saisie par l’usager" in text
    assert "Balance Connectée (service référencé)" in text
    # Own entries can be deleted, the app's cannot.
    assert html.count("fr-icon-delete-line") == 2
    assert "ne peuvent pas être supprimées ici" in text


def test_blood_pressure_page_draws_both_series(client, access, citizen):
    record(access, MeasureKind.BLOOD_PRESSURE, 130, at(2024, 1, 1, 8, 0), value_secondary=85)
    record(access, MeasureKind.BLOOD_PRESSURE, 124, at(2024, 1, 2, 8, 0), value_secondary=79)
    client.force_login(citizen.user)
    html = client.get(reverse("measure_detail", args=[MeasureKind.BLOOD_PRESSURE])).content.decode()
    assert html.count("<polyline") == 4  # two series in each of the two sizes
    assert "Pression systolique" in html and "Pression diastolique" in html
    assert '<td class="fr-cell--multiline">130\u00a0mmHg</td><td class="fr-cell--multiline">85\u00a0mmHg</td>' in html
    assert "124/79\u00a0mmHg" in html


def test_glucose_page_shows_the_moment_and_converts_for_the_chart(client, access, citizen):
    record(access, MeasureKind.GLUCOSE, "1.10", at(2024, 1, 1, 8, 0), unit="g/L", glucose_moment="a-jeun")
    record(access, MeasureKind.GLUCOSE, "140", at(2024, 1, 1, 13, 0), unit="mg/dL", glucose_moment="apres-repas")
    client.force_login(citizen.user)
    html = client.get(reverse("measure_detail", args=[MeasureKind.GLUCOSE])).content.decode()
    assert "Glycémie en mg/dL, du plus ancien au plus récent" in html  # the unit of the latest value
    assert '<td class="fr-cell--multiline">110\u00a0mg/dL</td>' in html  # the chart's data, in the table
    assert "1,1\u00a0g/L" in html
    assert "Après le repas (post-prandial)" in html and "À jeun" in html


def test_period_filter(client, access, citizen):
    record(access, MeasureKind.HEART_RATE, "61", timezone.now() - timedelta(days=200))
    record(access, MeasureKind.HEART_RATE, "72", timezone.now() - timedelta(days=5))
    client.force_login(citizen.user)
    path = reverse("measure_detail", args=[MeasureKind.HEART_RATE])
    month = client.get(path, {"periode": "1m"}).content.decode()
    table = month.split("donnees-graphique-titre", 2)[2].split("</table>")[0]
    assert "72\u00a0battements/min" in table and "61" not in table
    assert 'href="?periode=1m" aria-current="true"' in month
    everything = client.get(path, {"periode": "n-importe"}).content.decode()
    assert 'href="?periode=tout" aria-current="true"' in everything
    assert "2 valeur(s) sur la période" in everything
    empty = client.get(path, {"periode": "1m"})
    Measure.objects.all().update(effective_at=timezone.now() - timedelta(days=400))
    empty = client.get(path, {"periode": "1a"}).content.decode()
    assert "Aucune valeur sur cette période." in empty


def test_list_is_paginated_newest_first(client, access, citizen):
    bulk_values(access.citizen, MeasureKind.STEPS, 25, start=at(2024, 1, 1, 20, 0), step=timedelta(days=1), value=9000)
    client.force_login(citizen.user)
    path = reverse("measure_detail", args=[MeasureKind.STEPS])
    first = client.get(path).content.decode()
    assert "25 janvier 2024" in first and ">5 janvier 2024 à" not in first.split('id="liste-valeurs"')[1]
    cursor = re.search(r"apres=([\w-]+)", first).group(1)
    second = client.get(path, {"apres": cursor}).content.decode()
    listed = second.split('id="liste-valeurs"')[1]
    assert ">5 janvier 2024 à" in listed and "25 janvier 2024" not in listed
    assert "Revenir aux valeurs les plus récentes" in second
    assert "Valeurs plus anciennes" not in second


def test_measure_page_takes_as_many_queries_for_200_values_as_for_5(client, access, citizen, django_assert_num_queries):
    client.force_login(citizen.user)
    path = reverse("measure_detail", args=[MeasureKind.WEIGHT])
    bulk_values(citizen, MeasureKind.WEIGHT, 5, start=at(2023, 1, 1, 8, 0), step=timedelta(days=1))
    client.get(path)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(path).status_code == 200
    bulk_values(citizen, MeasureKind.WEIGHT, 195, start=at(2023, 6, 1, 8, 0), step=timedelta(hours=7))
    with django_assert_num_queries(len(few)):
        response = client.get(path)
    assert "200 valeur(s) sur la période" in response.content.decode()


def test_overview_takes_as_many_queries_whatever_the_volume(client, access, citizen, django_assert_num_queries):
    client.force_login(citizen.user)
    path = reverse("measure_overview")
    record(access, MeasureKind.WEIGHT, "70")
    client.get(path)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(path)
    for kind in (MeasureKind.STEPS, MeasureKind.HEART_RATE, MeasureKind.BLOOD_PRESSURE):
        bulk_values(citizen, kind, 200, start=at(2023, 1, 1, 8, 0), step=timedelta(hours=5), light=True)
    with django_assert_num_queries(len(few)):
        client.get(path)


# --- entry ------------------------------------------------------------------------------------------------------


def test_add_a_weight_with_a_french_decimal(client, access, citizen):
    client.force_login(citizen.user)
    response = client.post(
        reverse("measure_add", args=[MeasureKind.WEIGHT]), {"value": "72,5", "date": "2024-05-01", "time": "08:30"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("measure_detail", args=[MeasureKind.WEIGHT])
    measure = Measure.objects.get(citizen=citizen)
    assert (measure.value, measure.effective_at) == (Decimal("72.5"), at(2024, 5, 1, 8, 30))
    page = client.get(response["Location"])
    assert "Valeur enregistrée : 72,5\u00a0kg le 1 mai 2024 à 8\u00a0h\u00a030." in main_text(page)


def test_add_form_proposes_now_in_paris(client, citizen):
    client.force_login(citizen.user)
    html = client.get(reverse("measure_add", args=[MeasureKind.WEIGHT])).content.decode()
    now = timezone.localtime()
    assert f'value="{now:%Y-%m-%d}"' in html
    assert 'type="time"' in html and 'inputmode="decimal"' in html


def test_add_steps_with_a_thousands_separator(client, citizen):
    client.force_login(citizen.user)
    client.post(
        reverse("measure_add", args=[MeasureKind.STEPS]), {"value": "10 250", "date": "2024-05-01", "time": "21:00"}
    )
    assert Measure.objects.get(citizen=citizen).value == 10250


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        (MeasureKind.WEIGHT, {"value": ""}, "Saisissez la valeur mesurée."),
        (MeasureKind.WEIGHT, {"value": "soixante"}, "Saisissez un nombre, par exemple 72,5."),
        (MeasureKind.WEIGHT, {"value": "4000"}, "Poids : la valeur doit être comprise entre 0,2 et 650 kg."),
        (MeasureKind.TEMPERATURE, {"value": "3,78"}, "Température : la valeur doit être comprise entre 25 et 46,5 °C."),
        (MeasureKind.PAIN, {"value": "4,5"}, "Saisissez un nombre entier, sans virgule."),
        (MeasureKind.WEIGHT, {"value": "70", "date": "2099-01-01"}, "ne peuvent pas être dans le futur"),
        (MeasureKind.WEIGHT, {"value": "70", "date": "1950-01-01"}, "ne peut pas précéder la date de naissance"),
        (MeasureKind.WEIGHT, {"value": "70", "date": "2024-03-31", "time": "02:30"}, "passage à l’heure d’été"),
        (MeasureKind.WEIGHT, {"value": "70", "date": "31/02/2024"}, "Saisissez une date valide"),
        (MeasureKind.WEIGHT, {"value": "70", "time": ""}, "Saisissez l’heure de la mesure."),
        (MeasureKind.GLUCOSE, {"value": "1,05", "unit": "g/L"}, "Indiquez le moment de la mesure."),
        (MeasureKind.GLUCOSE, {"value": "105", "unit": "g/L", "moment": "a-jeun"}, "correspond peut-être à des mg/dL"),
        (
            MeasureKind.BLOOD_PRESSURE,
            {"value": "80", "value_secondary": "120"},
            "La pression systolique (le premier chiffre) doit être supérieure à la pression diastolique.",
        ),
        (MeasureKind.BLOOD_PRESSURE, {"value": "120"}, "Saisissez la pression diastolique."),
    ],
)
def test_add_refuses_bad_input_with_a_clear_french_message(client, citizen, kind, data, message):
    client.force_login(citizen.user)
    payload = {"date": "2024-05-01", "time": "08:30", **data}
    response = client.post(reverse("measure_add", args=[kind]), payload)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "<title>Erreur — " in html
    assert "La valeur n’a pas été enregistrée" in html
    assert not Measure.objects.exists()


def test_add_a_glucose_with_its_unit_and_moment(client, citizen):
    client.force_login(citizen.user)
    form = client.get(reverse("measure_add", args=[MeasureKind.GLUCOSE])).content.decode()
    assert 'type="radio"' in form and "Au coucher" in form and "mmol/L" in form
    response = client.post(
        reverse("measure_add", args=[MeasureKind.GLUCOSE]),
        {"value": "6,2", "unit": "mmol/L", "moment": "avant-repas", "date": "2024-05-01", "time": "12:00"},
    )
    assert response.status_code == 302
    measure = Measure.objects.get(citizen=citizen)
    assert (measure.value, measure.unit, measure.glucose_moment) == (Decimal("6.2"), "mmol/L", "88365-2")
    # The next form proposes the unit of the meter.
    form = client.get(reverse("measure_add", args=[MeasureKind.GLUCOSE])).content.decode()
    assert '<option value="mmol/L" selected>' in form


def test_add_a_blood_pressure(client, citizen):
    client.force_login(citizen.user)
    client.post(
        reverse("measure_add", args=[MeasureKind.BLOOD_PRESSURE]),
        {"value": "126", "value_secondary": "81", "date": "2024-05-01", "time": "08:30"},
    )
    measure = Measure.objects.get(citizen=citizen)
    assert (measure.value, measure.value_secondary) == (126, 81)


def test_bmi_has_no_form_and_refuses_a_post(client, citizen):
    client.force_login(citizen.user)
    path = reverse("measure_add", args=[MeasureKind.BMI])
    assert client.get(path).status_code == 404
    assert client.post(path, {"value": "22", "date": "2024-05-01", "time": "08:30"}).status_code == 404
    assert not Measure.objects.exists()
    page = client.get(reverse("measure_detail", args=[MeasureKind.BMI])).content.decode()
    assert path not in page
    assert "Il ne se saisit pas" in page


def test_weight_and_height_make_the_bmi_appear(client, citizen):
    client.force_login(citizen.user)
    client.post(reverse("measure_add", args=["poids"]), {"value": "72,5", "date": "2024-05-01", "time": "08:30"})
    client.post(reverse("measure_add", args=["taille"]), {"value": "172", "date": "2024-05-01", "time": "08:31"})
    text = main_text(client.get(reverse("measure_detail", args=[MeasureKind.BMI])))
    assert "24,5\u00a0kg/m²" in text
    assert "Calculée par Mon espace santé" in text
    assert "fr-icon-delete-line" not in text


# --- deletion ---------------------------------------------------------------------------------------------------


def test_delete_an_own_entry_after_confirmation(client, access, citizen):
    measure = record(access, MeasureKind.PAIN, 8, at(2024, 5, 1, 22, 0))
    client.force_login(citizen.user)
    path = reverse("measure_delete", args=[measure.kind, measure.public_id])
    confirmation = client.get(path)
    assert confirmation.status_code == 200
    assert "Supprimer définitivement" in confirmation.content.decode()
    assert Measure.objects.filter(pk=measure.pk).exists()
    response = client.post(path)
    assert response.status_code == 302
    assert not Measure.objects.filter(pk=measure.pk).exists()
    assert JournalEntry.objects.filter(action=MEASURE_DELETED, citizen=citizen).count() == 1
    assert "La valeur 8/10 du 1 mai 2024 à 22\u00a0h\u00a000 a été supprimée." in main_text(
        client.get(response["Location"])
    )


def test_a_value_from_an_app_cannot_be_deleted_here(client, access, citizen):
    measure = app_value(access)
    client.force_login(citizen.user)
    path = reverse("measure_delete", args=[measure.kind, measure.public_id])
    page = client.get(path)
    assert page.status_code == 403
    assert "ne peut pas être supprimée ici" in page.content.decode()
    assert client.post(path).status_code == 403
    assert Measure.objects.filter(pk=measure.pk).exists()


def test_a_bmi_cannot_be_deleted(client, access, citizen):
    record(access, MeasureKind.HEIGHT, "170", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 2, 8, 0))
    bmi = Measure.objects.get(kind=MeasureKind.BMI)
    client.force_login(citizen.user)
    assert client.post(reverse("measure_delete", args=[bmi.kind, bmi.public_id])).status_code == 403
    assert Measure.objects.filter(pk=bmi.pk).exists()


def test_deleting_a_weight_updates_the_bmi_page(client, access, citizen):
    record(access, MeasureKind.HEIGHT, "170", at(2024, 1, 1, 8, 0))
    weight = record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 2, 8, 0))
    client.force_login(citizen.user)
    client.post(reverse("measure_delete", args=[weight.kind, weight.public_id]))
    assert not Measure.objects.filter(kind=MeasureKind.BMI).exists()


# --- a parent for a child ---------------------------------------------------------------------------------------


def act_for(client, citizen):
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    session.save()


def test_a_parent_manages_the_childs_measures(client, citizen, child, access):
    record(access, MeasureKind.WEIGHT, "64.3")
    client.force_login(citizen.user)
    act_for(client, child)
    response = client.post(
        reverse("measure_add", args=[MeasureKind.WEIGHT]),
        {"value": "24,6", "date": (timezone.localdate() - timedelta(days=1)).isoformat(), "time": "07:00"},
    )
    assert response.status_code == 302
    measure = Measure.objects.get(citizen=child)
    assert measure.value == Decimal("24.6")
    page = main_text(client.get(reverse("measure_detail", args=[MeasureKind.WEIGHT])))
    assert "vous agissez en tant que représentant légal" in page
    assert "24,6" in page and "64,3" not in page
    assert "Saisie par Camille Test (représentant légal)" in page
    # Back in their own space, the child's value is out of reach.
    session = client.session
    del session[ACTIVE_PROFILE_SESSION_KEY]
    session.save()
    path = reverse("measure_delete", args=[measure.kind, measure.public_id])
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    assert Measure.objects.filter(pk=measure.pk).exists()
    act_for(client, child)
    assert client.post(path).status_code == 302
    assert not Measure.objects.filter(pk=measure.pk).exists()
