"""Throughput and latency of the FHIR API of the paired apps, against PostgreSQL's own limit and raw-SQL views.

What runs, all on loopback, in one run:
- the server: gunicorn with the project's ``gunicorn.conf.py``, as many sync workers as CPU cores, DEBUG off,
  serving ``bench/api_baseline.py`` (the project's WSGI application, whose URLconf is the project's plus two
  raw-SQL baseline views, so both sides share the process, the settings and the middleware stack);
- the load: wrk (``/usr/bin/wrk``), one Lua script per scenario, ``2 × cores`` connections (a worker never waits for
  the client's next request), ``--latency`` percentiles read from the script's ``done`` hook;
- the database limit: pgbench with a custom script, one single-row ``INSERT`` per transaction (prepared statements,
  autocommit, the same number of clients as wrk connections) into ``bench_api_insert``, a copy of
  ``dossier_measure`` (same columns, defaults and indexes, ``LIKE ... INCLUDING ALL``) created and dropped here,
  the row's JSON being a stored weight Observation like the ones the API writes.

The data: one referenced app (OAuth2 client + habilitation approved for ``patient/Observation.crs``), ``2 × cores``
citizens paired with it, each with its own access token; one more citizen paired the same way, with 5,000 weights
and 1,000 heart rates, for the search. The writes send heart rates: a weight or a height also recomputes body mass
indexes, a rule of the dossier (docs/mesures.md), not of the API path measured here.

Scenarios, each measured for the same duration in every round (5 rounds of 10 s by default; the median of the
rounds' ratios is the result; in even rounds each raw view runs after our path rather than before):
1. pgbench single-row INSERT peak (transactions per second);
2. raw write: ``POST /bench/brut/observation`` with the very Bundle and token of scenario 3: JSON parsed, then in
   one transaction of raw SQL the same rows as the API writes — the person found by the token's checksum joined
   to the active pairing, the ``dossier_measure`` row, the journal row —, 201;
3. our write: ``POST /api/fhir/`` transaction Bundle, one heart-rate Observation + its Device (conditional create,
   reused after the first), through the whole path: bearer token, pairing and consent, idPe and OID checks, FHIR
   validation (fhir.resources + profile rules), device, measure, journal row. Each request names one of the
   citizens in turn, with its own token, and carries a distinct measurement time and value (a Lua counter);
4. raw search: ``GET /bench/brut/observations`` — the person by the token, the 20 newest weights' stored JSON in a
   searchset Bundle, the journal row of the read;
5. our search: ``GET /api/fhir/Observation?patient=<idPe>&code=http://loinc.org|29463-7&_count=20`` — token,
   consent, keyset page, subject rewritten to the idPe, ``next`` link, journal row.
Before the rounds, one request of each kind is checked (status and content) and its SQL queries are counted
in-process; a warm-up of a few seconds per scenario loads every worker. Any error answer during a measured run
stops the benchmark (the figures would mean nothing).

Everything the script creates is deleted at the end (measures, devices, tokens, pairings, habilitation, OAuth2
client, citizens and accounts, the pgbench table); journal rows stay (the journal is append-only).

Run: DATABASE_URL=postgres://... python bench/api.py [seconds per run] [rounds]
"""

import base64
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.dev")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import AccessToken, Application  # noqa: E402

