"""Documents through the FHIR API: ProvideDocumentBundle and DocumentReference writes, reads, Binary, search."""

import base64
import gc
import hashlib
import json
import uuid
from datetime import date, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.operationoutcome import OperationOutcome

from dossier.api.documents import CURSOR_SALT
from dossier.fhir.documents import Base64Content, InvalidBase64
from dossier.models import Document
from dossier.models.documents import AuthorKind
from dossier.services.documents import DOCUMENT_ADDED
from dossier.uploads import DocumentRefused
from mes.acces.models import JournalEntry
from mes.acces.services.pairings import pairing_revoke
from mes.api.app_views import API_READ, CONSENT_NOT_GIVEN, IDPE_MISMATCH, IDPE_SYSTEM
from tests.api.conftest import bearer, issue_token, make_application, pair
from tests.dossier.documents_samples import document_row, image_bytes, make_document, pdf_bytes, zip_bytes

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
TRANSACTION = "/api/fhir/"
DOCUMENTS = "/api/fhir/DocumentReference"
LOINC = "http://loinc.org"
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
DMP_CONFIDENTIALITY = "urn:oid:1.2.250.1.213.1.1.4.13"
BINARY_URL = "urn:uuid:9a1f3c52-4b1e-4c7d-8a0f-2b3c4d5e6f70"
DOCUMENT_URL = "urn:uuid:1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081"
LIST_URL = "urn:uuid:7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
APP_NAME = "Mon suivi cardio"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list:
    gc.collect()  # a rolled-back file is deleted when its commit hook is freed
    root = settings.MEDIA_ROOT
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def paired_app(citizen, *, name=APP_NAME, scopes=None, token_scopes=None):
    application = make_application(name=name)
    pairing = pair(citizen, application, scopes=scopes)
    return SimpleNamespace(
        application=application, pairing=pairing, idpe=pairing.idpe, token=issue_token(pairing, scopes=token_scopes)
    )


@pytest.fixture
def app(citizen):
    return paired_app(citizen)


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def document_reference(idpe: str, *, data: str | None = None, url: str | None = None, **changes) -> dict:
    attachment = {"contentType": "application/pdf", "title": "cr-consultation.pdf"}
    if data is not None:
        attachment["data"] = data
    if url is not None:
        attachment["url"] = url
    resource = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "11488-4", "display": "CR ou fiche de consultation"}]},
        "subject": {"identifier": {"system": IDPE_SYSTEM, "value": idpe}},
        "description": "Consultation de cardiologie",
        "content": [{"attachment": attachment}],
        "context": {"period": {"start": "2025-01-15"}},
    }
    resource.update(changes)
    return resource


