"""What the editors' Convergence pages share: the product lookup (404 for another organisation's product), the
French wording of expected levels and answers, and progress figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import wraps

from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from convergence.models import Criterion, CriterionType, Platform, Product
from convergence.scoring import Readiness
from convergence.selectors import product_for_actor
from mes.acces.policy import role_required
from mes.comptes.models import Role

PLATFORM_PARAM = "plateforme"
YES_NO_NA = {"oui": "Oui", "non": "Non", "na": "Non applicable"}


def editor_view(view: Callable) -> Callable:
    """An editors' page: signed-in editors only (others get 403, visitors sign in)."""
    return role_required(Role.EDITOR)(view)


def product_or_404(request: HttpRequest, product_id) -> Product:
    """The product if the signed-in editor is a member of its organisation; 404 otherwise, exactly as for a product
    that does not exist."""
    try:
        return product_for_actor(request.user, product_id)
    except Product.DoesNotExist:
        raise Http404(_("Ce produit est introuvable.")) from None


def with_product(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, product_id, *args, **kwargs):
        return view(request, product_or_404(request, product_id), *args, **kwargs)

    return wrapper


def platform_label(platform: str) -> str:
    return str(Platform(platform).label) if platform else ""


def number_fr(value) -> str:
    number = Decimal(str(value)).normalize()
    return format(number, "f").replace(".", ",")


def expected_label(criterion: Criterion) -> str:
    """The level expected for Mon espace santé, in French."""
    expected = criterion.expected
    unit = f" {criterion.unit}" if criterion.unit else ""
    if criterion.type == CriterionType.YES_NO_NA:
        text = YES_NO_NA.get(expected, str(expected))
        if criterion.not_applicable_allowed:
            text = _("%(answer)s (ou « Non applicable »)") % {"answer": text}
    elif criterion.type == CriterionType.CHOICE:
        text = _(" ou ").join(f"« {criterion.choice_label(value)} »" for value in expected)
    elif criterion.type == CriterionType.NUMBER:
        low, high = expected.get("min"), expected.get("max")
        if low is not None and high is not None:
            text = _("entre %(min)s et %(max)s%(unit)s") % {"min": number_fr(low), "max": number_fr(high), "unit": unit}
        elif low is not None:
            text = _("au moins %(min)s%(unit)s") % {"min": number_fr(low), "unit": unit}
        else:
            text = _("au plus %(max)s%(unit)s") % {"max": number_fr(high), "unit": unit}
    elif criterion.type == CriterionType.TEXT:
        text = _("réponse renseignée")
    else:
        text = _("fichier de preuve fourni")
    if criterion.evidence_required and criterion.type != CriterionType.EVIDENCE:
        text = _("%(level)s, avec un fichier de preuve") % {"level": text}
    return text


def value_label(criterion: Criterion, value) -> str:
    """An answer as the editor reads it, « non renseignée » when empty."""
    if value is None or value == "":
        return _("non renseignée")
    if criterion.type == CriterionType.YES_NO_NA:
        return YES_NO_NA.get(value, str(value))
    if criterion.type == CriterionType.CHOICE:
        return criterion.choice_label(value)
    if criterion.type == CriterionType.NUMBER:
        unit = f" {criterion.unit}" if criterion.unit else ""
        try:
            return f"{number_fr(value)}{unit}"
        except ArithmeticError:
            return str(value)
    return str(value)


def value_input(criterion: Criterion, value) -> str:
    """An answer as the form field shows it (a number with a decimal comma)."""
    if value is None:
        return ""
    if criterion.type == CriterionType.NUMBER:
        try:
            return number_fr(value)
        except ArithmeticError:
            return str(value)
    return str(value)


def when_label(moment) -> str:
    local = timezone.localtime(moment)
    return _("le %(date)s à %(time)s") % {"date": local.strftime("%d/%m/%Y"), "time": local.strftime("%H:%M")}


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int

    @property
    def percent(self) -> Decimal:
        if not self.total:
            return Decimal("100")
        return (Decimal(100) * self.answered / self.total).quantize(Decimal("1"), rounding=ROUND_HALF_UP)

    def as_json(self) -> dict:
        return {"answered": self.answered, "total": self.total, "percent": int(self.percent)}


def product_progress(readiness: Readiness) -> Progress:
    return Progress(sum(score.answered for score in readiness.scores), sum(score.total for score in readiness.scores))


def questionnaire_progress(readiness: Readiness, questionnaire_pk: int, platform: str) -> Progress:
    for score in readiness.scores:
        if score.questionnaire.pk == questionnaire_pk and score.platform == platform:
            return Progress(score.answered, score.total)
    return Progress(0, 0)


def section_url(product: Product, questionnaire_code: str, section_code: str, platform: str = "") -> str:
    url = reverse(
        "convergence_section",
        kwargs={"product_id": product.public_id, "questionnaire": questionnaire_code, "section": section_code},
    )
    return f"{url}?{PLATFORM_PARAM}={platform}" if platform else url