from dossier.fhir.measures import build_observation  # noqa: E402
from dossier.measures_catalog import MEASURES  # noqa: E402
from dossier.models import Measure, MeasureKind, SourceKind  # noqa: E402
from mes.acces.models import AppHabilitation  # noqa: E402
from mes.acces.services.pairings import habilitation_grant, pairing_consent  # noqa: E402
from mes.api.app_views import IDPE_SYSTEM  # noqa: E402
from mes.comptes.demo import make_ins  # noqa: E402
from mes.comptes.models import Citizen, CitizenStatus, Role, Sex, User, mss_address_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORES = os.cpu_count() or 1
CONNECTIONS = 2 * CORES
SEARCH_WEIGHTS = 5_000
SEARCH_OTHERS = 1_000
PAGE = 20
SCOPES = ["openid", "patient/Observation.crs"]
WEIGHT = MEASURES[MeasureKind.WEIGHT]
# What the write scenario sends: a heart rate, so that the write is the API's own path (a weight or a height also
# recomputes body mass indexes, a rule of the dossier measured by bench/dossier.py's pages, not by this one).
WRITTEN = MEASURES[MeasureKind.HEART_RATE]
LOINC = "http://loinc.org"
BIRTH = date(1971, 3, 9)
WRITE_PATH = "/api/fhir/"
RAW_WRITE_PATH = "/bench/brut/observation"
RAW_SEARCH_PATH = "/bench/brut/observations"
WARM_UP_SECONDS = 3
PGBENCH_TABLE = "bench_api_insert"
# How bench/api_baseline.py signs the rows of its raw INSERT.
RAW_SOURCE_LABEL = "Banc brut"


# --- Data ---------------------------------------------------------------------------------------------------------


@dataclass
class Paired:
    citizen: Citizen
    idpe: str
    token: str
    device_id: str


@dataclass
class BenchData:
    """What the benchmark created, filled as it goes, so that a failure half-way still deletes all of it."""

    application: Application | None = None
    habilitation: AppHabilitation | None = None
    citizens: list[Citizen] = field(default_factory=list)
    writers: list[Paired] = field(default_factory=list)
    reader: Paired | None = None


def create_citizen(number: int) -> Citizen:
    marker = uuid.uuid4().hex[:8]
    user = User.objects.create_user(
        email=f"bench-api-{marker}-{number}@exemple.fr", password=None, role=Role.CITIZEN, first_name="Banc"
    )
    for order in secrets.SystemRandom().sample(range(1, 999), 100):
        ins = make_ins(sex=Sex.FEMALE, birth=BIRTH, department="99", commune="351", order=order)
        if not Citizen.objects.filter(ins=ins).exists():
            break
    else:
        raise SystemExit("aucun INS libre pour les personnes du banc")
    return Citizen.objects.create(
        user=user,
        ins=ins,
        birth_name="BANC",
        first_names="Essai",
        birth_date=BIRTH,
        sex=Sex.FEMALE,
        birthplace_code="99351",
        status=CitizenStatus.ACTIVATED,
        mss_address=mss_address_for(ins),
    )


def measure_row(citizen: Citizen, kind: str, effective_at: datetime, value: Decimal) -> Measure:
    """A stored measure as an app would have left it (the FHIR resource is the one MES builds for that value)."""
    spec = MEASURES[kind]
    public_id = uuid.uuid4()
    resource = build_observation(
        spec=spec, citizen=citizen, effective_at=effective_at, value=value, observation_id=public_id
    )
    return Measure(
        public_id=public_id,
        citizen=citizen,
        kind=kind,
        effective_at=effective_at,
        value=value,
        unit=spec.unit.code,
        source_kind=SourceKind.APP,
        source_label="Banc de mesure",
        resource=resource,
    )


def pair(citizen: Citizen, habilitation: AppHabilitation, application: Application, number: int) -> Paired:
    pairing = pairing_consent(
        actor=citizen.user, citizen=citizen, habilitation=habilitation, external_id=f"banc-{number}", scopes=SCOPES
    )
    raw = secrets.token_urlsafe(30)
    # As the token endpoint would issue it after the pairing; long enough for the whole run.
    AccessToken.objects.create(
        user=citizen.user,
        application=application,
        token=raw,
        expires=timezone.now() + timedelta(hours=6),
        scope=" ".join(SCOPES),
    )
    return Paired(citizen=citizen, idpe=pairing.idpe, token=raw, device_id=f"BALANCE-{number:04d}")


