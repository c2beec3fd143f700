"""Throughput of the dossier's pages for a big dossier (10,000 documents, 50,000 measures) against raw SQL.

A bench citizen gets 10,000 documents and 50,000 measures (weights: one every two hours or so over 11 years),
inserted by set-based SQL. Each round measures, side by side, requests served in-process by Django's test client
(the whole middleware stack: session, authentication, CSRF, CSP, messages):
- our path: ``GET /dossier/documents/`` — the real view: the active profile, the access policy, the filter form,
  ``document_page`` (keyset pagination through the ORM) and the page template; then the same with a cursor in the
  middle of the list (the 5,000th document), so that a deep page is measured too;
- the baseline: a view of this script behind the same middleware, which runs one raw SQL keyset query
  (``WHERE citizen_id = %s AND (act_date, id) < (%s, %s) ORDER BY act_date DESC, id DESC LIMIT 21``) through the
  database cursor, and renders the same rows with the same template, from plain row objects.
The ratio is requests/s of ours over requests/s of the baseline, median of the rounds.

It also prints the number of queries of the list page and of a measure page (``/dossier/mesures/poids/``: chart
and values) for this dossier and for a dossier of 5 documents and 5 measures: they must be equal (constant
whatever the size). The script deletes everything it created (citizens, accounts, sessions, documents, measures);
nothing is written to the journal by reading pages.

Run: python bench/dossier.py [documents] [measures] [rounds]
"""

import os
import re
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.dev")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import connection  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402

from dossier.document_types import document_type_label  # noqa: E402
from dossier.forms.documents import DocumentFilterForm  # noqa: E402
from dossier.models import Document, Measure  # noqa: E402
from dossier.models.documents import DocumentCategory  # noqa: E402
from dossier.selectors.documents import cursor_encode  # noqa: E402
from dossier.uploads import FORMATS  # noqa: E402
from dossier.views.documents import CURSOR_PARAM  # noqa: E402
from mes.acces.policy import role_required  # noqa: E402
from mes.comptes.demo import make_ins  # noqa: E402
from mes.comptes.models import Citizen, CitizenStatus, Role, Sex, User, mss_address_for  # noqa: E402

PAGE = 20
REQUESTS_PER_ROUND = 60
CATEGORY_LABELS = dict(DocumentCategory.choices)


# --- The baseline: raw SQL keyset query, same rows, same template -------------------------------------------------


class RawDocument:
    """A row of the raw query, with what the template reads of a document."""

    __slots__ = ("act_date", "author_kind", "category", "hidden_from_professionals", "public_id", "size_bytes", "title")

    def __init__(self, public_id, title, category, act_date, size_bytes, hidden, author_kind):
        self.public_id, self.title, self.category, self.act_date = public_id, title, category, act_date
        self.size_bytes, self.hidden_from_professionals, self.author_kind = size_bytes, hidden, author_kind

    def get_category_display(self) -> str:
        return str(CATEGORY_LABELS.get(self.category, self.category))


RAW_SQL = """
SELECT d.public_id, d.title, d.category, d.act_date, d.size_bytes, d.hidden_from_professionals, d.author_kind,
       d.type_code, d.format, d.id
FROM dossier_document d
WHERE d.citizen_id = (SELECT id FROM comptes_citizen WHERE user_id = %(user)s)
  AND (d.act_date, d.id) < (%(date)s, %(id)s)
ORDER BY d.act_date DESC, d.id DESC
LIMIT %(limit)s
"""


