from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from mes.api.patient import PatientInstanceView
from mes.api.transaction import TransactionView
from mes.api.views import CapabilityStatementView

# What Redoc needs beyond the site's CSP, on its page only (templates/drf_spectacular/redoc.html):
REDOC_CSP = {
    "style-src": [
        # the <style> elements it injects (styled-components), given the page's nonce by the template;
        NONCE,
        # the one it injects before it knows the nonce (perfect-scrollbar's CSS, bundled by
        # drf-spectacular-sidecar's redoc.standalone.js), first empty then filled: exactly these two texts.
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ],
    # Its search index runs in a web worker that it starts from a blob: URL.
    "worker-src": [SELF, "blob:"],
}

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("redoc/", csp_update(REDOC_CSP)(SpectacularRedocView.as_view(url_name="api_schema")), name="api_redoc"),
    path("fhir/metadata", CapabilityStatementView.as_view(), name="fhir_metadata"),
    path("fhir/", TransactionView.as_view(), name="fhir_transaction"),
    path("fhir/Patient/<str:idpe>", PatientInstanceView.as_view(), name="fhir_patient"),
]
