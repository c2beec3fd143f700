"""Campaign statistics: the pilot's figures, tables per wave and per département, chart, CSV, access."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from mes.comptes.models import CitizenStatus, Wave
from mes.comptes.selectors.stats import campaign_tables, campaign_timeline
from mes.comptes.views.statistics import csv_safe, french_percent
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

URL = "/gestion/statistiques/"
CSV_URL = "/gestion/statistiques/export.csv"

# Person n of a wave: the first `activated` are activated, the next `opposed` opposed, then `auto` created
# automatically, then `closed` closed; the rest are still pending. Each gets a distinct, well-formed INS.
_WAVE_SQL = """
INSERT INTO comptes_citizen (
    public_id, ins, birth_name, first_names, used_first_name, birth_date, sex, birthplace_code, contact_email,
    contact_phone, status, department, wave_id, notification_channel, notified_at, deadline, activated_at,
    opposed_at, auto_created_at, closed_at, closure_reason, mss_address, code_hash, code_failures
)
SELECT gen_random_uuid(),
       -- Key: 97 - NIR mod 97, Corsica's 2A and 2B counted as 19 and 18.
       nir || lpad((97 - (left(nir, 5) || CASE dept WHEN '2A' THEN '19' WHEN '2B' THEN '18' ELSE dept END
                          || right(nir, 6))::bigint %% 97)::text, 2, '0'),
       'TEST', 'Personne', '',
       DATE '1970-01-01', 'F', dept || '001', '', '', status, dept, %(wave)s, 'letter',
       %(start)s::timestamptz + (n %% 3) * interval '1 day', %(start)s::timestamptz + interval '40 days',
       CASE WHEN status = 'activated' THEN %(start)s::timestamptz + (n %% 7) * interval '1 day' END,
       CASE WHEN status = 'opposed' THEN %(start)s::timestamptz + (n %% 5) * interval '1 day' END,
       CASE WHEN status = 'created_automatically' THEN %(start)s::timestamptz + interval '41 days' END,
       CASE WHEN status = 'closed' THEN %(start)s::timestamptz + interval '50 days' END,
       CASE WHEN status = 'closed' THEN 'person' ELSE '' END,
       CASE WHEN status IN ('activated', 'created_automatically') THEN 'test@patient.mssante.fr' ELSE '' END, '', 0
