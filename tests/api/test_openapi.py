"""The OpenAPI schema builds and validates; Swagger UI and Redoc are served offline and work under the site's CSP."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import resolve
from drf_spectacular.management.commands.spectacular import SchemaGenerationError

from mes.acces.scopes import all_scopes
from mes.api.oauth import TokenView

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"


def csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def nonce_of(response) -> str:
    nonces = [value for value in csp(response)["script-src"] if value.startswith("'nonce-")]
    assert len(nonces) == 1, "the page's script-src carries one nonce"
    return nonces[0].removeprefix("'nonce-").removesuffix("'")


def urls_in(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', html)


def assert_offline(html: str) -> None:
    """No CDN: nothing in the page points outside the site, and every asset it names is a real static file."""
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"'<>]+", html)
    assert "//" not in "".join(url for url in urls_in(html) if not url.startswith("/"))
    assets = [url for url in urls_in(html) if url.startswith("/static/")]
    assert assets
    for url in assets:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file"


def assert_inline_code_is_nonced(html: str, nonce: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" not in tag:
            assert f'nonce="{nonce}"' in tag, tag
    assert " style=" not in html, "no inline style attribute (style-src has no 'unsafe-inline')"


# --- The schema ---


def test_schema_endpoint_builds_openapi_3(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "API Mon espace santé"
    assert "/api/fhir/metadata" in schema["paths"]

    default = client.get("/api/schema/")
    assert default.status_code == 200
    assert default["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(default.content)["paths"].keys() == schema["paths"].keys()


def test_spectacular_validates_without_warnings(tmp_path):
    output = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))
    schema = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    assert "/api/fhir/metadata" in schema["paths"]


def test_spectacular_fails_on_warnings(tmp_path, settings):
    """The check above can fail: an undocumented DRF view makes ``--fail-on-warn`` refuse the schema."""
    settings.ROOT_URLCONF = "tests.api.fhir_test_urls"
    with pytest.raises(SchemaGenerationError, match="warnings"):
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_oauth2_security_scheme_documents_the_served_flow(tmp_path):
    """A bearer-protected FHIR endpoint is documented with the authorization-code flow of /o/."""
    output = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--urlconf", "tests.api.openapi_test_urls", "--file", str(output)
    )
    schema = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert {"oauth2": ["openid"]} in schema["paths"]["/api/fhir/Patient"]["get"]["security"]
    oauth2 = schema["components"]["securitySchemes"]["oauth2"]
    assert oauth2["type"] == "oauth2"
    assert list(oauth2["flows"]) == ["authorizationCode"]
    flow = oauth2["flows"]["authorizationCode"]
    # Every scope the server knows, worded as the consent page words it.
    assert flow["scopes"] == all_scopes()
    assert "patient/Observation.c" in flow["scopes"]
    assert resolve(flow["authorizationUrl"]).url_name == "authorize"
    assert resolve(flow["tokenUrl"]).func.view_class is TokenView
    assert flow["refreshUrl"] == flow["tokenUrl"]


# --- Swagger UI and Redoc, offline ---


def test_swagger_ui_is_served_offline_under_the_strict_csp(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert_offline(html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    nonce = nonce_of(response)
    assert_inline_code_is_nonced(html, nonce)
    assert "SwaggerUIBundle(" in html
    assert "<style" not in html, "style-src is 'self' on this page: no inline <style>"
    # The page keeps the site's CSP unchanged.
    policy = csp(response)
    assert policy["style-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert "worker-src" not in policy


def test_redoc_is_served_offline_with_a_csp_relaxed_for_it_only(client, db):
    response = client.get("/api/redoc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert_offline(html)
    assert "fonts.googleapis.com" not in html
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html
    nonce = nonce_of(response)
    assert_inline_code_is_nonced(html, nonce)
    for tag in re.findall(r"<style\b[^>]*>", html):
        assert f'nonce="{nonce}"' in tag
    given = re.search(r'redocSettings\.nonce = ("[^"]*");', html)
    assert given and json.loads(given.group(1)) == nonce
    policy = csp(response)
    assert policy["style-src"][:2] == ["'self'", f"'nonce-{nonce}'"]
    assert EMPTY_STYLE_HASH in policy["style-src"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-inline'" not in policy["script-src"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["img-src"] == ["'self'", "data:"]


def test_csp_relaxation_does_not_leak_to_other_pages(client, db):
    client.get("/api/redoc/")
    for url in ("/api/docs/", "/accessibilite/"):
        policy = csp(client.get(url))
        assert policy["style-src"] == ["'self'"], url
        assert "worker-src" not in policy, url


# --- In a real browser ---


def _violations_script() -> str:
    return """
      window.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (event) => window.__cspViolations.push(
        event.violatedDirective + " " + event.blockedURI));
    """


def _open(playwright, live_server):
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="fr-FR")
    context.set_default_timeout(10_000)
    context.add_init_script(_violations_script())
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return browser, page, errors


@pytest.fixture
def playwright():
    if not CHROMIUM_PATH.exists():
        pytest.skip(f"Chromium absent ({CHROMIUM_PATH}) : installez le paquet Debian « chromium ».")
    from playwright.sync_api import sync_playwright

    return sync_playwright


@pytest.mark.browser
def test_swagger_ui_works_in_a_browser(playwright, live_server):
    with playwright() as driver:
        browser, page, errors = _open(driver, live_server)
        page.goto("/api/docs/", wait_until="networkidle")
        assert "API Mon espace santé" in page.inner_text(".swagger-ui .info .title")
        # The public CapabilityStatement: the one operation that answers without a token.
        page.locator(".opblock-summary-path", has_text="/api/fhir/metadata").first.click()
        page.click("button:has-text('Try it out')")
        page.click("button:has-text('Execute')")
        status = page.locator(".live-responses-table .response .response-col_status").first
        assert status.inner_text().strip() == "200"
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS_DIR / "api-swagger-ui.png"))
        violations = page.evaluate("window.__cspViolations")
        browser.close()
    assert violations == []
    assert errors == []


@pytest.mark.browser
def test_redoc_works_in_a_browser(playwright, live_server):
    with playwright() as driver:
        browser, page, errors = _open(driver, live_server)
        page.goto("/api/redoc/", wait_until="networkidle")
        assert "API Mon espace santé" in page.inner_text("h1")
        # Redoc's styles are applied (styled-components, by nonce): its three-panel layout is laid out.
        assert page.locator(".menu-content").bounding_box()["width"] > 100
        # Its search runs in a blob: web worker.
        page.fill("input[placeholder='Search...']", "capacit")
        result = page.locator("[data-role='search:results'] [role='menuitem']").first
        result.wait_for()
        assert "CapabilityStatement" in result.inner_text()
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS_DIR / "api-redoc.png"))
        violations = page.evaluate("window.__cspViolations")
        browser.close()
    # Only Redoc's footer logo, hard-wired to cdn.redoc.ly, is blocked (and nothing leaves the browser for it).
    assert violations in ([], ["img-src https://cdn.redoc.ly/redoc/logo-mini.svg"])
    assert errors == []
