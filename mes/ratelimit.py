"""Rate limits of the forms that guess a secret (a letter's code, an access code, a password), on allauth's limiter.

Going through allauth's limiter rather than a counter of our own keeps one cache, one notation for rates and one
reading of the client's address (behind the proxies allauth is told about) for the sign-in forms and ours.
"""

from allauth.core.internal import ratelimit
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest


def rate_limited(request: HttpRequest, *, app: str, action: str, default: str | None = None) -> bool:
    """Count one attempt of ``action`` and say whether it is over the limit (the caller then answers 429).

    The rates are the setting ``<ACTION>_RATE_LIMIT`` (e.g. ``ACCESS_CODE_RATE_LIMIT`` for ``access_code``), else
    ``default``, in allauth's notation: ``"20/15m/user,60/15m/ip"`` allows 20 attempts per account and 60 per IP
    address in any 15 minutes; the attempt is refused as soon as one of them is exceeded. ``app`` and ``action`` name
    the counters, so two forms never share one. A GET request is never counted (allauth's rule): only submissions.
    With neither a setting nor a default the configuration is wrong, and it fails loudly rather than open.
    """
    rate = getattr(settings, f"{action.upper()}_RATE_LIMIT", default)
    if not rate:
        raise ImproperlyConfigured(f"Aucune limite pour « {action} » : réglez {action.upper()}_RATE_LIMIT.")
    return ratelimit.consume(request, app=app, action=action, config={action: rate}) is None