def provide_bundle(idpe: str, content: bytes, *, with_list: bool = True, **changes) -> dict:
    """A PDSm / MHD ProvideDocumentBundle: submission set, DocumentReference, and the Binary it points to."""
    entries = []
    if with_list:
        entries.append(
            {
                "fullUrl": LIST_URL,
                "resource": {
                    "resourceType": "List",
                    "status": "current",
                    "mode": "working",
                    "code": {
                        "coding": [
                            {
                                "system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                                "code": "submissionset",
                            }
                        ]
                    },
                    "subject": {"identifier": {"system": IDPE_SYSTEM, "value": idpe}},
                    "entry": [{"item": {"reference": DOCUMENT_URL}}],
                },
                "request": {"method": "POST", "url": "List"},
            }
        )
    entries.append(
        {
            "fullUrl": DOCUMENT_URL,
            "resource": document_reference(idpe, url=BINARY_URL, **changes),
            "request": {"method": "POST", "url": "DocumentReference"},
        }
    )
    entries.append(
        {
            "fullUrl": BINARY_URL,
            "resource": {"resourceType": "Binary", "contentType": "application/pdf", "data": b64(content)},
            "request": {"method": "POST", "url": "Binary"},
        }
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def post(client, url, body, token=None, **extra):
    headers = bearer(token) if token else {}
    return client.post(url, data=json.dumps(body), content_type=FHIR_JSON, **headers, **extra)


def get(client, url, token=None, **extra):
    return client.get(url, **(bearer(token) if token else {}), **extra)


def outcome(response, status: int) -> tuple[list[str], list[list[str]]]:
    """The OperationOutcome of an error: its messages and expressions."""
    assert response.status_code == status, response.content[:800]
    resource = OperationOutcome.model_validate(json.loads(response.content))
    return [issue.diagnostics for issue in resource.issue], [issue.expression or [] for issue in resource.issue]


def created_inline(client, app, **changes) -> dict:
    response = post(client, DOCUMENTS, document_reference(app.idpe, data=b64(pdf_bytes()), **changes), app.token)
    assert response.status_code == 201, response.content[:800]
    return json.loads(response.content)


# --- Writing: the ProvideDocumentBundle -----------------------------------------------------------------------


def test_a_provide_document_bundle_adds_the_document_with_the_app_as_author(client, app, citizen, settings):
    content = pdf_bytes("Échographie cardiaque")
    response = post(client, TRANSACTION, provide_bundle(app.idpe, content), app.token)

    assert response.status_code == 200, response.content[:800]
    bundle = Bundle.model_validate(json.loads(response.content))
    assert bundle.type == "transaction-response"
    document = Document.objects.get()
    statuses = [entry.response.status for entry in bundle.entry]
    assert statuses == ["200 OK", "201 Created", "201 Created"]
    assert bundle.entry[0].response.outcome.issue[0].severity == "information"
    assert bundle.entry[1].response.location == f"DocumentReference/{document.public_id}/_history/1"
    assert bundle.entry[2].response.location == f"Binary/{document.public_id}/_history/1"

    assert document.citizen == citizen
    assert (document.author_kind, document.author_label, document.source_label) == (
        AuthorKind.APP,
        APP_NAME,
        APP_NAME,
    )
    assert document.author_user is None
    assert (document.type_code, document.category) == ("11488-4", "comptes_rendus")
    assert document.act_date == date(2025, 1, 15)
    assert document.title == "Consultation de cardiologie"
    assert document.original_name == "cr-consultation.pdf"
    assert document.hidden_from_professionals is False
    assert (document.format, document.size_bytes) == ("pdf", len(content))
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    with document.file.open("rb") as stored:
        assert stored.read() == content

    row = JournalEntry.objects.get(action=DOCUMENT_ADDED)
    assert row.citizen == citizen
    assert APP_NAME in row.actor_label
    assert row.actor is None
    assert row.object_id == str(document.public_id)


def test_the_submission_set_is_optional_and_the_content_may_be_inline_in_the_bundle(client, app):
    bundle = provide_bundle(app.idpe, pdf_bytes(), with_list=False)
    response = post(client, TRANSACTION, bundle, app.token)
    assert response.status_code == 200
    assert [entry["response"]["status"] for entry in json.loads(response.content)["entry"]] == [
        "201 Created",
        "201 Created",
    ]

    inline = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": DOCUMENT_URL,
                "resource": document_reference(
                    app.idpe,
                    data=b64(image_bytes("PNG")),
                    content=[{"attachment": {"contentType": "image/png", "data": b64(image_bytes("PNG"))}}],
                ),
                "request": {"method": "POST", "url": "DocumentReference"},
            }
        ],
    }
    response = post(client, TRANSACTION, inline, app.token)
    assert response.status_code == 200, response.content[:800]
    assert Document.objects.filter(format="png").count() == 1


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        (lambda bundle: bundle["entry"][2]["resource"].update(contentType="image/png"), "Binary.contentType"),
        (
            lambda bundle: bundle["entry"][1]["resource"]["content"][0]["attachment"].update(url="urn:uuid:absent"),
            "DocumentReference.content[0].attachment.url",
        ),
        (lambda bundle: bundle["entry"][2]["request"].update(method="PUT"), "Bundle.entry[2].request"),
        (lambda bundle: bundle["entry"][0]["resource"].pop("status"), "List.status"),
        (lambda bundle: bundle["entry"].append(bundle["entry"][1]), "Bundle.entry[3].fullUrl"),
        (lambda bundle: bundle["entry"][2]["resource"].update(data="pas du base64!"), "Binary.data"),
    ],
)
def test_a_malformed_provide_document_bundle_is_refused_whole(client, app, settings, change, expression):
    bundle = provide_bundle(app.idpe, pdf_bytes())
    change(bundle)
    response = post(client, TRANSACTION, bundle, app.token)

    _messages, expressions = outcome(response, 422)
    assert [expression] in expressions
    assert not Document.objects.exists()
    assert stored_files(settings) == []


