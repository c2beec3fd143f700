"""The routes of the exports, the templates and the statistics page, as the site mounts them.

``urlpatterns`` is a URL configuration for the tests of these pages (``pytest.mark.urls``): the site's own, with
the exports and the statistics mounted first at their final paths, so that the pages are tested whatever the
order of the includes. The tests below check that the site's own configuration sends these paths to these views.
"""

import uuid

import pytest
from django.urls import include, path, resolve

from convergence import views_exports
from mes.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("editeurs/convergence/", include("convergence.urls_exports")),
    path("gestion/convergence/", include("convergence.urls_admin")),
    *site_urlpatterns,
]

# Fixed, so that the test ids are the same in every collection (parallel runs compare them).
PRODUCT = uuid.UUID("6f1c2a8e-3b7d-4c1e-9a52-0d4e8b7f2c31")


@pytest.mark.parametrize(
    ("url", "view"),
    [
        (f"/editeurs/convergence/{PRODUCT}/export.json", views_exports.export_json_download),
        (f"/editeurs/convergence/{PRODUCT}/export.pdf", views_exports.export_pdf_download),
        (f"/editeurs/convergence/{PRODUCT}/export.csv", views_exports.export_csv_download),
        (f"/editeurs/convergence/{PRODUCT}/rgpd/modele.xlsx", views_exports.template_download),
        (f"/editeurs/convergence/{PRODUCT}/rgpd/modele/", views_exports.template_upload),
    ],
)
def test_the_site_sends_the_editors_paths_to_these_views(url, view):
    assert resolve(url).func is view


def test_the_site_sends_the_statistics_path_to_its_view():
    assert resolve("/gestion/convergence/").func is views_exports.statistics
