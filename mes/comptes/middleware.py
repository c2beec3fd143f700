"""Mandatory second factor for editors, commission members and administrators."""

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.shortcuts import redirect

# Paths a user without a second factor may still open: the enrolment pages themselves, sign-out, assets.
_EXEMPT_PREFIXES = ("/compte/", "/static/", "/healthz", "/accessibilite/", "/jsi18n/")


class MandatoryMfaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and user.role in settings.MFA_REQUIRED_ROLES
            and not request.path.startswith(_EXEMPT_PREFIXES)
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            return redirect("mfa_activate_totp")
        return self.get_response(request)
