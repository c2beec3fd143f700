"""The server of ``bench/api.py``: the project's WSGI application plus two raw-SQL baseline views.

``bench/api.py`` starts gunicorn on ``bench.api_baseline:application``. The URLconf is the project's own
(``mes.urls``) with two more routes in front, so that the baselines go through the very same process, settings and
middleware stack as the FHIR endpoints they are compared with:

- ``POST /bench/brut/observation``: parses the same transaction Bundle as ``POST /api/fhir/``, takes its
  Observation and, in one transaction of raw SQL, finds the person by the bearer token (its checksum joined to the
  active pairing, as the API does), inserts the equivalent ``dossier_measure`` row and its journal row — the rows
  the API writes, without the framework, the FHIR validation, the consent and OID checks or the device — and
  answers 201 with a small JSON body.
- ``GET /bench/brut/observations?_count=20``: the person by the bearer token, one raw ``SELECT`` of their newest
  weights (the same index as the FHIR search), the stored JSON of each row put in a ``searchset`` Bundle, and the
  journal row of the read.

These routes exist only in this benchmark server, never in ``mes.urls``. This module is not a benchmark itself:
run as a script (``make bench`` runs every ``bench/*.py``), it says so and exits.
"""

import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

if __name__ == "__main__":
    print("bench/api_baseline.py est le serveur WSGI de bench/api.py : lancez python bench/api.py.")
    sys.exit(0)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.base")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

from mes.urls import urlpatterns as project_urlpatterns  # noqa: E402

FHIR_JSON = "application/fhir+json"

# The bearer token of a paired app, by its SHA-256 checksum: the person it acts for, if the pairing is active.
_PAIRED = """
SELECT p.citizen_id, h.name FROM oauth2_provider_accesstoken t
JOIN comptes_citizen c ON c.user_id = t.user_id
JOIN acces_apphabilitation h ON h.application_id = t.application_id
JOIN acces_pairing p ON p.citizen_id = c.id AND p.habilitation_id = h.id AND p.revoked_at IS NULL
WHERE t.token_checksum = %s AND t.expires > now()
"""
_INSERT = """
INSERT INTO dossier_measure (public_id, citizen_id, kind, effective_at, value, unit, glucose_moment, source_kind,
                             source_label, resource, created_at)
VALUES (%s, %s, 'frequence-cardiaque', %s, %s, %s, '', 'app', %s, %s, now())
"""
_JOURNAL = """
INSERT INTO acces_journalentry (actor_id, actor_label, action, citizen_id, object_type, object_id, details)
VALUES (NULL, %s, %s, %s, %s, %s, %s)
"""
_SEARCH = """
SELECT public_id, resource FROM dossier_measure
WHERE citizen_id = %s AND kind = 'poids'
ORDER BY effective_at DESC, id DESC
LIMIT %s
"""


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _paired(request: HttpRequest, cursor) -> tuple[int, str] | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    cursor.execute(_PAIRED, [hashlib.sha256(token.encode()).hexdigest()])
    return cursor.fetchone()


def _unauthorized() -> JsonResponse:
    return JsonResponse({"error": "jeton invalide"}, status=401)


@csrf_exempt
@require_POST
def raw_observation_write(request: HttpRequest) -> HttpResponse:
    try:
        bundle = json.loads(request.body)
        observation = next(
            entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Observation"
        )
        quantity = observation["valueQuantity"]
        effective = observation["effectiveDateTime"]
    except (KeyError, ValueError, TypeError, StopIteration):
        return _bad_request("Bundle illisible")
    public_id = uuid.uuid4()
    stored = {**observation, "resourceType": "Observation", "id": str(public_id)}
    with transaction.atomic(), connection.cursor() as cursor:
        paired = _paired(request, cursor)
        if paired is None:
            return _unauthorized()
        citizen_id, name = paired
        cursor.execute(
            _INSERT,
            [public_id, citizen_id, effective, quantity["value"], quantity["code"], "Banc brut", json.dumps(stored)],
        )
        cursor.execute(
            _JOURNAL,
            [name, "dossier.mesure.ajoutee", citizen_id, "dossier.measure", str(public_id), json.dumps({"banc": True})],
        )
    response = JsonResponse({"resourceType": "Observation", "id": str(public_id)}, status=201)
    response["Location"] = f"Observation/{public_id}/_history/1"
    return response


@require_GET
def raw_observation_search(request: HttpRequest) -> HttpResponse:
    try:
        count = min(int(request.GET.get("_count", "20")), 100)
    except ValueError:
        return _bad_request("paramètres illisibles")
    with transaction.atomic(), connection.cursor() as cursor:
        paired = _paired(request, cursor)
        if paired is None:
            return _unauthorized()
        citizen_id, name = paired
        cursor.execute(_SEARCH, [citizen_id, count])
        rows = cursor.fetchall()
        cursor.execute(
            _JOURNAL, [name, "api.lecture", citizen_id, "", "", json.dumps({"ressource": "Observation", "banc": True})]
        )
    base = request.build_absolute_uri("/bench/brut/observations")
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
        "entry": [
            # Django's PostgreSQL backend hands jsonb over as text: decoded here as any reader of the column does.
            {"fullUrl": f"{base}/{public_id}", "resource": json.loads(resource), "search": {"mode": "match"}}
            for public_id, resource in rows
        ],
    }
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
    return HttpResponse(body, content_type=FHIR_JSON)


urlpatterns = [
    path("bench/brut/observation", raw_observation_write),
    path("bench/brut/observations", raw_observation_search),
    *project_urlpatterns,
]

# This module is the URLconf of the benchmark server: set before the first request resolves a URL.
settings.ROOT_URLCONF = __name__
application = WSGIHandler()
