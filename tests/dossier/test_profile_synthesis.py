"""The PDF synthesis of the profil médical: headers, content read back with pypdf, scoping, cost."""

import io
import re
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from dossier.models import Measure
from dossier.synthesis import profile_synthesis_pdf, synthesis_filename
from tests.dossier.profile_helpers import act_for, make_app_immunization, make_entry, make_immunization

pytestmark = pytest.mark.django_db

URL = "/dossier/profil/synthese.pdf"
GENERATED = datetime(2025, 3, 1, 9, 5, tzinfo=UTC)  # 10 h 05 in Paris


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _flat(text: str) -> str:
    """The text with its lines joined: a long paragraph may be wrapped anywhere."""
    return re.sub(r"\s+", " ", text)


def _measure(citizen, kind: str, value: str, unit: str, when: datetime) -> Measure:
    return Measure.objects.create(
        citizen=citizen,
        kind=kind,
        effective_at=when,
        value=Decimal(value),
        unit=unit,
        source_kind="citizen",
        source_label="Saisie par l’usager",
        resource={"resourceType": "Observation"},
    )


def test_the_route_is_named():
    assert reverse("profile_synthesis") == URL


def test_download_is_an_attachment_never_cached(client, citizen):
    client.force_login(citizen.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert re.fullmatch(
        r'attachment; filename="synthese-profil-medical-\d{4}-\d{2}-\d{2}\.pdf"', response["Content-Disposition"]
    )
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"%PDF-")
    assert "Synthèse du profil médical" in _text(response.content)


def test_filename_uses_the_date_in_paris():
    assert synthesis_filename(datetime(2025, 3, 1, 23, 30, tzinfo=UTC)) == "synthese-profil-medical-2025-03-02.pdf"


def test_the_pdf_holds_the_person_the_date_the_sections_the_vaccinations_and_the_measures(access, citizen):
    make_entry(
        citizen, section="maladies", label="Asthme d’effort", start_date=date(2001, 9, 1), note="Ventoline si besoin"
    )
    make_entry(
        citizen, section="traitements", label="Lévothyrox 75 µg", start_date=date(2019, 3, 4), end_date=date(2030, 1, 1)
    )
    make_entry(citizen, section="allergies", label="Œufs et noix de cajou, « très forte » réaction")
    make_immunization(
        access, vaccine_code="J07BD52", occurrence_date=date(1981, 6, 2), dose_number=1, lot_number="RX-12"
    )
    make_app_immunization(access)
    _measure(citizen, "poids", "72.500", "kg", datetime(2025, 1, 10, 8, tzinfo=UTC))
    _measure(citizen, "poids", "80.000", "kg", datetime(2024, 1, 10, 8, tzinfo=UTC))  # older: not shown
    _measure(citizen, "taille", "170.000", "cm", datetime(2024, 6, 1, 8, tzinfo=UTC))
    _measure(citizen, "imc", "25.090", "kg/m2", datetime(2025, 1, 10, 8, tzinfo=UTC))

    text = _text(profile_synthesis_pdf(access, generated_at=GENERATED))
    flat = _flat(text)

    assert "Synthèse du profil médical" in flat
    assert "DURAND Camille" in flat
    assert "17 mai 1980" in flat
    ins = citizen.ins
    assert f"{ins[0]} {ins[1:3]} {ins[3:5]} {ins[5:7]} {ins[7:10]} {ins[10:13]} {ins[13:]}" in flat
    assert "Document généré le 1er mars 2025 à 10 h 05 (heure de Paris)." in flat
    for title in ("Maladies et antécédents", "Traitements", "Antécédents familiaux", "Allergies", "Handicap"):
        assert title in flat
    assert "Asthme d’effort" in flat and "Depuis le 1er septembre 2001" in flat and "Ventoline si besoin" in flat
    assert "Lévothyrox 75 µg" in flat and "Du 4 mars 2019 au 1er janvier 2030" in flat
    assert "Œufs et noix de cajou, « très forte » réaction" in flat
    # Antécédents familiaux and handicap are empty.
    assert flat.count("Aucune information renseignée.") == 2
    assert "Vaccinations" in flat
    assert "02/06/1981" in flat and "Rougeole, oreillons, rubéole (ROR)" in flat and "RX-12" in flat
    assert "Grippe saisonnière, vaccin inactivé" in flat and "Pharmacie du Centre" in flat
    assert "Poids : 72,5 kg (le 10 janvier 2025)" in flat
    assert "Taille : 170 cm" in flat
    assert "Indice de masse corporelle (IMC) : 25,09 kg/m²" in flat
    assert "80 kg" not in flat
    assert "Page 1 sur 1" in flat