@role_required(Role.CITIZEN)
def raw_document_list(request):
    after_date, after_id = date.max, 2**63 - 1
    if "apres" in request.GET:
        raw_date, raw_id = request.GET["apres"].split(":")
        after_date, after_id = date.fromisoformat(raw_date), int(raw_id)
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL, {"user": request.user.pk, "date": after_date, "id": after_id, "limit": PAGE + 1})
        fetched = cursor.fetchall()
    rows = [
        {
            "document": RawDocument(*row[:7]),
            "type_label": document_type_label(row[7]),
            "format_label": FORMATS[row[8]].label if row[8] in FORMATS else row[8],
        }
        for row in fetched[:PAGE]
    ]
    older = f"?apres={fetched[PAGE - 1][3]}:{fetched[PAGE - 1][9]}" if len(fetched) > PAGE else None
    context = {
        "form": DocumentFilterForm(request.GET),
        "page": None,
        "rows": rows,
        "older_url": older,
        "newer_url": None,
        "first_url": None,
        "cursor_error": False,
    }
    return render(request, "dossier/documents/list.html", context)


urlpatterns = [
    path("bench/documents-brut/", raw_document_list),
    path("", include(settings.ROOT_URLCONF)),
]


# --- Data ---------------------------------------------------------------------------------------------------------


def make_citizen(order: int) -> Citizen:
    user = User.objects.create_user(
        email=f"bench-dossier-{uuid.uuid4().hex[:12]}@exemple.fr", password=None, role=Role.CITIZEN
    )
    ins = make_ins(sex=Sex.FEMALE, birth=date(1961, 7, 9), department="80", commune="999", order=900 + order)
    return Citizen.objects.create(
        user=user,
        ins=ins,
        birth_name="BENCH",
        first_names="Dossier",
        birth_date=date(1961, 7, 9),
        sex=Sex.FEMALE,
        birthplace_code="80999",
        department="80",
        status=CitizenStatus.ACTIVATED,
        mss_address=mss_address_for(ins),
    )


FILL_DOCUMENTS_SQL = """
INSERT INTO dossier_document (public_id, citizen_id, title, category, type_code, act_date, author_kind, author_label,
    source_label, hidden_from_professionals, file, original_name, format, content_type, size_bytes, sha256, created_at)
SELECT gen_random_uuid(), %(citizen)s, 'Compte rendu de consultation n° ' || n, 'comptes_rendus', '11488-4',
       DATE '2026-01-01' - (n / 3), CASE WHEN n %% 4 = 0 THEN 'professional' ELSE 'citizen' END, 'Dr Bench', 'Bench',
       n %% 7 = 0, 'dossier/bench/absent-' || n, 'cr-' || n || '.pdf', 'pdf', 'application/pdf', 100000 + n,
       repeat('0', 64), now()
FROM generate_series(1, %(count)s) AS n
"""

FILL_MEASURES_SQL = """
INSERT INTO dossier_measure (public_id, citizen_id, kind, effective_at, value, unit, glucose_moment, source_kind,
    source_label, resource, created_at)
SELECT gen_random_uuid(), %(citizen)s, 'poids', TIMESTAMPTZ '2026-01-01 08:00+01' - n * INTERVAL '2 hours',
       70 + (n %% 100) / 10.0, 'kg', '', 'citizen', 'Saisie par l’usager',
       jsonb_build_object(
           'resourceType', 'Observation', 'status', 'final',
           'meta', jsonb_build_object('profile', jsonb_build_array(
               'https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/FrObservationBodyWeight')),
           'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
               'system', 'http://loinc.org', 'code', '29463-7', 'display', 'Body weight'))),
           'effectiveDateTime', to_char(TIMESTAMPTZ '2026-01-01 08:00+01' - n * INTERVAL '2 hours',
                                        'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
           'valueQuantity', jsonb_build_object('value', 70 + (n %% 100) / 10.0, 'unit', 'kg',
               'system', 'http://unitsofmeasure.org', 'code', 'kg')),
       now()
FROM generate_series(1, %(count)s) AS n
"""


