"""The technical tests for real: an editor's app — the reference client of docs/examples/reference_client.py — runs
over HTTP against the live server with the sandbox credentials, and the checklist turns green step by step.

The person at the keyboard is the test person of the dossier, signing in and consenting with ``requests`` as a
browser would (tests/api/test_reference_client.py); the editor's actions (secret, password, withdrawal of the
consent) go through the same services as the tests page.
"""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from mes.acces.models import JournalEntry, Pairing
from mes.acces.services.pairings import pairing_revoke
from mes.api.app_views import IDPE_SYSTEM
from referencement.models import Dossier, State
from referencement.selectors_sandbox import sandbox_checklist
from referencement.services.instruction import dossier_refer_to_commission
from referencement.services.sandbox import (
    sandbox_consent_revoke,
    sandbox_password_regenerate,
    sandbox_secret_regenerate,
    technical_tests_start,
)
from tests.api.test_reference_client import CitizenBrowser, _form_fields, rc
from tests.dossier.documents_samples import pdf_bytes
from tests.referencement.conftest import dossier_in_state

SCOPE = "openid patient/Observation.crs patient/DocumentReference.c"
CODES = ["appariement", "ecriture_mesure", "lecture", "ecriture_document", "retrait_consentement"]


class SandboxPerson(CitizenBrowser):
    """The test person in a browser: signs in with the password the editor generated and consents."""

    def consent(self, authorization_url: str, *, app_name: str) -> str:
        page = self.http.get(authorization_url, allow_redirects=False, timeout=10)
        assert page.status_code == 200, page.text[:500]
        assert app_name in page.text
        answer = self.http.post(
            page.url, data=[*_form_fields(page.text), ("allow", "Autoriser")], allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["Location"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dossier(django_db_setup, live_server, ready_product, editor, administrator):
    """A dossier whose tests an administrator has opened (the database comes before the live server, so that the
    server stops before the test database is dropped)."""
    return technical_tests_start(
        actor=administrator, dossier=dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    )


def done(dossier) -> list[str]:
    checklist = sandbox_checklist(Dossier.objects.get(pk=dossier.pk))
    return [item.code for item in checklist.items if item.done]


def test_the_checklist_turns_green_as_the_editors_app_really_performs(live_server, dossier, editor, administrator):
    # The editor's side: the sandbox credentials, generated on the tests page and shown once.
    secret = sandbox_secret_regenerate(actor=editor, dossier=dossier)
    password = sandbox_password_regenerate(actor=editor, dossier=dossier)
    habilitation = dossier.sandbox_habilitation
    app = rc.ReferenceClient(
        live_server.url,
        client_id=habilitation.application.client_id,
        client_secret=secret,
        redirect_uri=dossier.redirect_uris[0],
        oid=dossier.oid,
    )
    person = SandboxPerson(live_server.url)
    person.sign_in(dossier.sandbox_citizen.user.email, password)
    try:
        assert done(dossier) == []

        # 1. Pairing: the app sends the test person to the consent page; the person consents.
        tokens = app.finish(
            person.consent(app.authorization_url(external_id="patient-test-1", scope=SCOPE), app_name=habilitation.name)
        )
        assert tokens.idpe == Pairing.objects.get(citizen=dossier.sandbox_citizen).idpe
        assert done(dossier) == CODES[:1]

        # 2. A valid measure written (a weight with its scale, as a transaction Bundle).
        measured_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        answer = app.record_weight(81.3, measured_at=measured_at, device_id="tensiometre-1")
        assert answer["entry"][1]["response"]["status"].startswith("201")
        assert done(dossier) == CODES[:2]

        # 3. A read: the weights, page after page.
        assert [weight["valueQuantity"]["value"] for weight in app.weights()] == [81.3]
        assert done(dossier) == CODES[:3]

        # 4. A document written: the reference client has no helper for it, a raw DocumentReference is posted.
        document = {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "CR de consultation"}]},
            "subject": {"identifier": {"system": IDPE_SYSTEM, "value": tokens.idpe}},
            "description": "Bilan mensuel de tension",
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "title": "bilan-tension.pdf",
                        "data": base64.b64encode(pdf_bytes("Bilan mensuel")).decode("ascii"),
                    }
                }
            ],
            "context": {"period": {"start": "2026-01-15"}},
        }
        posted = requests.post(
            f"{live_server.url}/api/fhir/DocumentReference",
            data=json.dumps(document),
            headers={
                "Authorization": f"Bearer {app.tokens.access_token}",
                "Content-Type": "application/fhir+json",
                "Idempotency-Key": str(uuid.uuid4()),
            },
            timeout=10,
        )
        assert posted.status_code == 201, posted.text[:500]
        assert done(dossier) == CODES[:4]
        assert not sandbox_checklist(dossier).complete

        # 5. The editor withdraws the test person's consent from the tests page.
        sandbox_consent_revoke(actor=editor, dossier=dossier)
        assert done(dossier) == CODES[:4]
        # The app's next call is refused; its token was deleted with the pairing, so the 401 names no app.
        with pytest.raises(rc.ApiError) as refused:
            list(app.weights())
        assert refused.value.status == 401
        # Its one try to renew the tokens is refused too, and that refusal is the app's.
        with pytest.raises(rc.OAuthError) as dead:
            app.refresh()
        assert dead.value.error == "invalid_grant"
        assert JournalEntry.objects.filter(action="api.jeton.refuse", citizen=dossier.sandbox_citizen).count() == 1
        assert done(dossier) == CODES[:4]

        # 6. The app stops and sends the person through pairing again: the last step is green.
        app.finish(
            person.consent(app.authorization_url(external_id="patient-test-1", scope=SCOPE), app_name=habilitation.name)
        )
        checklist = sandbox_checklist(Dossier.objects.get(pk=dossier.pk))
        assert [item.code for item in checklist.items if item.done] == CODES
        assert checklist.complete
        assert "1 appel(s) refusé(s)" in checklist.items[-1].help

        # The administrator sends the dossier to the commission: the results are frozen as the commission reads them.
        dossier_refer_to_commission(actor=administrator, dossier=Dossier.objects.get(pk=dossier.pk))
        pairing_revoke(
            actor=dossier.sandbox_citizen.user,
            pairing=Pairing.objects.get(citizen=dossier.sandbox_citizen, revoked_at__isnull=True),
        )
        frozen = sandbox_checklist(Dossier.objects.get(pk=dossier.pk))
        assert frozen.frozen and frozen.complete
    finally:
        # A kept-alive connection keeps the server's request thread, and its database connection, alive.
        person.http.close()


