"""The autosave endpoint's conflict answer carries what the script needs to show the other member's version in place
of the editor's input: the current value as the form field shows it, its comment and revision, its author and when;
the keys the script read before are unchanged."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from convergence.models import Answer
from convergence.services import answer_save
from tests.convergence.conftest import criterion


@pytest.fixture
def clients(editor, colleague):
    first, second = Client(), Client()
    first.force_login(editor)
    second.force_login(colleague)
    return first, second


def test_the_conflict_returns_the_current_answer_its_author_and_when(product, editor, clients):
    first, second = clients
    url = reverse("convergence_answer", args=[product.public_id, "URB-05"])  # a number, shown « 62,5 »
    assert first.post(url, {"revision": "0", "value": "62.5", "comment": "Mesure de mars."}).status_code == 200
    response = second.post(url, {"revision": "0", "value": "80", "comment": ""})
    assert response.status_code == 409
    data = json.loads(response.content)
    assert data["status"] == "conflict"
    assert data["current"] == {"value": "62,5", "label": "62,5 %", "comment": "Mesure de mars.", "revision": 1}
    assert data["author"] == editor.display_name
    answer = Answer.objects.get(product=product, criterion__criterion_id="URB-05")
    local = timezone.localtime(answer.updated_at)
    assert data["when"] == f"le {local:%d/%m/%Y} à {local:%H:%M}"
    assert data["message"].startswith(f"Cette réponse a été modifiée par {editor.display_name} {data['when']} ")
    assert (answer.value, answer.revision) == (62.5, 1)


def test_the_conflict_after_an_update_returns_the_latest_revision(product, colleague, clients):
    first = clients[0]
    url = reverse("convergence_answer", args=[product.public_id, "URB-01"])
    assert first.post(url, {"revision": "0", "value": "oui"}).status_code == 200
    answer_save(
        actor=colleague, product=product, criterion=criterion("URB-01"), value="non", comment="", expected_revision=1
    )
    response = first.post(url, {"revision": "1", "value": "oui", "comment": "Relu."})
    assert response.status_code == 409
    data = json.loads(response.content)
    assert data["current"] == {"value": "non", "label": "Non", "comment": "", "revision": 2}
    assert data["author"] == colleague.display_name
    # Applying one's own answer knowingly: the revision the conflict returned.
    response = first.post(url, {"revision": str(data["current"]["revision"]), "value": "oui", "comment": "Relu."})
    assert response.status_code == 200 and json.loads(response.content)["revision"] == 3
