"""The dossier's logo and screenshots: checked and re-encoded before anything is written, replaced and removed files
deleted once the change commits, and no file left behind by a refused upload or a rolled-back transaction."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from catalogue.models import MAX_SCREENSHOTS
from mes.acces.models import JournalEntry
from referencement.models import Dossier, DossierScreenshot, State
from referencement.services.dossiers import (
    dossier_logo_set,
    dossier_screenshot_add,
    dossier_screenshot_move,
    dossier_screenshot_remove,
)
from tests.referencement.conftest import dossier_in_state, png_bytes


def upload(content: bytes, name: str = "image.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def stored_files(dossier: Dossier) -> set[str]:
    """Every file stored under the dossier's folder."""
    folder = f"referencement/{dossier.public_id}"
    names = set()
    if not default_storage.exists(folder):
        return names
    directories, files = default_storage.listdir(folder)
    names |= {f"{folder}/{name}" for name in files}
    for directory in directories:
        names |= {f"{folder}/{directory}/{name}" for name in default_storage.listdir(f"{folder}/{directory}")[1]}
    return names


def jpeg_with_gps() -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Appareil secret"  # Make
    Image.new("RGB", (300, 300), (200, 10, 10)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


# --- Logo -------------------------------------------------------------------------------------------------------------


def test_a_new_logo_replaces_the_old_file_once_committed(draft_dossier, editor, django_capture_on_commit_callbacks):
    old = draft_dossier.logo.name
    assert default_storage.exists(old)
    with django_capture_on_commit_callbacks(execute=True):
        dossier_logo_set(actor=editor, dossier=draft_dossier, upload=upload(png_bytes(300, 300, (10, 120, 10))))
    draft_dossier.refresh_from_db()
    assert draft_dossier.logo.name != old
    assert default_storage.exists(draft_dossier.logo.name)
    assert not default_storage.exists(old)
    assert stored_files(draft_dossier) == {draft_dossier.logo.name}
    # Re-encoded: a PNG of at most 256 pixels, whose SHA-256 names it.
    with default_storage.open(draft_dossier.logo.name, "rb") as stored:
        image = Image.open(stored)
        assert (image.format, image.size) == ("PNG", (256, 256))
    assert (
        JournalEntry.objects.get(action="referencement.dossier.logo_set").details["sha256"] == draft_dossier.logo_sha256
    )


def test_the_old_logo_stays_until_the_commit(draft_dossier, editor, django_capture_on_commit_callbacks):
    old = draft_dossier.logo.name
    with django_capture_on_commit_callbacks(execute=False):
        dossier_logo_set(actor=editor, dossier=draft_dossier, upload=upload(png_bytes(300, 300)))
    assert default_storage.exists(old)


def test_the_metadata_of_a_photo_are_left_behind(draft_dossier, editor):
    dossier_logo_set(actor=editor, dossier=draft_dossier, upload=upload(jpeg_with_gps(), "photo.jpg"))
    draft_dossier.refresh_from_db()
    with default_storage.open(draft_dossier.logo.name, "rb") as stored:
        content = stored.read()
    assert content.startswith(b"\x89PNG")
    assert b"Appareil secret" not in content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG ne sont pas acceptées"),
        (b"%PDF-1.7 un document", "n’est pas une image PNG, JPEG ou WebP lisible"),
        (png_bytes(32, 32), "L’image est trop petite : au moins 64 pixels"),
        (b"", "Le fichier est vide."),
    ],
    ids=["svg", "pdf", "too-small", "empty"],
)
def test_a_refused_logo_writes_nothing_and_keeps_the_old_one(draft_dossier, editor, content, message):
    old = draft_dossier.logo.name
    before = stored_files(draft_dossier)
    with pytest.raises(ValidationError) as error:
        dossier_logo_set(actor=editor, dossier=draft_dossier, upload=upload(content))
    assert message in " ".join(error.value.message_dict["logo"])
    draft_dossier.refresh_from_db()
    assert draft_dossier.logo.name == old
    assert stored_files(draft_dossier) == before
    assert not JournalEntry.objects.filter(action="referencement.dossier.logo_set").exists()


def test_a_logo_written_in_a_transaction_that_rolls_back_is_deleted(draft_dossier, editor):
    with pytest.raises(RuntimeError), transaction.atomic():
        dossier = dossier_logo_set(actor=editor, dossier=draft_dossier, upload=upload(png_bytes(300, 300)))
        written = dossier.logo.name
        assert default_storage.exists(written)
        raise RuntimeError("la suite de la requête échoue")
    assert not default_storage.exists(written)
    draft_dossier.refresh_from_db()
    assert default_storage.exists(draft_dossier.logo.name)