# --- Writing: DocumentReference with inline content -----------------------------------------------------------


def test_post_document_reference_inline_returns_201_with_location_and_the_stored_resource(client, app, citizen):
    content = pdf_bytes()
    response = post(client, DOCUMENTS, document_reference(app.idpe, data=b64(content)), app.token)

    assert response.status_code == 201, response.content[:800]
    document = Document.objects.get()
    assert response["Location"] == f"http://testserver/api/fhir/DocumentReference/{document.public_id}/_history/1"
    assert response["ETag"] == 'W/"1"'
    body = json.loads(response.content)
    DocumentReference.model_validate(body)
    assert body["id"] == str(document.public_id)
    assert body["subject"] == {
        "reference": f"Patient/{app.idpe}",
        "identifier": {"system": IDPE_SYSTEM, "value": app.idpe},
    }
    assert body["content"][0]["attachment"]["url"] == f"Binary/{document.public_id}"
    assert body["author"] == [{"type": "Device", "display": APP_NAME}]
    assert citizen.ins not in response.content.decode()
    with document.file.open("rb") as stored:
        assert stored.read() == content


def test_masque_ps_hides_the_document_from_professionals(client, app):
    label = [{"coding": [{"system": DMP_CONFIDENTIALITY, "code": "MASQUE_PS"}]}]
    body = created_inline(client, app, securityLabel=label)

    document = Document.objects.get()
    assert document.hidden_from_professionals is True
    assert "MASQUE_PS" in [label["coding"][0]["code"] for label in body["securityLabel"]]


def test_a_size_and_hash_that_match_the_content_are_accepted(client, app):
    content = pdf_bytes()
    attachment = {
        "contentType": "application/pdf",
        "data": b64(content),
        "size": len(content),
        "hash": b64(hashlib.sha1(content).digest()),  # noqa: S324 - FHIR R4's Attachment.hash
    }
    response = post(client, DOCUMENTS, document_reference(app.idpe, content=[{"attachment": attachment}]), app.token)
    assert response.status_code == 201, response.content[:800]


@pytest.mark.parametrize(
    ("attachment", "expression"),
    [
        ({"size": 12}, "DocumentReference.content[0].attachment.size"),
        ({"hash": base64.b64encode(b"\x00" * 20).decode()}, "DocumentReference.content[0].attachment.hash"),
        ({"contentType": "image/png"}, "DocumentReference.content[0].attachment.contentType"),
    ],
)
def test_metadata_belied_by_the_content_leaves_no_row_and_no_file(client, app, settings, attachment, expression):
    """These are found once the file is stored: the transaction takes back the row and the file."""
    values = {"contentType": "application/pdf", "data": b64(pdf_bytes()), **attachment}
    response = post(client, DOCUMENTS, document_reference(app.idpe, content=[{"attachment": values}]), app.token)

    _messages, expressions = outcome(response, 422)
    assert expressions == [[expression]]
    assert not Document.objects.exists()
    assert not JournalEntry.objects.filter(action=DOCUMENT_ADDED).exists()
    assert stored_files(settings) == []


