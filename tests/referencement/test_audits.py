"""Audits: the monthly draw (share, at least one, once a month), the editor's answer with files (checked like the
dossier's documents, nothing left of a refused answer), the conclusion, the expiry and its suspension, the expiry of
unanswered requests, the tasks, and the pages with their access rules."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from mes.acces.models import JournalEntry
from referencement.models import Audit, AuditFile, AuditState, State
from referencement.services.audits import (
    audit_answer,
    audit_conclude,
    audit_target,
    audits_draw,
    audits_expire,
    responses_expire,
)
from referencement.tasks import audits_draw_task, audits_expire_task, responses_expire_task
from tests.dossier.documents_samples import pdf_bytes
from tests.referencement.conftest import dossier_in_state, png_bytes
from tests.referencement.test_publication import published_dossier, stored_files

pytestmark = pytest.mark.django_db

PARIS = timezone.get_fixed_timezone(60)
MARCH = datetime(2026, 3, 1, 6, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def published(product, editor, count: int) -> list:
    return [dossier_in_state(product, State.PUBLISHED, editor=editor) for _ in range(count)]


def open_audit(dossier, *, deadline=None) -> Audit:
    return Audit.objects.create(
        dossier=dossier,
        requested_evidence="Le registre RGPD.\nLa synthèse du dernier test d’intrusion.",
        deadline=deadline or timezone.now() + timedelta(days=30),
    )


def upload(content: bytes, name: str, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- The draw ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published_count", "share", "expected"),
    [(0, 0.1, 0), (3, 0.1, 1), (10, 0.1, 1), (25, 0.1, 3), (42, 0.1, 4), (5, 1.0, 5), (10, 0.0, 0)],
    ids=["none", "at-least-one", "ten", "half-up", "forty-two", "all", "disabled"],
)
def test_the_share_of_a_month(published_count, share, expected):
    assert audit_target(published_count, share) == expected


def test_the_draw_opens_the_share_once_a_month(
    ready_product, editor, colleague, settings, django_capture_on_commit_callbacks
):
    settings.REFERENCEMENT_AUDIT_SHARE = 0.2
    dossiers = published(ready_product, editor, 10)
    dossier_in_state(ready_product, State.SUSPENDED, editor=editor)  # not drawn: not published
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = audits_draw(now=MARCH, rng=random.Random(4))
    assert len(first) == 2
    assert {audit.dossier_id for audit in first} <= {dossier.pk for dossier in dossiers}
    for audit in first:
        assert audit.state == AuditState.OPEN
        assert audit.drawn_for == MARCH.date().replace(day=1)
        assert audit.deadline == MARCH + timedelta(days=settings.REFERENCEMENT_AUDIT_DAYS)
        assert "registre des activités de traitement" in audit.requested_evidence
    assert JournalEntry.objects.filter(action="referencement.audit.opened").count() == 2
    assert len(mail.outbox) == 2
    assert sorted(mail.outbox[0].to) == sorted([editor.email, colleague.email])
    assert "tiré au sort" in mail.outbox[0].body

    # Run again the same month (a second scheduler, a retry): nothing more.
    assert audits_draw(now=MARCH + timedelta(days=3)) == []
    assert Audit.objects.count() == 2
    # Next month: a new draw.
    assert len(audits_draw(now=MARCH + timedelta(days=31))) == 2
    assert Audit.objects.count() == 4


def test_a_draw_completes_a_month_that_fell_short_without_auditing_a_dossier_twice(ready_product, editor, settings):
    settings.REFERENCEMENT_AUDIT_SHARE = 0.5
    published(ready_product, editor, 2)
    assert len(audits_draw(now=MARCH)) == 1
    published(ready_product, editor, 2)  # two more published since
    second = audits_draw(now=MARCH + timedelta(days=1))
    assert len(second) == 1
    month = Audit.objects.filter(drawn_for=MARCH.date())
    assert month.count() == 2 and month.values("dossier").distinct().count() == 2


def test_the_monthly_task_draws(ready_product, editor):
    published(ready_product, editor, 3)
    result = audits_draw_task(now=MARCH.isoformat())
    assert len(result["opened"]) == 1
    assert audits_draw_task(now=MARCH.isoformat()) == {"opened": []}


# --- The editor's answer -------------------------------------------------------------------------------------------


@pytest.fixture
def audit(ready_product, editor):
    return open_audit(dossier_in_state(ready_product, State.PUBLISHED, editor=editor))


def test_the_editor_answers_with_files(audit, colleague, settings):
    files = [upload(pdf_bytes("Registre RGPD"), "registre.pdf"), upload(png_bytes(), "capture.png", "image/png")]

    answered = audit_answer(actor=colleague, audit=audit, response="Voici le registre et une capture.", uploads=files)

    assert answered.state == AuditState.ANSWERED
    assert answered.answered_by == colleague and answered.answered_at is not None
    stored = list(AuditFile.objects.filter(audit=audit).order_by("id"))
    assert [(item.filename, item.content_type) for item in stored] == [
        ("registre.pdf", "application/pdf"),
        ("capture.png", "image/png"),
    ]
    assert all(item.file.name in stored_files(settings) for item in stored)
    assert JournalEntry.objects.filter(action="referencement.audit.answered").count() == 1


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("page.pdf", b"<html><script>alert(1)</script></html>")], "page web"),
        ([("archive.pdf", b"PK\x03\x04" + b"\x00" * 40)], "archive"),
        ([("cr.xml", b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>')], "PDF, JPEG ou PNG"),
    ],
    ids=["html", "zip", "cda"],
)
def test_a_refused_file_refuses_the_answer_and_leaves_nothing(audit, editor, settings, files, message):
    before = stored_files(settings)
    uploads = [upload(pdf_bytes(), "bon.pdf")] + [upload(content, name) for name, content in files]

    with pytest.raises(ValidationError) as refused:
        audit_answer(actor=editor, audit=audit, response="Nos pièces.", uploads=uploads)

    assert message in refused.value.error_dict["files"][0].messages[0]
    audit.refresh_from_db()
    assert audit.state == AuditState.OPEN
    assert not AuditFile.objects.exists()
    assert stored_files(settings) == before  # the good file stored first went with the rollback


def test_a_file_beyond_the_documents_size_limit_is_refused(audit, editor, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 1024
    with pytest.raises(ValidationError, match="taille maximale"):
        audit_answer(actor=editor, audit=audit, response="Pièce.", uploads=[upload(b"%PDF-" + b"x" * 2048, "g.pdf")])


def test_an_answer_needs_a_text_and_files_within_the_count(audit, editor, settings):
    with pytest.raises(ValidationError) as refused:
        audit_answer(actor=editor, audit=audit, response=" ", uploads=[])
    assert set(refused.value.error_dict) == {"response", "files"}
    settings.REFERENCEMENT_AUDIT_MAX_FILES = 1
    with pytest.raises(ValidationError, match="au plus 1 pièces"):
        audit_answer(actor=editor, audit=audit, response="Deux.", uploads=[upload(pdf_bytes(), "a.pdf")] * 2)


def test_a_late_or_second_answer_is_refused(ready_product, editor, audit):
    late = open_audit(audit.dossier, deadline=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ValidationError, match="délai de réponse est dépassé"):
        audit_answer(actor=editor, audit=late, response="Trop tard.", uploads=[upload(pdf_bytes(), "a.pdf")])
    audit_answer(actor=editor, audit=audit, response="Réponse.", uploads=[upload(pdf_bytes(), "a.pdf")])
    with pytest.raises(ValidationError, match="n’attend plus de réponse"):
        audit_answer(actor=editor, audit=audit, response="Encore.", uploads=[upload(pdf_bytes(), "b.pdf")])


def test_another_organisation_may_not_answer(audit, outsider):
    with pytest.raises(PermissionDenied):
        audit_answer(actor=outsider, audit=audit, response="Non.", uploads=[upload(pdf_bytes(), "a.pdf")])


# --- The conclusion ------------------------------------------------------------------------------------------------


def answered(audit, editor) -> Audit:
    return audit_answer(actor=editor, audit=audit, response="Pièces.", uploads=[upload(pdf_bytes(), "a.pdf")])


def test_a_compliant_audit_is_concluded_and_the_editor_told(
    audit, editor, administrator, django_capture_on_commit_callbacks
):
    answered(audit, editor)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = audit_conclude(
            actor=administrator, audit=audit, result=AuditState.PASSED, conclusion="Pièces conformes."
        )
    assert (done.state, done.conclusion, done.concluded_by) == (AuditState.PASSED, "Pièces conformes.", administrator)
    assert audit.dossier.state == State.PUBLISHED
    assert len(mail.outbox) == 1 and "Pièces conformes." in mail.outbox[0].body


def test_a_failed_audit_may_suspend_at_once(ready_product, editor, administrator, client, citizen):
    dossier = published_dossier(ready_product, editor, administrator)
    audit = open_audit(dossier)
    answered(audit, editor)

    audit_conclude(
        actor=administrator,
        audit=audit,
        result=AuditState.FAILED,
        conclusion="Le registre RGPD ne couvre pas le service.",
        suspend=True,
    )

    dossier.refresh_from_db()
    assert dossier.state == State.SUSPENDED
    assert "Audit non conforme : Le registre RGPD" in dossier.events.get(transition="suspend").comment
    assert not dossier.habilitation.is_active
    assert dossier.service.status == "suspendu"


@pytest.mark.parametrize(
    ("result", "conclusion", "suspend", "field"),
    [
        ("", "Conclusion.", False, "result"),
        (AuditState.PASSED, "", False, "conclusion"),
        (AuditState.PASSED, "Conforme.", True, "suspend"),
    ],
    ids=["no-result", "no-conclusion", "suspend-compliant"],
)
def test_a_conclusion_is_checked_field_by_field(audit, editor, administrator, result, conclusion, suspend, field):
    answered(audit, editor)
    with pytest.raises(ValidationError) as refused:
        audit_conclude(actor=administrator, audit=audit, result=result, conclusion=conclusion, suspend=suspend)
    assert field in refused.value.error_dict
    audit.refresh_from_db()
    assert audit.state == AuditState.ANSWERED


def test_only_an_administrator_concludes_and_only_an_answered_or_expired_audit(audit, editor, administrator):
    with pytest.raises(ValidationError, match="ne peut pas être conclu"):
        audit_conclude(actor=administrator, audit=audit, result=AuditState.PASSED, conclusion="Conforme.")
    answered(audit, editor)
    with pytest.raises(PermissionDenied):
        audit_conclude(actor=editor, audit=audit, result=AuditState.PASSED, conclusion="Conforme.")


# --- Expiry --------------------------------------------------------------------------------------------------------


def test_an_unanswered_audit_expires_and_suspends_the_service(ready_product, editor, settings):
    dossier = dossier_in_state(ready_product, State.PUBLISHED, editor=editor)
    due = open_audit(dossier, deadline=timezone.now() - timedelta(hours=1))
    pending = open_audit(dossier_in_state(ready_product, State.PUBLISHED, editor=editor))

    assert audits_expire() == 1
    assert audits_expire() == 0  # idempotent

    due.refresh_from_db()
    pending.refresh_from_db()
    dossier.refresh_from_db()
    assert due.state == AuditState.EXPIRED and pending.state == AuditState.OPEN
    assert dossier.state == State.SUSPENDED
    event = dossier.events.get(transition="suspend")
    assert event.actor is None and "resté sans réponse" in event.comment


def test_expiry_without_suspension_when_the_setting_says_so(ready_product, editor, settings):
    settings.REFERENCEMENT_AUDIT_SUSPEND_ON_EXPIRY = False
    dossier = dossier_in_state(ready_product, State.PUBLISHED, editor=editor)
    open_audit(dossier, deadline=timezone.now() - timedelta(hours=1))
    assert audits_expire_task() == {"expired": 1}
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED


def test_an_expired_audit_of_a_withdrawn_dossier_still_expires(ready_product, editor):
    dossier = dossier_in_state(ready_product, State.WITHDRAWN, editor=editor)
    audit = open_audit(dossier, deadline=timezone.now() - timedelta(hours=1))
    assert audits_expire() == 1
    audit.refresh_from_db()
    assert audit.state == AuditState.EXPIRED


@pytest.mark.parametrize("state", [State.COMPLETION, State.ADJOURNED], ids=["completion", "adjourned"])
def test_a_request_left_unanswered_past_its_deadline_is_closed(ready_product, editor, state):
    late = dossier_in_state(ready_product, state, editor=editor, response_deadline=timezone.now() - timedelta(hours=1))
    assert responses_expire_task() == {"closed": 1}
    assert responses_expire() == 0
    late.refresh_from_db()
    assert late.state == State.CLOSED
    assert late.events.get(transition="close_expired").actor is None


def test_a_request_within_its_deadline_stays(ready_product, editor):
    waiting = dossier_in_state(ready_product, State.COMPLETION, editor=editor)
    assert responses_expire() == 0
    waiting.refresh_from_db()
    assert waiting.state == State.COMPLETION


# --- The editor's page ---------------------------------------------------------------------------------------------


def audit_url(audit):
    return reverse("referencement_audit", args=[audit.dossier.public_id, audit.public_id])


def test_the_editor_reads_the_audit_and_answers_on_the_page(client, audit, editor):
    client.force_login(editor)
    page = client.get(audit_url(audit))
    html = page.content.decode()
    assert page.status_code == 200
    assert "La synthèse du dernier test d’intrusion." in html
    assert 'type="file"' in html and "multiple" in html

    response = client.post(
        audit_url(audit),
        {
            "response": "Le registre et la synthèse.",
            "files": [upload(pdf_bytes(), "registre.pdf"), upload(pdf_bytes("Pentest"), "pentest.pdf")],
        },
    )
    assert response.status_code == 302
    audit.refresh_from_db()
    assert audit.state == AuditState.ANSWERED
    html = client.get(audit_url(audit)).content.decode()
    item = audit.files.get(filename="pentest.pdf")
    download = reverse("referencement_audit_file", args=[audit.dossier.public_id, audit.public_id, item.public_id])
    assert download in html
    file_response = client.get(download)
    assert file_response.status_code == 200
    assert b"".join(file_response.streaming_content) == pdf_bytes("Pentest")
    assert "attachment" in file_response["Content-Disposition"]


def test_a_refused_file_on_the_page_says_why(client, audit, editor):
    client.force_login(editor)
    response = client.post(
        audit_url(audit), {"response": "Pièce.", "files": [upload(b"<html><script></script></html>", "x.pdf")]}
    )
    assert response.status_code == 400
    assert "« x.pdf » : Ce fichier est une page web" in response.content.decode()
    assert client.post(audit_url(audit), {"response": "Sans pièce."}).status_code == 400


@pytest.mark.parametrize("size", [200_000, 10_000], ids=["announced", "streamed"])
def test_too_large_an_answer_is_refused_before_or_while_reading_it(client, audit, editor, settings, size):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 2048
    settings.REFERENCEMENT_AUDIT_MAX_FILES = 1
    client.force_login(editor)
    response = client.post(audit_url(audit), {"response": "Gros.", "files": [upload(b"%PDF-" + b"x" * size, "g.pdf")]})
    assert response.status_code == 413
    assert "taille maximale" in response.content.decode()
    assert not AuditFile.objects.exists()
    audit.refresh_from_db()
    assert audit.state == AuditState.OPEN


def test_audit_page_authorization(client, audit, outsider, persona_users):
    url = audit_url(audit)
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("account_login"))
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"response": "x"}).status_code == 404
    for persona in ["citizen", "professional", "commission", "admin"]:
        client.force_login(persona_users[persona])
        assert client.get(url).status_code == 403, persona


def test_an_audit_of_another_dossier_is_not_found_under_this_one(client, audit, ready_product_simple, editor):
    other = dossier_in_state(ready_product_simple, State.PUBLISHED, editor=editor)
    client.force_login(editor)
    assert client.get(reverse("referencement_audit", args=[other.public_id, audit.public_id])).status_code == 404


# --- The administrators' pages -------------------------------------------------------------------------------------


def test_the_list_filters_by_state_month_and_text(client, ready_product, editor, administrator):
    dossiers = published(ready_product, editor, 2)
    first = open_audit(dossiers[0])
    second = Audit.objects.create(
        dossier=dossiers[1], requested_evidence="x", deadline=timezone.now(), drawn_for=MARCH.date()
    )
    Audit.objects.filter(pk=second.pk).update(state=AuditState.PASSED)
    client.force_login(administrator)
    listing = reverse("referencement_audits")

    def shown(**params) -> set[str]:
        html = client.get(listing, params).content.decode()
        return {audit.dossier.reference for audit in (first, second) if audit.dossier.reference in html}

    assert shown() == {dossiers[0].reference, dossiers[1].reference}
    assert shown(state=AuditState.OPEN) == {dossiers[0].reference}
    assert shown(month="2026-03") == {dossiers[1].reference}
    assert shown(q=dossiers[1].reference) == {dossiers[1].reference}
    bad = client.get(listing, {"month": "mars"})
    assert "Indiquez un mois" in bad.content.decode()


def test_the_review_page_concludes_and_may_suspend(client, audit, editor, administrator):
    answered(audit, editor)
    client.force_login(administrator)
    url = reverse("referencement_audit_review", args=[audit.public_id])
    page = client.get(url).content.decode()
    assert "Pièces." in page
    item = audit.files.get()
    file_url = reverse("referencement_audit_review_file", args=[audit.public_id, item.public_id])
    assert file_url in page
    assert client.get(file_url).status_code == 200

    refused = client.post(url, {"result": AuditState.PASSED, "conclusion": "Conforme.", "suspend": "on"})
    assert refused.status_code == 400
    assert "Seul un audit non conforme peut suspendre" in refused.content.decode()

    done = client.post(url, {"result": AuditState.FAILED, "conclusion": "Registre absent.", "suspend": "on"})
    assert done.status_code == 302
    audit.refresh_from_db()
    audit.dossier.refresh_from_db()
    assert audit.state == AuditState.FAILED
    assert audit.dossier.state == State.SUSPENDED
    assert "Non conforme" in client.get(url).content.decode()
    # The editor reads the conclusion on their page.
    client.force_login(editor)
    html = client.get(audit_url(audit)).content.decode()
    assert "Registre absent." in html and "Non conforme" in html


ADMIN_ROUTES = ["referencement_audits", "referencement_audit_review", "referencement_audit_review_file"]


def admin_url(name, audit):
    if name == "referencement_audits":
        return reverse(name)
    if name == "referencement_audit_review":
        return reverse(name, args=[audit.public_id])
    return reverse(name, args=[audit.public_id, audit.files.get().public_id])


@pytest.mark.parametrize("name", ADMIN_ROUTES, ids=ADMIN_ROUTES)
@pytest.mark.parametrize("persona", ["citizen", "professional", "editor", "commission"], ids=str)
def test_the_review_pages_are_for_administrators(client, audit, editor, persona_users, name, persona):
    answered(audit, editor)
    url = admin_url(name, audit)
    assert client.get(url).status_code == 302
    client.force_login(persona_users[persona])
    assert client.get(url).status_code == 403
