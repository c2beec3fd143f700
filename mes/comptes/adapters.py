from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings

from mes.acces.policy import home_url_for
from mes.comptes.secrets_at_rest import secret_decrypt, secret_encrypt


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Accounts are not self-declared: citizens activate their space with the code of their letter,
        # professionals, editors and commission members are registered by an administrator.
        return False

    def get_login_redirect_url(self, request) -> str:
        return home_url_for(request.user)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        # An identity provider signs in an account that was already linked to it; it never creates one.
        return False


class MfaAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        # TOTP keys and recovery-code seeds are encrypted at rest, under keys separate from SECRET_KEY.
        return secret_encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return secret_decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # The second factor is mandatory for some roles: they may replace it, never remove it.
        if authenticator.type == Authenticator.Type.TOTP and authenticator.user.role in settings.MFA_REQUIRED_ROLES:
            return False
        return super().can_delete_authenticator(authenticator)
