"""Campaign import: set-based checks with a reason per rejected line, all or nothing, no duplicate person."""

import csv
import io
from datetime import date
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError

from mes.acces.models import JournalEntry
from mes.comptes.demo import make_ins
from mes.comptes.models import Citizen, CitizenStatus, Sex, Wave
from mes.comptes.services import campaigns
from mes.comptes.services.campaigns import COLUMNS, progress_get, wave_create, wave_import

HEADER = ";".join(COLUMNS)


def ins(order: int, *, department: str = "31", sex: str = Sex.FEMALE, birth: date = date(1984, 3, 12)) -> str:
    return make_ins(sex=sex, birth=birth, department=department, commune="555", order=order)


def line(order: int, *, email: str = "", department: str = "31", columns=COLUMNS, **overrides) -> str:
    """One valid line (with a postal address: a person without e-mail gets a letter), in the order of ``columns``."""
    fields = {
        "ins": ins(order, department=department),
        "nom_naissance": f"NOM{order}",
        "prenoms": "Camille Marie",
        "date_naissance": "12/03/1984",
        "sexe": "F",
        "code_lieu_naissance": f"{department}555",
        "departement": department,
        "email": email,
        "telephone": "",
        "adresse": f"{order} rue des Lilas",
        "complement_adresse": "",
        "code_postal": "31000",
        "commune": "Toulouse",
    }
    fields.update(overrides)
    return ";".join(fields[name] for name in columns)


def run_import(content: str | bytes, *, departments=(), actor=None) -> Wave:
    data = content.encode() if isinstance(content, str) else content
    wave = wave_create(name="Vague test", departments=list(departments), source_filename="vague.csv", actor=actor)
    name = default_storage.save(f"campagnes/imports/{wave.public_id}.csv", ContentFile(data))
    return wave_import(wave_id=wave.pk, source_name=name, actor=actor)


def report_rows(wave: Wave) -> list[list[str]]:
    with wave.rejected_report.open("rb") as handle:
        text = handle.read().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["ligne", "motif", "contenu"]
    return rows[1:]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_valid_file_imports_everyone_with_status_imported(db, administrator):
    content = "\n".join([HEADER, line(1, email="a@exemple.fr"), line(2), line(3, department="2A")]) + "\n"

    wave = run_import(content, departments=["31", "2A"], actor=administrator)

    assert wave.status == Wave.Status.IMPORTED
    assert (wave.total_lines, wave.imported_count, wave.duplicate_count, wave.rejected_count) == (3, 3, 0, 0)
    assert not wave.rejected_report
    people = Citizen.objects.filter(wave=wave).order_by("birth_name")
    assert [p.status for p in people] == [CitizenStatus.IMPORTED] * 3
    assert people[0].contact_email == "a@exemple.fr"
    assert people[0].birth_date == date(1984, 3, 12)
    assert {p.department for p in people} == {"31", "2A"}
    assert all(p.user_id is None and p.public_id for p in people)
    assert JournalEntry.objects.filter(action=campaigns.WAVE_IMPORTED, object_id=str(wave.public_id)).count() == 1
    assert progress_get(wave.pk)["percent"] >= 85


def test_every_kind_of_bad_line_is_reported_with_its_number_and_reason(db):
    lines = [
        HEADER,
        line(1),  # 2: valid
        line(2, ins="12345"),  # 3: length
        line(3, ins=ins(3)[:-2] + "00"),  # 4: key
        line(4, ins="2841313555004" + "00"),  # 5: month 13
        line(5, date_naissance="31/02/1990"),  # 6: impossible date
        line(6, date_naissance="1990-02-01"),  # 7: wrong date format
        line(7, sexe="X"),  # 8: sex
        line(8, departement="99"),  # 9: département
        line(9, email="pas-une-adresse"),  # 10: e-mail
        line(10, nom_naissance=""),  # 11: birth name
        "only;three;fields",  # 12: columns
        line(1, nom_naissance="AUTRE"),  # 13: duplicate of line 2
        line(11, date_naissance="01/01/2999"),  # 14: future
        line(12, code_lieu_naissance="7"),  # 15: birthplace
        '=HYPERLINK("http://x");a;b;c;d;e;f;g;h',  # 16: formula
    ]

    wave = run_import("\n".join(lines) + "\n")

    assert wave.status == Wave.Status.IMPORTED
    assert (wave.total_lines, wave.imported_count, wave.rejected_count) == (15, 1, 14)
    rows = {int(number): (reason, content) for number, reason, content in report_rows(wave)}
    assert set(rows) == set(range(3, 17))
    assert "15 caractères" in rows[3][0]
    assert "clé du matricule INS est fausse" in rows[4][0]
    assert "mois de naissance" in rows[5][0]
    assert "Date de naissance invalide" in rows[6][0]
    assert "Date de naissance invalide" in rows[7][0]
    assert "Sexe invalide" in rows[8][0]
    assert "Département invalide" in rows[9][0]
    assert "Adresse électronique invalide" in rows[10][0]
    assert "nom de naissance est obligatoire" in rows[11][0]
    assert "Nombre de colonnes incorrect" in rows[12][0]
    assert rows[13][0] == "Matricule INS en double dans le fichier (déjà présent ligne 2)."
    assert "futur" in rows[14][0]
    assert "lieu de naissance" in rows[15][0]
    # The original content is in the report, neutralised against formula injection.
    assert rows[8][1] == line(7, sexe="X")
    assert rows[16][1].startswith("'=HYPERLINK")