def create_data(data: BenchData) -> None:
    data.application = Application.objects.create(
        name="Banc de mesure API",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://banc.exemple.fr/retour",
        client_secret=secrets.token_urlsafe(40),
        algorithm="",
        skip_authorization=False,
    )
    data.habilitation = habilitation = habilitation_grant(
        actor=None,
        actor_label="Banc de mesure",
        application=data.application,
        name="Banc de mesure API",
        editor_name="Éditeur du banc",
        oid=f"1.2.250.1.999.{secrets.randbelow(10**9) + 10**9}",
        approved_scopes=["patient/Observation.crs"],
    )
    for number in range(CONNECTIONS + 1):
        data.citizens.append(create_citizen(number))
    for number, citizen in enumerate(data.citizens[:CONNECTIONS]):
        data.writers.append(pair(citizen, habilitation, data.application, number))
    citizen = data.citizens[CONNECTIONS]
    data.reader = pair(citizen, habilitation, data.application, CONNECTIONS)
    start = timezone.now() - timedelta(days=1)
    rows = [
        measure_row(citizen, MeasureKind.WEIGHT, start - timedelta(hours=6 * n), Decimal(600 + n % 200) / 10)
        for n in range(SEARCH_WEIGHTS)
    ]
    rows += [
        measure_row(citizen, MeasureKind.HEART_RATE, start - timedelta(hours=24 * n, minutes=7), Decimal(60 + n % 40))
        for n in range(SEARCH_OTHERS)
    ]
    Measure.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE dossier_measure")


def delete_data(data: BenchData) -> None:
    Measure.objects.filter(citizen__in=data.citizens).delete()
    if data.application is not None:
        AccessToken.objects.filter(application=data.application).delete()
        # The habilitation takes its pairings and the devices the API created for it along.
        AppHabilitation.objects.filter(application=data.application).delete()
        data.application.delete()
    for citizen in data.citizens:
        user = citizen.user
        citizen.delete()
        user.delete()


# --- Requests -----------------------------------------------------------------------------------------------------


