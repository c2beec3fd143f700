"""Fixtures of the catalogue's tests."""

import shutil

import pytest

from tests.catalogue.helpers import make_service


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Each test stores its images in a folder of its own, removed afterwards."""
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)


@pytest.fixture
def service(db):
    return make_service(screenshots=3)