def test_corsica_keys_and_normalised_ins_are_accepted(db):
    corsica_b = make_ins(sex=Sex.MALE, birth=date(1971, 1, 30), department="2B", commune="033", order=7)
    spaced = " ".join([ins(1)[:1], ins(1)[1:3], ins(1)[3:5], ins(1)[5:]])
    content = "\n".join(
        [HEADER, line(1, ins=spaced), line(2, ins=corsica_b, department="2B", code_lieu_naissance="2B033")]
    )

    wave = run_import(content + "\n")

    assert wave.rejected_count == 0
    assert set(Citizen.objects.filter(wave=wave).values_list("ins", flat=True)) == {ins(1), corsica_b}


def test_undecodable_line_is_rejected_alone_with_its_number(db):
    data = (HEADER + "\n" + line(1) + "\n").encode() + b"\xff\xfeNOM;\xe9t\xe9\n" + (line(2) + "\r\n").encode()

    wave = run_import(data)

    assert (wave.imported_count, wave.rejected_count, wave.total_lines) == (2, 1, 3)
    [(number, reason, _content)] = report_rows(wave)
    assert number == "3"
    assert "UTF-8" in reason


def test_latin1_file_is_reported_line_by_line_not_imported_half(db):
    data = (HEADER + "\n" + line(1, prenoms="Hélène") + "\n" + line(2, prenoms="Zoé") + "\n").encode("latin-1")

    wave = run_import(data)

    assert wave.imported_count == 0
    assert [row[0] for row in report_rows(wave)] == ["2", "3"]


def test_wrong_header_refuses_the_whole_file_in_french(db):
    wave = run_import("nir,nom,prenom\n" + line(1) + "\n")

    assert wave.status == Wave.Status.IMPORT_FAILED
    assert "en-tête" in wave.error_message
    assert not Citizen.objects.filter(wave=wave).exists()


def test_reimporting_the_same_people_does_not_duplicate_them(db):
    content = "\n".join([HEADER, line(1), line(2)]) + "\n"
    first = run_import(content)

    second = run_import("\n".join([HEADER, line(1), line(2), line(3)]) + "\n")

    assert (first.imported_count, second.imported_count, second.duplicate_count) == (2, 1, 2)
    assert Citizen.objects.filter(ins=ins(1)).count() == 1
    assert Citizen.objects.get(ins=ins(1)).wave == first


def test_a_person_already_holding_a_space_is_counted_as_known(db, citizen):
    content = "\n".join([HEADER, line(1, ins=citizen.ins)]) + "\n"

    wave = run_import(content)

    assert (wave.imported_count, wave.duplicate_count) == (0, 1)
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED and citizen.wave is None


def test_lines_outside_the_wave_departments_are_rejected(db):
    wave = run_import("\n".join([HEADER, line(1), line(2, department="44")]) + "\n", departments=["31"])

    assert (wave.imported_count, wave.rejected_count) == (1, 1)
    assert "ne fait pas partie de cette vague" in report_rows(wave)[0][1]


def test_a_database_error_in_the_middle_leaves_no_citizen_and_marks_the_wave_failed(db):
    content = "\n".join([HEADER, line(1), line(2)]) + "\n"

    with mock.patch.object(campaigns, "_INSERT_SQL", campaigns._INSERT_SQL + " RETURNING no_such_column"):
        wave = run_import(content)

    assert wave.status == Wave.Status.IMPORT_FAILED
    assert "aucune personne n’a été importée" in wave.error_message
    assert not Citizen.objects.filter(wave=wave).exists()
    assert not JournalEntry.objects.filter(action=campaigns.WAVE_IMPORTED).exists()


def test_a_failure_after_the_report_is_written_removes_it_and_every_row(db, tmp_path):
    content = "\n".join([HEADER, line(1), "bad"]) + "\n"

    with mock.patch.object(campaigns, "journal_append", side_effect=[mock.DEFAULT, DatabaseError("boom")]):
        wave = run_import(content)

    assert wave.status == Wave.Status.IMPORT_FAILED
    assert not wave.rejected_report
    assert not Citizen.objects.filter(wave=wave).exists()
    assert not list((tmp_path / "campagnes" / "rejets").glob("*"))


def test_the_source_file_is_deleted_once_imported(db):
    wave = run_import("\n".join([HEADER, line(1)]) + "\n")

    assert wave.status == Wave.Status.IMPORTED
    assert not default_storage.exists(f"campagnes/imports/{wave.public_id}.csv")


