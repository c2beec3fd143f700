"""The administrators' Convergence statistics page."""

import re

import pytest
from django.urls import reverse

from convergence.models import Procedure
from convergence.services import answer_save
from tests.convergence.conftest import criterion, declare

pytestmark = pytest.mark.urls("tests.convergence.test_exports_urlconf")


def _cells(html: str, label: str) -> list[str]:
    row = re.search(rf"<tr><th scope=\"row\">{label}</th>(.*?)</tr>", html)
    assert row, label
    return re.findall(r"<td>(\d+)</td>", row.group(1))


def test_statistics_show_declared_self_assessed_and_ready_per_procedure(
    client, referential, editor, organisation, administrator
):
    declare(editor, organisation)
    declare(editor, organisation, name="Autre", procedure=Procedure.SANS_ECHANGE)
    assessed = declare(editor, organisation, name="Évalué", procedure=Procedure.SANS_ECHANGE)
    for code in ("ETH-01", "ETH-03"):
        answer_save(actor=editor, product=assessed, criterion=criterion(code), value="oui", expected_revision=0)
    # ETH-02 is answered by its file: without one, « Éthique » is not complete; answer URB's whole questionnaire.
    for code, value in (
        ("URB-01", "oui"),
        ("URB-02", "oui"),
        ("URB-03", "non"),
        ("URB-04", "hds_certifie"),
        ("URB-05", 80),
        ("URB-06", "Plan de réversibilité publié."),
    ):
        answer_save(actor=editor, product=assessed, criterion=criterion(code), value=value, expected_revision=0)
    client.force_login(administrator)
    response = client.get(reverse("convergence_statistics"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _cells(html, "Sans échange de données") == ["2", "1", "0"]
    assert _cells(html, "Avec échange de données") == ["1", "0", "0"]
    assert _cells(html, "Total") == ["3", "1", "0"]
    assert "Produits prêts à déposer" in html


def test_statistics_are_for_administrators_only(client, persona_users):
    url = reverse("convergence_statistics")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for role, user in persona_users.items():
        client.force_login(user)
        assert client.get(url).status_code == (200 if role == "admin" else 403), role