def fill(citizen: Citizen, documents: int, measures: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(FILL_DOCUMENTS_SQL, {"citizen": citizen.pk, "count": documents})
        cursor.execute(FILL_MEASURES_SQL, {"citizen": citizen.pk, "count": measures})
        # As autovacuum would do on a live database: statistics, and the visibility map of index-only scans.
        cursor.execute("VACUUM ANALYZE dossier_document")
        cursor.execute("VACUUM ANALYZE dossier_measure")


def remove(citizens: list[Citizen]) -> None:
    ids = [citizen.pk for citizen in citizens]
    user_ids = [citizen.user_id for citizen in citizens]
    Document.objects.filter(citizen_id__in=ids).delete()
    Measure.objects.filter(citizen_id__in=ids).delete()
    Citizen.objects.filter(pk__in=ids).delete()
    for session in Session.objects.all().iterator():
        if session.get_decoded().get("_auth_user_id") in {str(pk) for pk in user_ids}:
            session.delete()
    User.objects.filter(pk__in=user_ids).delete()


# --- Measures -------------------------------------------------------------------------------------------------------


def client_for(citizen: Citizen) -> Client:
    client = Client()
    client.force_login(citizen.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def rate(client: Client, url: str) -> float:
    start = time.perf_counter()
    for _ in range(REQUESTS_PER_ROUND):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    return REQUESTS_PER_ROUND / (time.perf_counter() - start)


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return len(captured)


def same_rows(client: Client, ours: str, raw: str) -> None:
    """Both paths must show the same documents, in the same order (their links)."""
    links = re.compile(r'href="/dossier/documents/([0-9a-f-]{36})/"')
    if links.findall(client.get(ours).content.decode()) != links.findall(client.get(raw).content.decode()):
        raise SystemExit(f"the raw page and ours do not show the same rows ({ours})")


def main() -> int:
    documents = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    measures = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    big, small = make_citizen(1), make_citizen(2)
    try:
        fill(big, documents, measures)
        fill(small, 5, 5)
        # Production-like: no DEBUG (no query log), static URLs without a collected manifest.
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["testserver"], STORAGES=storages):
            client = client_for(big)
            middle = Document.objects.filter(citizen=big).order_by("-act_date", "-id")[documents // 2]
            cursor = cursor_encode("o", middle)
            pages = [
                ("/dossier/documents/", "/bench/documents-brut/"),
                (
                    f"/dossier/documents/?{CURSOR_PARAM}={cursor}",
                    f"/bench/documents-brut/?apres={middle.act_date}:{middle.pk}",
                ),
            ]
            for ours, raw in pages:
                same_rows(client, ours, raw)
            small_client = client_for(small)
            counts = {
                "list": (queries(client, "/dossier/documents/"), queries(small_client, "/dossier/documents/")),
                "measure": (
                    queries(client, "/dossier/mesures/poids/"),
                    queries(small_client, "/dossier/mesures/poids/"),
                ),
            }
            for url in (pages[0][0], pages[0][1]):  # warm-up: templates, connections
                rate(client, url)
            ours_rates, raw_rates, measure_rates = [], [], []
            for _ in range(rounds):
                for ours, raw in pages:
                    ours_rates.append(rate(client, ours))
                    raw_rates.append(rate(client, raw))
                measure_rates.append(rate(client, "/dossier/mesures/poids/"))
    finally:
        remove([big, small])
    our_rate, raw_rate = statistics.median(ours_rates), statistics.median(raw_rates)
    print(f"dossier: {documents:,} documents, {measures:,} measures; rounds: {rounds} × {REQUESTS_PER_ROUND} requests")
    print(f"queries, list page:    {counts['list'][0]} (big dossier) / {counts['list'][1]} (5 documents)")
    print(f"queries, measure page: {counts['measure'][0]} (big dossier) / {counts['measure'][1]} (5 measures)")
    print(f"raw SQL keyset + same template: {raw_rate:8.1f} pages/s (median, first and middle page)")
    print(f"document list (view):           {our_rate:8.1f} pages/s (median, first and middle page)")
    print(f"measure page (chart + values):  {statistics.median(measure_rates):8.1f} pages/s (median)")
    if counts["list"][0] != counts["list"][1] or counts["measure"][0] != counts["measure"][1]:
        print("WARNING: the number of queries grows with the size of the dossier")
    print(f"GOAL dossier_list_vs_raw {our_rate / raw_rate:.2f} target >= 0.50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