FROM (
    SELECT n, dept,
           -- NIR: sex, year (n / 1000), month, département, commune (the wave), order (n %% 1000).
           '2' || lpad((n / 1000)::text, 2, '0') || '01' || dept || lpad(%(serial)s::text, 3, '0')
             || lpad((n %% 1000)::text, 3, '0') AS nir,
           CASE WHEN n < %(activated)s THEN 'activated'
                WHEN n < %(activated)s + %(opposed)s THEN 'opposed'
                WHEN n < %(activated)s + %(opposed)s + %(auto)s THEN 'created_automatically'
                WHEN n < %(activated)s + %(opposed)s + %(auto)s + %(closed)s THEN 'closed'
                ELSE 'notified' END AS status
    FROM generate_series(0, %(notified)s - 1) n,
         LATERAL (SELECT (%(departments)s::text[])[1 + n %% cardinality(%(departments)s::text[])] AS dept) d
) p
"""


def build_wave(
    name: str,
    departments: list[str],
    *,
    notified: int,
    activated: int = 0,
    opposed: int = 0,
    auto: int = 0,
    closed: int = 0,
    start: datetime = datetime(2022, 1, 3, 9, tzinfo=UTC),
) -> Wave:
    """A notified wave, inserted set-based (one statement, whatever its size)."""
    assert notified <= 100_000  # the INS numbering below has room for that many per wave
    wave = Wave.objects.create(
        name=name, departments=departments, status=Wave.Status.NOTIFIED, notified_at=start, imported_count=notified
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _WAVE_SQL,
            {
                "wave": wave.pk,
                "serial": wave.pk % 1000,
                "departments": departments,
                "notified": notified,
                "activated": activated,
                "opposed": opposed,
                "auto": auto,
                "closed": closed,
                "start": start,
            },
        )
    return wave


def test_the_pilot_proportions_come_out_as_the_pilot_figures(client, administrator):
    build_wave("Vague pilote", ["31", "44", "80"], notified=100_000, activated=3_630, opposed=410, auto=1_000)

    total = campaign_tables().total
    assert (total.notified, total.activated, total.opposed, total.auto_created, total.pending) == (
        100_000,
        3_630,
        410,
        1_000,
        94_960,
    )
    assert (total.activation_rate, total.opposition_rate) == (Decimal("3.63"), Decimal("0.41"))

    client.force_login(administrator)
    page = client.get(URL).content.decode()
    assert "3,63\u00a0%" in page
    assert "0,41\u00a0%" in page
    assert "100\u00a0000" in page
    assert "Vague pilote" in page


def test_tables_group_by_wave_and_by_departement_and_rows_add_up():
    build_wave("Vague 1", ["31", "44"], notified=40, activated=4, opposed=2, auto=10, closed=1)
    build_wave("Vague 2", ["44", "2A"], notified=20, activated=1, start=datetime(2022, 3, 1, tzinfo=UTC))
    # Neither imported-but-not-notified people nor spaces opened outside the campaign are counted.
    CitizenFactory(status=CitizenStatus.IMPORTED, user=None, activated_at=None, department="31")
    CitizenFactory(department="31")

    tables = campaign_tables()
    assert [row.label for row in tables.waves] == ["Vague 1", "Vague 2"]
    assert [row.label for row in tables.departments] == ["2A", "31", "44"]
    assert [row.notified for row in tables.departments] == [10, 20, 30]
    assert tables.total.notified == 60
    for row in [*tables.waves, *tables.departments, tables.total]:
        assert row.notified == row.activated + row.opposed + row.auto_created + row.pending + row.closed
    wave_1 = tables.waves[0]
    assert (wave_1.activated, wave_1.opposed, wave_1.auto_created, wave_1.closed, wave_1.pending) == (4, 2, 10, 1, 23)
    assert wave_1.activation_rate == Decimal("10.00")


def test_timeline_is_cumulative_daily_and_ends_on_the_totals():
    build_wave("Vague 1", ["31"], notified=30, activated=7, opposed=3, auto=5)

    timeline = campaign_timeline()
    assert timeline.step == "day"
    assert timeline.points[0].day.isoformat() == "2022-01-03"  # the first notification
    last = timeline.points[-1]
    assert (last.activated, last.opposed, last.auto_created) == (7, 3, 5)
    days = [point.day for point in timeline.points]
    assert days == sorted(days) and len(days) == len(set(days))
    for earlier, later in zip(timeline.points, timeline.points[1:], strict=False):
        assert later.activated >= earlier.activated and later.auto_created >= earlier.auto_created


def test_timeline_switches_to_weeks_on_a_long_campaign():
    build_wave("Vague 1", ["31"], notified=10, activated=2)
    build_wave("Vague 2", ["44"], notified=10, activated=2, auto=3, start=datetime(2022, 9, 1, tzinfo=UTC))
    timeline = campaign_timeline()
    assert timeline.step == "week"
    assert all(point.day.weekday() == 0 for point in timeline.points)
    assert timeline.points[-1].auto_created == 3


def test_empty_campaign_shows_an_empty_page(client, administrator):
    assert campaign_timeline().points == []
    client.force_login(administrator)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Aucune personne n’a encore été notifiée." in response.content.decode()


def test_page_shows_an_accessible_svg_chart_and_its_data_table(client, administrator):
    build_wave("Vague 1", ["31"], notified=30, activated=7, opposed=3, auto=5)
    client.force_login(administrator)
    page = client.get(URL).content.decode()
    assert '<svg viewBox="0 0 720 320"' in page
    assert 'role="img" aria-labelledby="graphique-titre graphique-description"' in page
    assert '<title id="graphique-titre">' in page and '<desc id="graphique-description">' in page
    assert page.count("<polyline") == 3
    assert "Afficher les données du graphique sous forme de tableau" in page
    assert "<script" not in page.split("</main>")[0].split('<main id="content"')[1]  # no JavaScript needed


def test_query_count_does_not_grow_with_waves_and_departements(client, administrator, django_assert_max_num_queries):
    client.force_login(administrator)
    build_wave("Vague 1", ["31"], notified=10, activated=1)
    with django_assert_max_num_queries(8) as small:
        assert client.get(URL).status_code == 200
    for index in range(2, 8):
        build_wave(f"Vague {index}", [f"{index:02d}", f"{index + 10:02d}"], notified=10, activated=1, opposed=1)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(URL).status_code == 200
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(CSV_URL).status_code == 200


def test_csv_export_for_excel_with_formulas_neutralised(client, administrator):
    build_wave('=HYPERLINK("http://x";"clic")', ["31"], notified=8, activated=1, opposed=1)
    build_wave("+33 Vague", ["44"], notified=2)
    build_wave("@SUM(A1)", ["80"], notified=2)
    build_wave("-1 vague", ["2B"], notified=2)
    client.force_login(administrator)

    response = client.get(CSV_URL)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="statistiques-campagne-')
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0][:3] == ["Niveau", "Vague ou département", "Notifiés"]
    labels = {row[1] for row in rows[1:]}
    assert '\'=HYPERLINK("http://x";"clic")' in labels
    assert {"'+33 Vague", "'@SUM(A1)", "'-1 vague"} <= labels
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    total = rows[-1]
    assert total[:4] == ["Total", "Total", "14", "1"]
    assert total[8] == "7,14"  # 1 / 14, decimal comma


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Vague 1", "Vague 1"),
        (42, "42"),
        (None, ""),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed(value, expected):
    assert csv_safe(value) == expected


def test_rates_are_formatted_the_french_way():
    assert french_percent(Decimal("3.63")) == "3,63\u00a0%"
    assert french_percent(Decimal("0.41")) == "0,41\u00a0%"
    assert french_percent(Decimal("100.00")) == "100,00\u00a0%"
    assert french_percent(None) == "—"


@pytest.mark.parametrize("path", [URL, CSV_URL])
def test_only_administrators_reach_the_statistics(client, persona_users, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for role, user in persona_users.items():
        client.force_login(user)
        assert client.get(path).status_code == (200 if role == "admin" else 403), role


def test_administrators_see_the_statistics_in_their_navigation(client, administrator, citizen):
    client.force_login(administrator)
    assert f'href="{URL}"' in client.get(URL).content.decode()
    client.force_login(citizen.user)
    assert f'href="{URL}"' not in client.get("/").content.decode()