def test_an_app_that_hammers_after_the_withdrawal_does_not_pass(live_server, dossier, editor, settings):
    settings.REFERENCEMENT_SANDBOX_CALLS_AFTER_REVOCATION = 3
    secret = sandbox_secret_regenerate(actor=editor, dossier=dossier)
    password = sandbox_password_regenerate(actor=editor, dossier=dossier)
    habilitation = dossier.sandbox_habilitation
    app = rc.ReferenceClient(
        live_server.url,
        client_id=habilitation.application.client_id,
        client_secret=secret,
        redirect_uri=dossier.redirect_uris[0],
        oid=dossier.oid,
    )
    person = SandboxPerson(live_server.url)
    person.sign_in(dossier.sandbox_citizen.user.email, password)
    try:
        app.finish(person.consent(app.authorization_url(external_id="patient-test-1", scope=SCOPE), app_name="bac"))
        sandbox_consent_revoke(actor=editor, dossier=dossier)
        for _attempt in range(5):
            with pytest.raises(rc.OAuthError):
                app.refresh()
        app.finish(person.consent(app.authorization_url(external_id="patient-test-1", scope=SCOPE), app_name="bac"))
        item = sandbox_checklist(Dossier.objects.get(pk=dossier.pk)).items[-1]
        assert item.code == "retrait_consentement" and not item.done
        assert "5 appels refusés, au plus 3 admis" in item.help
    finally:
        person.http.close()