def test_bad_base64_is_422_at_attachment_data(client, app, settings):
    for data in ("pas du base64", "QUJD\nREVG", "QQ==QUJD", "é" * 4):
        response = post(client, DOCUMENTS, document_reference(app.idpe, data=data), app.token)
        messages, expressions = outcome(response, 422)
        assert expressions == [["DocumentReference.content[0].attachment.data"]], data
        assert "base64" in messages[0]
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_a_file_too_big_is_422_and_nothing_is_stored(client, app, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 2048
    response = post(client, DOCUMENTS, document_reference(app.idpe, data=b64(pdf_bytes() + b"\n" * 4096)), app.token)

    messages, expressions = outcome(response, 422)
    assert "taille maximale" in messages[0]
    assert expressions == [["DocumentReference.content[0].attachment"]]
    assert stored_files(settings) == []


def test_a_body_far_beyond_the_limit_is_refused_before_it_is_parsed(client, app, settings, monkeypatch):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 1024

    def no_parsing(*args, **kwargs):
        raise AssertionError("the body must not be parsed")

    monkeypatch.setattr("mes.api.fhir.FHIRJSONParser.parse", no_parsing)
    body = document_reference(app.idpe, data="A" * (2 * 1024 * 1024))
    messages, expressions = outcome(post(client, DOCUMENTS, body, app.token), 422)
    assert "taille maximale" in messages[0]
    assert expressions == [["DocumentReference.content[0].attachment"]]


def test_the_decoded_size_is_known_and_refused_before_anything_is_decoded(monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("nothing may be decoded")

    monkeypatch.setattr("dossier.fhir.documents.base64.b64decode", no_decoding)
    with pytest.raises(DocumentRefused) as refused:
        Base64Content("QUJD" * 1000, name="x.pdf", max_bytes=2999)
    assert refused.value.code == "too_large"
    assert Base64Content("QUJD" * 1000, name="x.pdf", max_bytes=3000).size == 3000
    assert Base64Content("QUI=", name="x.pdf", max_bytes=10).size == 2
    with pytest.raises(InvalidBase64):
        Base64Content("QUJ", name="x.pdf", max_bytes=10)


def test_base64_content_streams_exact_blocks_and_hashes_them():
    content = bytes(range(256)) * 1000
    reader = Base64Content(b64(content), name="x.pdf", max_bytes=10**6)
    parts = []
    while part := reader.read(1000):
        assert len(part) <= 1000
        parts.append(part)
    assert b"".join(parts) == content
    assert reader.sha1.digest() == hashlib.sha1(content).digest()  # noqa: S324
    reader.seek(0)
    assert reader.read(-1) == content


@pytest.mark.parametrize(
    ("changes", "expression", "words"),
    [
        ({"type": {"coding": [{"system": LOINC, "code": "99999-9"}]}}, "DocumentReference.type", "type de document"),
        ({"type": {"coding": [{"system": "urn:autre", "code": "X"}]}}, "DocumentReference.type", "LOINC"),
        ({"context": {"period": {"start": "2999-01-01"}}}, "DocumentReference.context.period.start", "futur"),
        ({"context": None}, "DocumentReference.context.period.start", "obligatoire"),
        ({"context": {"period": {"start": "15/01/2025"}}}, "DocumentReference.context.period.start", "Date"),
        ({"description": "x" * 201}, "DocumentReference.description", "200 caractères"),
        ({"status": "superseded"}, "DocumentReference.status", "current"),
        ({"subject": None}, "DocumentReference.subject", "patient"),
        ({"inconnu": 1}, "DocumentReference.inconnu", "inconnu"),
        (
            {"securityLabel": [{"coding": [{"system": DMP_CONFIDENTIALITY, "code": "INVISIBLE_PATIENT"}]}]},
            "DocumentReference.securityLabel[0]",
            "INVISIBLE_PATIENT",
        ),
    ],
)
def test_invalid_metadata_is_422_with_the_fhir_path(client, app, settings, changes, expression, words):
    body = document_reference(app.idpe, data=b64(pdf_bytes()))
    for key, value in changes.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    messages, expressions = outcome(post(client, DOCUMENTS, body, app.token), 422)

    assert [expression] in expressions, (messages, expressions)
    assert words in " ".join(messages)
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_refused_content_is_422_at_the_attachment_with_the_dossier_message(client, app, settings):
    response = post(client, DOCUMENTS, document_reference(app.idpe, data=b64(zip_bytes())), app.token)
    messages, expressions = outcome(response, 422)
    assert "archive" in messages[0]
    assert expressions == [["DocumentReference.content[0].attachment"]]

    response = post(client, DOCUMENTS, document_reference(app.idpe, url="Binary/123"), app.token)
    _messages, expressions = outcome(response, 422)
    assert expressions == [["DocumentReference.content[0].attachment.url"]]
    assert stored_files(settings) == []


def test_no_orphan_file_when_the_write_fails_after_the_file_was_stored(client, app, settings, monkeypatch):
    def failing_journal(**kwargs):
        raise RuntimeError("journal indisponible")

    monkeypatch.setattr("dossier.services.documents.journal_append", failing_journal)
    client.raise_request_exception = False
    response = post(client, DOCUMENTS, document_reference(app.idpe, data=b64(pdf_bytes())), app.token)

    assert response.status_code == 500
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_an_idempotent_retry_replays_the_answer_and_adds_one_document(client, app):
    body = document_reference(app.idpe, data=b64(pdf_bytes()))
    first = post(client, DOCUMENTS, body, app.token, HTTP_IDEMPOTENCY_KEY="doc-1")
    second = post(client, DOCUMENTS, body, app.token, HTTP_IDEMPOTENCY_KEY="doc-1")

    assert first.status_code == second.status_code == 201
    assert second["Location"] == first["Location"]
    assert json.loads(second.content) == json.loads(first.content)
    assert Document.objects.count() == 1


# --- Reading ---------------------------------------------------------------------------------------------------


def test_read_gives_the_metadata_with_the_idpe_and_never_the_ins(client, app, citizen):
    created = created_inline(client, app)

    response = get(client, f"{DOCUMENTS}/{created['id']}", app.token)

    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = json.loads(response.content)
    DocumentReference.model_validate(body)
    assert body == created
    assert body["context"] == {"period": {"start": "2025-01-15"}}
    assert body["type"]["coding"][0]["code"] == "11488-4"
    assert body["content"][0]["attachment"]["contentType"] == "application/pdf"
    assert citizen.ins not in response.content.decode()
    row = JournalEntry.objects.get(action=API_READ)
    assert APP_NAME in row.actor_label
    assert row.details["ressource"] == "DocumentReference"
    assert row.object_id == created["id"]


def test_a_document_the_citizen_added_names_the_patient_by_idpe_without_a_name(client, app, citizen):
    document = make_document(citizen, author_user=citizen.user)
    body = json.loads(get(client, f"{DOCUMENTS}/{document.public_id}", app.token).content)
    assert body["author"] == [{"reference": f"Patient/{app.idpe}"}]
    assert "DURAND" not in json.dumps(body)


def test_binary_gives_the_very_bytes_with_the_documents_type(client, app):
    content = image_bytes("PNG")
    response = post(
        client,
        DOCUMENTS,
        document_reference(app.idpe, content=[{"attachment": {"contentType": "image/png", "data": b64(content)}}]),
        app.token,
    )
    created = json.loads(response.content)
    url = f"/api/fhir/{created['content'][0]['attachment']['url']}"

    for accept in ("*/*", "image/png", "application/pdf"):
        raw = get(client, url, app.token, HTTP_ACCEPT=accept)
        assert raw.status_code == 200
        assert raw["Content-Type"] == "image/png"
        assert raw["X-Content-Type-Options"] == "nosniff"
        assert raw["Content-Disposition"].startswith("attachment;")
        assert b"".join(raw.streaming_content) == content

    as_fhir = get(client, url, app.token, HTTP_ACCEPT=FHIR_JSON)
    assert as_fhir.status_code == 200
    assert as_fhir["Content-Type"].startswith(FHIR_JSON)
    binary = json.loads(b"".join(as_fhir.streaming_content))
    assert binary["resourceType"] == "Binary"
    assert binary["id"] == created["id"]
    assert binary["contentType"] == "image/png"
    assert binary["securityContext"] == {"reference": f"DocumentReference/{created['id']}"}
    assert base64.b64decode(binary["data"]) == content
    assert JournalEntry.objects.filter(action=API_READ, details__ressource="Binary").count() == 4


def test_the_app_sees_documents_hidden_from_professionals(client, app, citizen):
    hidden = make_document(citizen, hidden_from_professionals=True, hidden_at=timezone.now())

    read = get(client, f"{DOCUMENTS}/{hidden.public_id}", app.token)
    assert read.status_code == 200
    assert "MASQUE_PS" in read.content.decode()
    found = json.loads(get(client, DOCUMENTS, app.token).content)
    assert [entry["resource"]["id"] for entry in found["entry"]] == [str(hidden.public_id)]


def test_another_citizens_document_is_404_everywhere(client, app, other_citizen):
    theirs = make_document(other_citizen)
    for url in (f"{DOCUMENTS}/{theirs.public_id}", f"/api/fhir/Binary/{theirs.public_id}"):
        outcome(get(client, url, app.token), 404)
    assert "entry" not in json.loads(get(client, DOCUMENTS, app.token).content)
    for url in (f"{DOCUMENTS}/{uuid.uuid4()}", f"{DOCUMENTS}/pas-un-uuid", "/api/fhir/Binary/pas-un-uuid"):
        outcome(get(client, url, app.token), 404)


# --- Searching -------------------------------------------------------------------------------------------------


def walk(client, token, url) -> list[str]:
    ids, pages = [], 0
    while url:
        response = get(client, url, token)
        assert response.status_code == 200, response.content[:800]
        bundle = json.loads(response.content)
        Bundle.model_validate(bundle)
        assert bundle["type"] == "searchset" and "total" not in bundle
        ids += [entry["resource"]["id"] for entry in bundle.get("entry", [])]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = links.get("next", "").removeprefix("http://testserver")
        pages += 1
        assert pages < 50
    return ids


def test_search_walks_every_page_by_next_links_newest_act_first_without_gaps(client, app, citizen):
    # Several documents share each date: the keyset must break ties by id.
    rows = Document.objects.bulk_create(
        [document_row(citizen, n, act_date=date(2024, 1, 1) + timedelta(days=n // 4)) for n in range(23)]
    )
    expected = [str(row.public_id) for row in sorted(rows, key=lambda row: (row.act_date, row.pk), reverse=True)]

    ids = walk(client, app.token, f"{DOCUMENTS}?patient=Patient/{app.idpe}&_count=5")
    assert ids == expected

    first = json.loads(get(client, f"{DOCUMENTS}?_count=5", app.token).content)
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    query = parse_qs(urlsplit(next_url).query)
    assert query["_count"] == ["5"]
    # Opaque and signed, not an offset.
    act_date, pk = signing.loads(query["_cursor"][0], salt=CURSOR_SALT)["at"]
    assert "offset" not in next_url
    assert (act_date, pk) == ("2024-01-05", Document.objects.get(public_id=expected[4]).pk)


def test_search_filters_by_type_and_dates(client, app, citizen):
    recent = make_document(citizen, act_date=date(2025, 3, 10), type_code="11502-2", category="resultats_examens")
    old = make_document(citizen, act_date=date(2023, 6, 1))
    Document.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))

    def ids(query):
        response = get(client, f"{DOCUMENTS}?{query}", app.token)
        assert response.status_code == 200, response.content[:800]
        return {entry["resource"]["id"] for entry in json.loads(response.content).get("entry", [])}

    assert ids("type=http://loinc.org|11502-2") == {str(recent.public_id)}
    assert ids("type=11488-4,11502-2") == {str(recent.public_id), str(old.public_id)}
    assert ids("period=ge2024-01-01") == {str(recent.public_id)}
    assert ids("period=2023-06") == {str(old.public_id)}
    assert ids("period=lt2023-06-01") == set()
    assert ids("period=le2023-06-01") == {str(old.public_id)}
    assert ids("period=ge2023-01-01&period=lt2025-01-01") == {str(old.public_id)}
    assert ids("period=2025-03-10T23:30:00%2B01:00") == {str(recent.public_id)}
    since = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert ids(f"date=ge{since}") == {str(recent.public_id)}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("title=x", "title"),
        ("period=2025-13-01", "period"),
        ("period=ap2025-01-01", "period"),
        ("date=2025-01-01T10:00:00", "date"),
        ("_count=0", "_count"),
        ("_count=abc", "_count"),
        ("type=urn:autre|X", "type"),
        ("_cursor=bidouille", "_cursor"),
    ],
)
def test_bad_search_parameters_are_400_naming_the_parameter(client, app, query, parameter):
    _messages, expressions = outcome(get(client, f"{DOCUMENTS}?{query}", app.token), 400)
    assert expressions == [[parameter]]


def test_a_cursor_is_bound_to_its_search(client, app, citizen):
    Document.objects.bulk_create([document_row(citizen, n) for n in range(3)])
    first = json.loads(get(client, f"{DOCUMENTS}?_count=1&type=11488-4", app.token).content)
    cursor = parse_qs(urlsplit(first["link"][1]["url"]).query)["_cursor"][0]

    assert get(client, f"{DOCUMENTS}?_count=1&type=11488-4&_cursor={cursor}", app.token).status_code == 200
    _messages, expressions = outcome(get(client, f"{DOCUMENTS}?_count=1&_cursor={cursor}", app.token), 400)
    assert expressions == [["_cursor"]]
    other = paired_app(citizen, name="Autre service")
    outcome(get(client, f"{DOCUMENTS}?_count=1&type=11488-4&_cursor={cursor}", other.token), 400)


def test_search_costs_the_same_queries_whatever_the_page_size(client, app, citizen, django_assert_num_queries):
    rows = [document_row(citizen, n) for n in range(60)]
    # Documents a legal representative added show that person's name: their account comes in the same query.
    for row in rows[::2]:
        row.author_user = citizen.user
    Document.objects.bulk_create(rows)
    get(client, f"{DOCUMENTS}?_count=1", app.token)  # the pairing's last access is noted once a minute

    with CaptureQueriesContext(connection) as small:
        response = get(client, f"{DOCUMENTS}?_count=1", app.token)
    assert len(json.loads(response.content)["entry"]) == 1
    with django_assert_num_queries(len(small.captured_queries)):
        response = get(client, f"{DOCUMENTS}?_count=50", app.token)
    assert len(json.loads(response.content)["entry"]) == 50
    # The token with its pairing (one query), the page of documents, the journal row.
    assert len(small.captured_queries) == 3, [query["sql"][:90] for query in small.captured_queries]
    assert JournalEntry.objects.filter(action=API_READ, details__nombre=50).count() == 1


# --- Who may: token, scopes, pairing, person ------------------------------------------------------------------


def every_call(client, token, idpe, document_id):
    return [
        post(client, DOCUMENTS, document_reference(idpe, data=b64(pdf_bytes())), token),
        post(client, TRANSACTION, provide_bundle(idpe, pdf_bytes()), token),
        get(client, f"{DOCUMENTS}/{document_id}", token),
        get(client, f"/api/fhir/Binary/{document_id}", token),
        get(client, DOCUMENTS, token),
    ]


def test_without_a_token_every_call_is_401(client, app, citizen):
    document = make_document(citizen)
    for response in every_call(client, None, app.idpe, document.public_id):
        outcome(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert Document.objects.count() == 1


@pytest.mark.parametrize(
    ("token_scopes", "allowed"),
    [
        (["patient/DocumentReference.rs"], {2, 3, 4}),
        (["patient/DocumentReference.c"], {0, 1}),
        (["patient/DocumentReference.r"], {2, 3}),
        (["patient/DocumentReference.s"], {4}),
        (["patient/Observation.crs", "patient/Patient.r"], set()),
    ],
)
def test_each_interaction_needs_its_scope(client, citizen, token_scopes, allowed):
    app = paired_app(citizen, token_scopes=token_scopes)
    document = make_document(citizen)
    for index, response in enumerate(every_call(client, app.token, app.idpe, document.public_id)):
        if index in allowed:
            assert response.status_code in (200, 201, 404), (index, response.content[:300])
        else:
            messages, _ = outcome(response, 403)
            assert messages[0].startswith(CONSENT_NOT_GIVEN), index


def test_a_scope_the_citizen_did_not_consent_to_is_refused(client, citizen):
    app = paired_app(
        citizen, scopes=["openid", "patient/DocumentReference.rs"], token_scopes=["patient/DocumentReference.crs"]
    )
    messages, _ = outcome(post(client, DOCUMENTS, document_reference(app.idpe, data=b64(pdf_bytes())), app.token), 403)
    assert messages[0].startswith(CONSENT_NOT_GIVEN)


def test_a_revoked_pairing_ends_every_call(client, app, citizen):
    document = make_document(citizen)
    pairing_revoke(actor=citizen.user, pairing=app.pairing)
    assert {response.status_code for response in every_call(client, app.token, app.idpe, document.public_id)} == {401}

    survivor = paired_app(citizen, name="Autre service")
    type(survivor.pairing).objects.filter(pk=survivor.pairing.pk).update(revoked_at=timezone.now())
    for response in every_call(client, survivor.token, survivor.idpe, document.public_id):
        messages, _ = outcome(response, 403)
        assert messages == [CONSENT_NOT_GIVEN]
    assert Document.objects.count() == 1


def test_another_idpe_or_the_ins_is_403(client, app, citizen, other_citizen, settings):
    others = paired_app(other_citizen)
    for subject in (
        {"identifier": {"system": IDPE_SYSTEM, "value": others.idpe}},
        {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}},
        {"reference": f"Patient/{others.idpe}"},
        {"identifier": {"system": IDPE_SYSTEM, "value": app.idpe}, "reference": f"Patient/{others.idpe}"},
    ):
        body = document_reference(app.idpe, data=b64(pdf_bytes()), subject=subject)
        messages, _ = outcome(post(client, DOCUMENTS, body, app.token), 403)
        assert messages == [IDPE_MISMATCH]
    bundle = provide_bundle(others.idpe, pdf_bytes())
    messages, _ = outcome(post(client, TRANSACTION, bundle, app.token), 403)
    assert messages == [IDPE_MISMATCH]
    bundle = provide_bundle(app.idpe, pdf_bytes())
    bundle["entry"][0]["resource"]["subject"]["identifier"]["value"] = others.idpe  # the submission set's
    messages, _ = outcome(post(client, TRANSACTION, bundle, app.token), 403)
    assert messages == [IDPE_MISMATCH]
    messages, _ = outcome(get(client, f"{DOCUMENTS}?patient={others.idpe}", app.token), 403)
    assert messages == [IDPE_MISMATCH]
    assert not Document.objects.exists()
    assert stored_files(settings) == []

    # Named by the reference to its Patient, the person is accepted.
    body = document_reference(app.idpe, data=b64(pdf_bytes()), subject={"reference": f"Patient/{app.idpe}"})
    assert post(client, DOCUMENTS, body, app.token).status_code == 201


def test_the_capability_statement_declares_documents_binary_immunization_and_patient(client):
    statement = json.loads(client.get("/api/fhir/metadata").content)
    resources = {resource["type"]: resource for resource in statement["rest"][0]["resource"]}
    document = resources["DocumentReference"]
    assert {item["code"] for item in document["interaction"]} == {"create", "read", "search-type"}
    assert {param["name"] for param in document["searchParam"]} >= {"patient", "type", "date", "period", "_count"}
    assert [item["code"] for item in resources["Binary"]["interaction"]] == ["read"]
    assert [item["code"] for item in resources["Immunization"]["interaction"]] == ["create"]
    assert [item["code"] for item in resources["Patient"]["interaction"]] == ["read"]