def write_bundle(paired: Paired, oid: str, *, effective: str, value: str) -> str:
    """The transaction Bundle of one heart rate and its sensor; ``effective`` and ``value`` may be wrk placeholders."""
    device_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'urn:oid:{oid}|{paired.device_id}')}"
    observation = {
        "resourceType": "Observation",
        "meta": {"profile": [WRITTEN.profile], "source": f"urn:oid:{oid}"},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                        "display": "Signes vitaux",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": WRITTEN.loinc, "display": WRITTEN.loinc_display}]},
        "subject": {"identifier": {"system": IDPE_SYSTEM, "value": paired.idpe}},
        "effectiveDateTime": effective,
        "valueQuantity": {"value": "@VALUE@", "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
        "device": {"reference": device_url},
    }
    device = {
        "resourceType": "Device",
        "identifier": [{"system": f"urn:oid:{oid}", "value": paired.device_id}],
        "manufacturer": "Éditeur du banc",
        "deviceName": [{"name": "Cardiofréquencemètre", "type": "user-friendly-name"}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": device_url,
                "resource": device,
                "request": {
                    "method": "POST",
                    "url": "Device",
                    "ifNoneExist": f"identifier=urn:oid:{oid}|{paired.device_id}",
                },
            },
            {"resource": observation, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).replace('"@VALUE@"', value)


def search_query(paired: Paired) -> str:
    return "/api/fhir/Observation?" + urlencode(
        {"patient": paired.idpe, "code": f"{LOINC}|{WEIGHT.loinc}", "_count": PAGE}
    )


def raw_search_query(paired: Paired) -> str:
    return f"{RAW_SEARCH_PATH}?" + urlencode({"_count": PAGE})


def bearer(paired: Paired) -> dict[str, str]:
    return {"Authorization": f"Bearer {paired.token}"}


FHIR_BODY = {"Content-Type": "application/fhir+json"}


# --- wrk ----------------------------------------------------------------------------------------------------------

LUA = r"""
-- Generated by bench/api.py.
local targets = {
%(targets)s
}
local method = %(method)s
local base_epoch = %(base_epoch)d
local counter = 0
local threads_seen = 0
thread_index = 0

function setup(thread)
  thread:set("thread_index", threads_seen)
  threads_seen = threads_seen + 1
end

function request()
  counter = counter + 1
  local target = targets[(counter %% #targets) + 1]
  local body = target.body
  if body then
    -- A distinct measurement time (one second apart) and a plausible weight for every request.
    local seq = counter * 64 + thread_index
    local when = os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", base_epoch - seq)
    local value = string.format("%%d", 55 + seq %% 60)
    body = body:gsub("@WHEN@", when):gsub("@VALUE@", value)
  end
  return wrk.format(method, target.path, target.headers, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    "WRK requests=%%d duration_us=%%d connect=%%d read=%%d write=%%d status=%%d timeout=%%d "
    .. "p50_us=%%d p99_us=%%d max_us=%%d\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_string(text: str) -> str:
    level = "=" * 4
    if f"]{level}]" in text:
        raise ValueError("texte impossible à citer en Lua")
    return f"[{level}[{text}]{level}]"


def lua_script(method: str, targets: list[tuple[str, dict[str, str], str | None]], base_epoch: int) -> str:
    lines = []
    for path, headers, body in targets:
        # A space after "[": "[[" would open a Lua long string.
        header_items = ", ".join(f"[ {lua_string(name)} ] = {lua_string(value)}" for name, value in headers.items())
        body_item = f", body = {lua_string(body)}" if body is not None else ""
        lines.append(f"  {{path = {lua_string(path)}, headers = {{{header_items}}}{body_item}}},")
    return LUA % {"targets": "\n".join(lines), "method": lua_string(method), "base_epoch": base_epoch}


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(script: Path, port: int, seconds: int) -> LoadResult:
    completed = subprocess.run(  # noqa: S603 - fixed program, arguments built here
        [
            shutil.which("wrk") or "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"^WRK (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise SystemExit(f"wrk a échoué ({script.name}) :\n{completed.stdout}\n{completed.stderr}")
    figures = {key: int(value) for key, value in (item.split("=") for item in match.group(1).split())}
    errors = sum(figures[key] for key in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        errors=errors,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


# --- pgbench ------------------------------------------------------------------------------------------------------

PGBENCH_SCRIPT = f"""\\set citizen random(1, {CONNECTIONS})
\\set grams random(40000, 120000)
INSERT INTO {PGBENCH_TABLE} (public_id, citizen_id, kind, effective_at, value, unit, glucose_moment, source_kind,
    source_label, resource, created_at)
VALUES (gen_random_uuid(), :citizen, 'poids', now() - make_interval(secs => :grams), :grams / 1000.0, 'kg', '',
    'app', 'Banc pgbench', :resource::jsonb, now());
"""


def pgbench_command(script: Path, seconds: int, resource: str) -> tuple[list[str], dict[str, str]]:
    settings = connection.settings_dict
    program = shutil.which("pgbench")
    if program is None:
        raise SystemExit("pgbench introuvable (paquet postgresql-client)")
    command = [program, "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", "1", "-T", str(seconds)]
    if settings.get("HOST"):
        command += ["-h", settings["HOST"]]
    if settings.get("PORT"):
        command += ["-p", str(settings["PORT"])]
    if settings.get("USER"):
        command += ["-U", settings["USER"]]
    command += ["-D", f"resource={resource}", "-f", str(script), settings["NAME"]]
    environment = {**os.environ}
    if settings.get("PASSWORD"):
        environment["PGPASSWORD"] = settings["PASSWORD"]
    return command, environment


def run_pgbench(script: Path, seconds: int, resource: str) -> float:
    command, environment = pgbench_command(script, seconds, resource)
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)  # noqa: S603
    match = re.search(r"^tps = ([0-9.]+)", completed.stdout, re.MULTILINE)
    failed = re.search(r"number of failed transactions: (\d+)", completed.stdout)
    if completed.returncode != 0 or match is None or (failed and int(failed.group(1))):
        raise SystemExit(f"pgbench a échoué :\n{completed.stdout}\n{completed.stderr}")
    return float(match.group(1))


# --- The server ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(port: int) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        **os.environ,
        # Production settings (DEBUG off), over plain HTTP on loopback, with secrets made for this run.
        "DJANGO_SETTINGS_MODULE": "mes.settings.base",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "MFA_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "OIDC_RSA_PRIVATE_KEY": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "BEHIND_TLS_PROXY": "0",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(CORES),
        # No worker recycling in the middle of a measured run (a restart costs a second of imports).
        "GUNICORN_MAX_REQUESTS": str(10**9),
        "GUNICORN_LOG_LEVEL": "warning",
    }


def start_server(port: int, log: Path) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603 - this interpreter, this project's gunicorn.conf.py
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--chdir",
            str(ROOT),
            "bench.api_baseline:application",
        ],
        env=server_environment(port),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,  # the access log: one line per request
        stderr=log.open("wb"),
    )
    for _attempt in range(600):
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/fhir/metadata", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn n’a pas démarré :\n" + log.read_text(errors="replace"))


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def http(port: int, method: str, path: str, headers: dict[str, str], body: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body.encode() if body is not None else None,
        headers={**headers, "Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# --- Checks before measuring --------------------------------------------------------------------------------------


def check_answers(port: int, data: BenchData) -> None:
    """One request of each kind over HTTP: the right status and content, or the benchmark stops."""
    oid = data.habilitation.oid
    paired = data.writers[0]
    when = timezone.now().astimezone(UTC) - timedelta(days=400)
    bundle = write_bundle(paired, oid, effective=when.strftime("%Y-%m-%dT%H:%M:%SZ"), value="71")
    status, body = http(port, "POST", WRITE_PATH, bearer(paired), bundle)
    outcomes = [entry.get("response", {}).get("status", "") for entry in body.get("entry", [])]
    if status != 200 or body.get("type") != "transaction-response" or not any(o.startswith("201") for o in outcomes):
        raise SystemExit(f"POST {WRITE_PATH} : réponse inattendue {status} {json.dumps(body)[:2000]}")
    status, body = http(port, "POST", RAW_WRITE_PATH, bearer(paired), bundle)
    if status != 201:
        raise SystemExit(f"POST {RAW_WRITE_PATH} : réponse inattendue {status} {body}")
    reader = data.reader
    for path, headers in ((search_query(reader), bearer(reader)), (raw_search_query(reader), bearer(reader))):
        status, body = http(port, "GET", path, headers)
        entries = body.get("entry", [])
        if status != 200 or body.get("type") != "searchset" or len(entries) != PAGE:
            raise SystemExit(f"GET {path} : réponse inattendue {status} {json.dumps(body)[:2000]}")
        codes = {entry["resource"]["code"]["coding"][0]["code"] for entry in entries}
        if codes != {WEIGHT.loinc}:
            raise SystemExit(f"GET {path} : autre chose que des poids ({codes})")


def count_queries(data: BenchData) -> dict[str, tuple[int, int]]:
    """SQL statements of one request of each kind, in-process (the project's URLconf; the baselines run one each):
    (all of them, those besides transaction control), in the steady state of the measured runs."""
    client = Client(HTTP_HOST="127.0.0.1")
    paired, reader = data.writers[1], data.reader
    when = timezone.now().astimezone(UTC) - timedelta(days=401)
    oid = data.habilitation.oid

    def write(moment: datetime):
        return client.post(
            WRITE_PATH,
            data=write_bundle(paired, oid, effective=moment.strftime("%Y-%m-%dT%H:%M:%SZ"), value="70"),
            content_type="application/fhir+json",
            HTTP_AUTHORIZATION=f"Bearer {paired.token}",
        )

    def search():
        return client.get(search_query(reader), HTTP_AUTHORIZATION=f"Bearer {reader.token}")

    # First calls: the device is created, and each pairing notes its last access (at most once a minute).
    write(when - timedelta(hours=1))
    search()
    figures = {}
    for label, call in (("write", lambda: write(when)), ("search", search)):
        with CaptureQueriesContext(connection) as queries:
            response = call()
        if response.status_code != 200:
            raise SystemExit(f"{label} en processus : {response.status_code} {response.content[:2000]!r}")
        statements = [query["sql"] for query in queries.captured_queries]
        control = [sql for sql in statements if re.match(r"(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", sql)]
        figures[label] = (len(statements), len(statements) - len(control))
    return figures


# --- Main ---------------------------------------------------------------------------------------------------------


@dataclass
class Round:
    pgbench_tps: float
    raw_write: LoadResult
    write: LoadResult
    raw_search: LoadResult
    search: LoadResult


def write_scripts(work: Path, data: BenchData, round_number: int) -> dict[str, Path]:
    oid = data.habilitation.oid
    # Every run measures at its own times (30 days apart per round, the raw view 15 days off, going back by the
    # second from request to request), all in the past and none shared with another run.
    base_epoch = int(time.time()) - 3600 - round_number * 86_400 * 30
    scripts = {
        "write": lua_script(
            "POST",
            [
                (WRITE_PATH, bearer(p) | FHIR_BODY, write_bundle(p, oid, effective="@WHEN@", value="@VALUE@"))
                for p in data.writers
            ],
            base_epoch,
        ),
        "raw_write": lua_script(
            "POST",
            [
                (RAW_WRITE_PATH, bearer(p) | FHIR_BODY, write_bundle(p, oid, effective="@WHEN@", value="@VALUE@"))
                for p in data.writers
            ],
            base_epoch - 86_400 * 15,
        ),
        "search": lua_script("GET", [(search_query(data.reader), bearer(data.reader), None)], base_epoch),
        "raw_search": lua_script("GET", [(raw_search_query(data.reader), bearer(data.reader), None)], base_epoch),
    }
    paths = {}
    for name, text in scripts.items():
        paths[name] = work / f"{name}-{round_number}.lua"
        paths[name].write_text(text)
    return paths


def checked(result: LoadResult, name: str) -> LoadResult:
    if result.errors:
        raise SystemExit(f"{name} : {result.errors} erreurs sur {result.requests} requêtes, mesure invalide")
    return result


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if shutil.which("wrk") is None:
        raise SystemExit("wrk introuvable (paquet Debian wrk)")
    work = Path(tempfile.mkdtemp(prefix="mes-bench-api-"))
    data = BenchData()
    server = None
    try:
        create_data(data)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {PGBENCH_TABLE}")
            cursor.execute(f"CREATE TABLE {PGBENCH_TABLE} (LIKE dossier_measure INCLUDING ALL)")
        pgbench_script = work / "insert.sql"
        pgbench_script.write_text(PGBENCH_SCRIPT)
        stored = Measure.objects.filter(citizen=data.reader.citizen, kind=MeasureKind.WEIGHT).first()
        resource = json.dumps(stored.resource, ensure_ascii=False, separators=(",", ":"))

        queries = count_queries(data)
        port = free_port()
        server = start_server(port, work / "gunicorn.log")
        check_answers(port, data)
        connection.close()  # idle during the runs

        warm = write_scripts(work, data, 0)
        warm_up_writes = 0
        for name in ("raw_write", "write", "raw_search", "search"):
            warm_up = run_wrk(warm[name], port, WARM_UP_SECONDS)
            warm_up_writes += warm_up.requests if name == "write" else 0
        run_pgbench(pgbench_script, WARM_UP_SECONDS, resource)

        results: list[Round] = []
        for number in range(1, rounds + 1):
            scripts = write_scripts(work, data, number)
            figures = {"pgbench_tps": run_pgbench(pgbench_script, seconds, resource)}
            # Each pair runs back to back, the raw view first in odd rounds and second in even ones, so that a
            # drift of the machine's load during a round does not always favour the same side.
            for pair_of_runs in (("raw_write", "write"), ("raw_search", "search")):
                for name in pair_of_runs if number % 2 else reversed(pair_of_runs):
                    figures[name] = checked(run_wrk(scripts[name], port, seconds), name)
            results.append(Round(**figures))
        stop_server(server)
        server = None
        # Rows the FHIR write scenario stored (the raw view signs its rows « Banc brut »), against its answers.
        stored_by_fhir = (
            Measure.objects.filter(citizen__in=[p.citizen for p in data.writers], kind=MeasureKind.HEART_RATE)
            .exclude(source_label=RAW_SOURCE_LABEL)
            .count()
        )
    finally:
        if server is not None:
            stop_server(server)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {PGBENCH_TABLE}")
        delete_data(data)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"server: gunicorn, {CORES} sync workers (= cores), DEBUG off; load: wrk, {CONNECTIONS} connections; "
        f"pgbench: {CONNECTIONS} clients; {rounds} rounds of {seconds} s per scenario"
    )
    print(
        "SQL statements per request (in-process; in brackets without BEGIN/SAVEPOINT/RELEASE/COMMIT): "
        f"write {queries['write'][0]} ({queries['write'][1]}), search {queries['search'][0]} ({queries['search'][1]}); "
        "raw views: write 3 (token, measure, journal), search 3 (token, page, journal)"
    )
    answered = warm_up_writes + sum(result.write.requests for result in results) + 3
    print(f"FHIR writes answered: {answered:,} (checks and warm-up included); measures they stored: {stored_by_fhir:,}")
    header = "round  pgbench ins/s  raw write/s  FHIR write/s  raw p99 ms  FHIR p99 ms  raw search/s  FHIR search/s"
    print(header)
    for number, result in enumerate(results, start=1):
        print(
            f"{number:5d}  {result.pgbench_tps:13,.0f}  {result.raw_write.rate:11,.0f}  {result.write.rate:12,.0f}  "
            f"{result.raw_write.p99_ms:10.1f}  {result.write.p99_ms:11.1f}  {result.raw_search.rate:12,.0f}  "
            f"{result.search.rate:13,.0f}"
        )
    median = statistics.median
    raw_write_rate, write_rate = median(r.raw_write.rate for r in results), median(r.write.rate for r in results)
    raw_p50, p50 = median(r.raw_write.p50_ms for r in results), median(r.write.p50_ms for r in results)
    raw_search_rate, search_rate = median(r.raw_search.rate for r in results), median(r.search.rate for r in results)
    print(
        f"median: pgbench {median(r.pgbench_tps for r in results):,.0f} ins/s; "
        f"write raw {raw_write_rate:,.0f}/s vs FHIR {write_rate:,.0f}/s (p50 {raw_p50:.1f} vs {p50:.1f} ms); "
        f"search raw {raw_search_rate:,.0f}/s vs FHIR {search_rate:,.0f}/s"
    )
    # Each ratio is taken within its round (side by side), then the median over the rounds.
    vs_pgbench = median(r.write.rate / r.pgbench_tps for r in results)
    vs_raw = median(r.write.rate / r.raw_write.rate for r in results)
    p99 = median(r.write.p99_ms / r.raw_write.p99_ms for r in results)
    search = median(r.search.rate / r.raw_search.rate for r in results)
    print(f"GOAL observation_write_vs_pgbench_insert {vs_pgbench:.2f} target >= 0.12")
    print(f"GOAL observation_write_vs_raw_view {vs_raw:.2f} target >= 0.70")
    print(f"GOAL observation_write_p99_vs_raw_view {p99:.2f} target <= 2.0")
    print(f"GOAL observation_search_vs_raw_view {search:.2f} target >= 0.70")
    return 0


if __name__ == "__main__":
    sys.exit(main())