@pytest.mark.parametrize("state", [State.SUBMITTED, State.PUBLISHED], ids=["submitted", "published"])
def test_the_logo_of_a_dossier_under_review_cannot_change(ready_product, editor, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    with pytest.raises(ValidationError, match="ne peut plus être modifié"):
        dossier_logo_set(actor=editor, dossier=dossier, upload=upload(png_bytes(300, 300)))
    assert stored_files(dossier) == {dossier.logo.name}


def test_an_outsider_cannot_set_the_logo(draft_dossier, outsider):
    with pytest.raises(PermissionDenied):
        dossier_logo_set(actor=outsider, dossier=draft_dossier, upload=upload(png_bytes(300, 300)))


# --- Screenshots ------------------------------------------------------------------------------------------------------


def test_screenshots_are_added_last_removed_and_their_files_follow(
    draft_dossier, editor, django_capture_on_commit_callbacks
):
    first = dossier_screenshot_add(
        actor=editor, dossier=draft_dossier, upload=upload(png_bytes(400, 800)), alt_text="  Écran   d’accueil "
    )
    second = dossier_screenshot_add(
        actor=editor, dossier=draft_dossier, upload=upload(png_bytes(400, 800, (1, 2, 3))), alt_text="Courbe"
    )
    assert (first.position, second.position, first.alt_text) == (0, 1, "Écran d’accueil")
    assert (first.width, first.height) == (400, 800)
    assert default_storage.exists(first.image.name)
    name = first.image.name
    with django_capture_on_commit_callbacks(execute=True):
        dossier_screenshot_remove(actor=editor, dossier=draft_dossier, screenshot=first)
    assert not DossierScreenshot.objects.filter(pk=first.pk).exists()
    assert not default_storage.exists(name)
    assert default_storage.exists(second.image.name)
    actions = list(
        JournalEntry.objects.filter(action__startswith="referencement.dossier.screenshot").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == [
        "referencement.dossier.screenshot_add",
        "referencement.dossier.screenshot_add",
        "referencement.dossier.screenshot_remove",
    ]


@pytest.mark.parametrize(
    ("alt_text", "content", "field", "message"),
    [
        ("   ", png_bytes(400, 400), "alt_text", "Décrivez ce que montre la capture d’écran"),
        ("x" * 201, png_bytes(400, 400), "alt_text", "limité à 200 caractères"),
        ("Écran", png_bytes(100, 100), "image", "au moins 200 pixels"),
        ("Écran", b"GIF89a....", "image", "n’est pas une image PNG, JPEG ou WebP lisible"),
    ],
    ids=["no-alt", "long-alt", "too-small", "gif"],
)
def test_a_refused_screenshot_writes_nothing(draft_dossier, editor, alt_text, content, field, message):
    before = stored_files(draft_dossier)
    with pytest.raises(ValidationError) as error:
        dossier_screenshot_add(actor=editor, dossier=draft_dossier, upload=upload(content), alt_text=alt_text)
    assert message in " ".join(error.value.message_dict[field])
    assert not DossierScreenshot.objects.exists()
    assert stored_files(draft_dossier) == before


def test_no_more_screenshots_than_the_catalogue_shows(draft_dossier, editor):
    content = png_bytes(200, 200)
    for number in range(MAX_SCREENSHOTS):
        dossier_screenshot_add(actor=editor, dossier=draft_dossier, upload=upload(content), alt_text=f"Écran {number}")
    before = stored_files(draft_dossier)
    with pytest.raises(ValidationError) as error:
        dossier_screenshot_add(actor=editor, dossier=draft_dossier, upload=upload(content), alt_text="Un de trop")
    assert f"au plus {MAX_SCREENSHOTS} captures d’écran" in error.value.message_dict["image"][0]
    assert stored_files(draft_dossier) == before


def test_screenshots_move_one_place_at_a_time(draft_dossier, editor):
    shots = [
        dossier_screenshot_add(actor=editor, dossier=draft_dossier, upload=upload(png_bytes(200, 200)), alt_text=text)
        for text in ("A", "B", "C")
    ]
    dossier_screenshot_move(actor=editor, dossier=draft_dossier, screenshot=shots[2], offset=-1)
    assert list(draft_dossier.screenshots.values_list("alt_text", flat=True)) == ["A", "C", "B"]
    dossier_screenshot_move(actor=editor, dossier=draft_dossier, screenshot=shots[0], offset=-1)  # already first
    dossier_screenshot_move(actor=editor, dossier=draft_dossier, screenshot=shots[0], offset=1)
    assert list(draft_dossier.screenshots.values_list("alt_text", "position")) == [("C", 0), ("A", 1), ("B", 2)]
    with pytest.raises(ValidationError):
        dossier_screenshot_move(actor=editor, dossier=draft_dossier, screenshot=shots[0], offset=2)


def test_a_screenshot_of_another_dossier_is_refused(ready_product_simple, draft_dossier, editor):
    other = dossier_in_state(ready_product_simple, State.DRAFT, editor=editor)
    shot = dossier_screenshot_add(actor=editor, dossier=other, upload=upload(png_bytes(200, 200)), alt_text="Autre")
    with pytest.raises(PermissionDenied):
        dossier_screenshot_remove(actor=editor, dossier=draft_dossier, screenshot=shot)
    assert DossierScreenshot.objects.filter(pk=shot.pk).exists()


def test_a_screenshot_written_in_a_transaction_that_rolls_back_is_deleted(draft_dossier, editor):
    with pytest.raises(RuntimeError), transaction.atomic():
        shot = dossier_screenshot_add(
            actor=editor, dossier=draft_dossier, upload=upload(png_bytes(300, 300)), alt_text="Écran"
        )
        written = shot.image.name
        raise RuntimeError("la suite de la requête échoue")
    assert not default_storage.exists(written)
    assert not DossierScreenshot.objects.exists()
