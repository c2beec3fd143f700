"""What the browser tests share: viewports, sign-in through the real forms, axe-core and layout checks."""

import re
import time
from pathlib import Path

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from tests.factories import PASSWORD, TOTP_SECRET

BROWSER_DIR = Path(__file__).resolve().parent
AXE_PATH = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS_DIR = BROWSER_DIR.parent.parent / "test-artifacts" / "browser"

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 320, "height": 640}
VIEWPORTS = {"desktop": DESKTOP, "mobile": MOBILE}

# WCAG 2.0, 2.1 and 2.2 levels A and AA, plus axe's best practices: the automatable part of an RGAA 4.1 audit.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

SIGN_IN_BUTTON = re.compile(r"^(Se connecter|Connexion)$")


def current_totp_code() -> str:
    """The code of the current 30 s window; near the end of a window, wait for the next one."""
    if 30 - time.time() % 30 < 3:
        time.sleep(30 - time.time() % 30 + 0.1)
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30))


def sign_in(page, email: str, *, totp: bool = False, password: str = PASSWORD, succeeds: bool = True) -> None:
    """Sign in through the real form, then the second-factor form when the account has one; unless told
    the attempt fails, wait until the browser has left the sign-in pages."""
    page.goto("/compte/login/")
    page.get_by_label(re.compile(r"^(courriel|adresse (e-mail|électronique))", re.IGNORECASE)).fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).fill(password)
    page.get_by_role("main").get_by_role("button", name=SIGN_IN_BUTTON).click()
    if totp:
        page.wait_for_url("**/compte/2fa/authenticate/")
        page.get_by_label(re.compile(r"^Code")).fill(current_totp_code())
        page.get_by_role("main").get_by_role("button", name=SIGN_IN_BUTTON).click()
    if succeeds:
        page.wait_for_url(lambda url: "/compte/login/" not in url and "/compte/2fa/authenticate/" not in url)
    else:
        page.wait_for_load_state()


def run_axe(page, axe_source: str) -> list[dict]:
    """axe-core's violations on the page as it stands (evaluated through the DevTools protocol, so the
    site's Content-Security-Policy, which only runs scripts bearing its nonce, is left untouched)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    return page.evaluate(
        """async (tags) => {
            const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
            const results = await axe.run(document, options);
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}) : {violation['help']} — {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))} : {node['html'][:200]}")
            if node["summary"]:
                lines.extend(f"      {line}" for line in node["summary"].splitlines())
    return "\n".join(lines)


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


# DSFR cards and tiles lay their content out with flex `order`: a child without a DSFR class is drawn before
# the title. Report every visible child drawn above the one before it in the DOM (.fr-card__start excepted:
# the DSFR places it after the title in the DOM and draws it above on purpose).
_READING_ORDER_JS = """() => {
    const problems = [];
    for (const box of document.querySelectorAll(".fr-card__content, .fr-tile__content")) {
        let previous = null;
        for (const child of box.children) {
            if (child.classList.contains("fr-card__start") || child.classList.contains("fr-tile__start")) continue;
            const rect = child.getBoundingClientRect();
            if (!rect.height) continue;
            if (previous && rect.top < previous.rect.top - 1) {
                problems.push(`${child.outerHTML.slice(0, 80)} est affiché avant ${previous.html}`);
            }
            previous = {rect, html: child.outerHTML.slice(0, 80)};
        }
    }
    return problems;
}"""


def reading_order_problems(page) -> list[str]:
    return page.evaluate(_READING_ORDER_JS)