def test_a_redelivered_import_task_does_nothing(db):
    wave = run_import("\n".join([HEADER, line(1)]) + "\n")
    name = default_storage.save("campagnes/imports/again.csv", ContentFile("\n".join([HEADER, line(2)]) + "\n"))

    again = wave_import(wave_id=wave.pk, source_name=name, actor=None)

    assert again.imported_count == 1
    assert Citizen.objects.filter(wave=wave).count() == 1


def test_a_file_larger_than_the_limit_is_refused_by_the_service_too(db, settings):
    settings.CAMPAIGN_IMPORT_MAX_BYTES = 1024
    content = "\n".join([HEADER] + [line(n) for n in range(1, 40)]) + "\n"

    wave = run_import(content)

    assert wave.status == Wave.Status.IMPORT_FAILED
    assert "taille maximale" in wave.error_message
    assert not Citizen.objects.filter(wave=wave).exists()


def test_end_of_data_marker_and_blank_lines_do_not_cut_the_file(db):
    content = "\n".join([HEADER, line(1), "\\.", "", "   ", line(2)]) + "\n"

    wave = run_import(content)

    assert wave.imported_count == 2
    assert [row[0] for row in report_rows(wave)] == ["3"]


def test_a_line_without_email_nor_postal_address_is_rejected_with_its_number_and_reason(db):
    no_address = {"adresse": "", "complement_adresse": "", "code_postal": "", "commune": ""}
    lines = [
        HEADER,
        line(1),  # 2: valid, letter
        line(2, **no_address),  # 3: no e-mail, no address
        line(3, commune=""),  # 4: no city
        line(4, adresse="  "),  # 5: blank address line
        line(5, email="e@exemple.fr", **no_address),  # 6: valid, e-mail
    ]

    wave = run_import("\n".join(lines) + "\n")

    assert (wave.imported_count, wave.rejected_count) == (2, 3)
    rows = report_rows(wave)
    assert [row[0] for row in rows] == ["3", "4", "5"]
    for _number, reason, _content in rows:
        assert reason.startswith(
            "Adresse postale incomplète : une personne sans adresse électronique reçoit un courrier"
        )
    assert set(Citizen.objects.filter(wave=wave).values_list("ins", flat=True)) == {ins(1), ins(5)}


def test_the_postal_address_is_imported_and_stored(db):
    content = (
        "\n".join(
            [
                HEADER,
                line(1, adresse=' "8 allée des Tilleuls" ', complement_adresse="Bât. B, appt 12", code_postal="31 200"),
                line(2, email="b@exemple.fr", adresse="", code_postal="", commune=""),
            ]
        )
        + "\n"
    )

    wave = run_import(content)

    assert (wave.imported_count, wave.rejected_count) == (2, 0)
    letter = Citizen.objects.get(ins=ins(1))
    assert (letter.address_line, letter.address_complement, letter.postal_code, letter.city) == (
        "8 allée des Tilleuls",
        "Bât. B, appt 12",
        "31200",
        "Toulouse",
    )
    email = Citizen.objects.get(ins=ins(2))
    assert (email.address_line, email.address_complement, email.postal_code, email.city) == ("", "", "", "")


def test_a_bad_postal_code_is_rejected_even_with_an_email(db):
    lines = [
        HEADER,
        line(1, code_postal="3100"),  # 2: four digits
        line(2, email="b@exemple.fr", code_postal="31A00"),  # 3: a letter, though the person has an e-mail
        line(3, code_postal="310000"),  # 4: six digits
        line(4, adresse="x" * 201),  # 5: too long for the column
        line(5),  # 6: valid
    ]

    wave = run_import("\n".join(lines) + "\n")

    assert (wave.imported_count, wave.rejected_count) == (1, 4)
    rows = {int(number): reason for number, reason, _content in report_rows(wave)}
    assert rows[2] == "Code postal invalide (« 3100 ») : 5 chiffres attendus."
    assert rows[3] == "Code postal invalide (« 31A00 ») : 5 chiffres attendus."
    assert "Code postal invalide" in rows[4]
    assert rows[5] == "L’adresse dépasse 200 caractères."


def test_a_file_without_the_address_columns_still_imports_people_with_an_email(db):
    columns = ("email", *COLUMNS[:7])  # another order, and neither telephone nor the postal address columns
    lines = [
        ";".join(columns),
        line(1, email="a@exemple.fr", columns=columns),
        line(2, columns=columns),  # no e-mail and no way to give an address: a letter could not be sent
    ]

    wave = run_import("\n".join(lines) + "\n")

    assert wave.status == Wave.Status.IMPORTED
    assert (wave.imported_count, wave.rejected_count) == (1, 1)
    person = Citizen.objects.get(wave=wave)
    assert (person.ins, person.contact_email, person.postal_code) == (ins(1), "a@exemple.fr", "")
    [(number, reason, _content)] = report_rows(wave)
    assert number == "3" and reason.startswith("Adresse postale incomplète")


def test_the_example_file_imports_without_rejection(db):
    wave = run_import(campaigns.example_csv())

    assert (wave.imported_count, wave.rejected_count) == (3, 0)
    letter = Citizen.objects.get(wave=wave, contact_email="")
    assert (letter.postal_code, letter.city) == ("44000", "Nantes")