def test_an_empty_profile_says_so_everywhere(access):
    flat = _flat(_text(profile_synthesis_pdf(access, generated_at=GENERATED)))

    assert flat.count("Aucune information renseignée.") == 6  # five sections and the vaccinations
    assert "Poids, taille et IMC" not in flat


def test_accents_and_other_scripts_come_out_right(access, citizen):
    make_entry(citizen, label="Intolérance à l’aspirine — cœur, cæcum, ça, où, être, naïf, 5 €")
    make_entry(citizen, section="handicap", label="Suivi par Dr Łukasz Öztürk-Dvořák")

    flat = _flat(_text(profile_synthesis_pdf(access, generated_at=GENERATED)))

    assert "Intolérance à l’aspirine — cœur, cæcum, ça, où, être, naïf, 5 €" in flat
    assert "Łukasz Öztürk-Dvo" in flat


def test_what_people_typed_is_never_read_as_markup(access, citizen):
    make_entry(citizen, label='<b>gras</b> & <font name="Courier">x</font>', note="ligne 1\nligne 2 <br/>")

    text = _text(profile_synthesis_pdf(access, generated_at=GENERATED))

    assert '<b>gras</b> & <font name="Courier">x</font>' in text
    assert "ligne 1\nligne 2 <br/>" in text


def test_another_citizen_never_appears(client, access, other_access, citizen, other_citizen):
    make_entry(other_citizen, label="Secret de Bruno")
    make_immunization(other_access, vaccine_code="J07BL01")
    _measure(other_citizen, "poids", "95", "kg", datetime(2025, 1, 1, tzinfo=UTC))
    make_entry(citizen, label="Allergie de Camille")
    client.force_login(citizen.user)

    flat = _flat(_text(client.get(URL).content))

    assert "Allergie de Camille" in flat
    assert "Secret de Bruno" not in flat and "Fièvre jaune" not in flat and "95 kg" not in flat
    assert other_citizen.ins not in flat.replace(" ", "") and "LEROY" not in flat


def test_a_parent_downloads_the_child_synthesis(client, citizen, child, child_access):
    make_entry(child, label="Allergie de Léa")
    make_entry(citizen, label="Allergie de Camille")
    client.force_login(citizen.user)
    act_for(client, child)

    flat = _flat(_text(client.get(URL).content))

    assert "DURAND Léa Anne" in flat and "Allergie de Léa" in flat
    assert "Allergie de Camille" not in flat


def test_a_big_profile_spans_numbered_pages_in_a_constant_number_of_queries(access, citizen):
    for index in range(120):
        make_entry(
            citizen,
            section=["maladies", "traitements", "allergies"][index % 3],
            label=f"Entrée {index:03d}",
            note="Une note " * 20,
        )
    for index in range(80):
        make_immunization(
            access, occurrence_date=date(1981 + index % 40, 1 + index % 12, 1), lot_number=f"L{index:03d}"
        )

    with CaptureQueriesContext(connection) as queries:
        pdf = profile_synthesis_pdf(access, generated_at=GENERATED)

    assert len(queries.captured_queries) == 3  # measures, entries, vaccinations
    pages = PdfReader(io.BytesIO(pdf)).pages
    total = len(pages)
    assert total > 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} sur {total}" in page.extract_text()
    flat = _flat(_text(pdf))
    assert "Entrée 000" in flat and "Entrée 119" in flat and "L000" in flat and "L079" in flat


def _generation_seconds(access) -> float:
    started = time.perf_counter()
    profile_synthesis_pdf(access, generated_at=GENERATED)
    return time.perf_counter() - started


def test_generation_time_grows_linearly(access, citizen):
    def grow(count: int, offset: int) -> None:
        for index in range(offset, offset + count):
            make_entry(citizen, label=f"Entrée {index}", note="Note " * 10)
        for index in range(offset, offset + count):
            make_immunization(access, occurrence_date=date(1990 + index % 30, 1, 1), lot_number=f"L{index}")

    grow(100, 0)
    small = min(_generation_seconds(access) for _ in range(3))
    grow(300, 100)
    large = min(_generation_seconds(access) for _ in range(3))

    # Four times the content: linear costs about 4×, quadratic about 16×.
    assert large / small < 8, (small, large)


def test_visitors_sign_in_and_other_roles_are_refused(client, persona_users):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    for role in ("professional", "editor", "commission", "admin"):
        client.force_login(persona_users[role])
        assert client.get(URL).status_code == 403, role
