"""The OAuth2 and OpenID Connect server of the API, restricted along RFC 9700 (OAuth 2.0 Security BCP).

Only the authorization-code grant (with PKCE, S256 only) and the refresh-token grant are served: the implicit,
hybrid, resource-owner password, client-credentials and device-code grants do not exist here, ``response_type``
must be exactly ``code`` and ``plain`` PKCE challenges are refused. Redirect URIs are matched exactly
(django-oauth-toolkit's default, wildcards disabled in settings), and never defaulted: both the authorization and
the token request must name the same one; refresh tokens rotate and a reused one revokes
its family (``REFRESH_TOKEN_REUSE_PROTECTION``); an authorization code presented a second time revokes the tokens
issued from it (RFC 6749 §4.1.2). ``mes.api.oauth_urls`` exposes only the endpoints this needs.

OpenID Connect rides on the same code grant: with the ``openid`` scope the token response carries an id_token
whose ``sub`` is the person's pairwise idPe for that app (``mes.acces.models.Pairing``), never an account id.
Scopes are bounded by the app's habilitation (``mes.acces.scopes``): a scope it was not approved at référencement
is refused as ``invalid_scope`` before the citizen sees anything.
"""

import hashlib
import json

from django.core.cache import cache
from django.http import JsonResponse
from django.utils.translation import gettext_lazy
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import ConnectDiscoveryInfoView
from oauth2_provider.views import TokenView as ToolkitTokenView
from oauthlib.oauth2 import WebApplicationServer
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.openid.connect.core.endpoints.userinfo import UserInfoEndpoint
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant as OpenIDAuthorizationCodeGrant
from oauthlib.openid.connect.core.grant_types import RefreshTokenGrant as OpenIDRefreshTokenGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import (
    AuthorizationCodeGrantDispatcher,
    AuthorizationTokenGrantDispatcher,
)

from mes.acces import scopes as app_scopes
from mes.acces.journal import register_action
from mes.acces.models import AppHabilitation
from mes.acces.policy import AppActor, app_pairing
from mes.acces.services import journal_append
from mes.comptes.models import Citizen

# A paired app presented a refresh token that is revoked (consent withdrawn, suspension, rotation replayed): the
# refusal is journaled, like the API's (``mes.api.app_views.API_REFUSED``), under the person and the app.
RENEWAL_REFUSED = "api.jeton.refuse"
register_action(RENEWAL_REFUSED, gettext_lazy("Renouvellement d’accès refusé à un service connecté"))


def _only_code_response_type(request) -> dict:
    # oauthlib lets "code token", "code id_token"... through to the code grant; none of them is served here.
    # Runs after client_id and redirect_uri are validated, so the error is safely redirected to the client.
    if request.response_type is not None and request.response_type != "code":
        raise errors.UnsupportedResponseTypeError(request=request)
    return {}


class S256AuthorizationCodeGrant(AuthorizationCodeGrant):
    _code_challenge_methods = {"S256": code_challenge_method_s256}

    def __init__(self, request_validator=None, **kwargs):
        super().__init__(request_validator, **kwargs)
        self.custom_validators.pre_auth.append(_only_code_response_type)


class S256OpenIDAuthorizationCodeGrant(OpenIDAuthorizationCodeGrant):
    """The OpenID Connect code grant over the S256-only code grant."""

    def __init__(self, request_validator=None, **kwargs):
        self.proxy_target = S256AuthorizationCodeGrant(request_validator=request_validator, **kwargs)
        self.custom_validators.post_auth.append(self.openid_authorization_validator)
        self.register_token_modifier(self.add_id_token)


class Server(WebApplicationServer, UserInfoEndpoint):
    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **kwargs)
        UserInfoEndpoint.__init__(self, request_validator)
        self.auth_grant = S256AuthorizationCodeGrant(request_validator)
        self.openid_auth_grant = S256OpenIDAuthorizationCodeGrant(request_validator)
        self._response_types = {
            "code": AuthorizationCodeGrantDispatcher(default_grant=self.auth_grant, oidc_grant=self.openid_auth_grant)
        }
        self._grant_types["authorization_code"] = AuthorizationTokenGrantDispatcher(
            request_validator, default_grant=self.auth_grant, oidc_grant=self.openid_auth_grant
        )
        self._grant_types["refresh_token"] = OpenIDRefreshTokenGrant(request_validator)


# How long a redeemed authorization code is remembered, to detect its replay (the code itself lives 60 s).
USED_CODE_MEMORY_SECONDS = 24 * 3600


def _used_code_key(code: str) -> str:
    return "mes:oauth:used-code:" + hashlib.sha256(code.encode()).hexdigest()


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _habilitation(client) -> AppHabilitation | None:
    return AppHabilitation.objects.filter(application=client).first() if client is not None else None


def _active(client) -> bool:
    habilitation = _habilitation(client)
    return habilitation is not None and habilitation.is_active


def _trace_refused_refresh(refresh_token: str, client) -> None:
    """Journal a refused refresh when it names a person: a revoked refresh token of this very app (an unknown token,
    or another app's, names nobody and is left out)."""
    row = (
        get_refresh_token_model()
        .objects.filter(token_checksum=_checksum(refresh_token), application=client, revoked__isnull=False)
        .values_list("user_id", flat=True)
        .first()
    )
    habilitation = _habilitation(client)
    if row is None or habilitation is None:
        return
    citizen = Citizen.objects.filter(user_id=row).first()
    journal_append(
        actor=AppActor(habilitation),
        action=RENEWAL_REFUSED,
        citizen=citizen,
        details={"motif": "refresh token revoked"},
    )


class Validator(OAuth2Validator):
    def is_pkce_required(self, client_id, request) -> bool:
        # Every client, confidential or public, must use PKCE (RFC 9700 §2.1.1).
        return True

    def get_default_redirect_uri(self, client_id, request, *args, **kwargs) -> None:
        # No redirect URI is ever filled in for the client: the authorization request must name one (matched
        # exactly), and the token request must repeat it (RFC 6749 §4.1.3). Without this, oauthlib would take the
        # client's first registered URI when ``redirect_uri`` is left out of the token request, and exchange the
        # code without that check.
        return None

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        """A suspended app gets no token at all (code exchange or refresh): ``invalid_client``."""
        return super().authenticate_client(request, *args, **kwargs) and _active(request.client)

    def authenticate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        return super().authenticate_client_id(client_id, request, *args, **kwargs) and _active(request.client)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        """Only the scopes approved for the app at référencement (letter by letter), while it is not suspended."""
        habilitation = _habilitation(client)
        if habilitation is None or not habilitation.is_active:
            return False
        approved = [app_scopes.OPENID, *habilitation.approved_scopes]
        return all(app_scopes.covered(scope, approved) for scope in scopes)

    def get_claim_dict(self, request) -> dict:
        """The id_token says who the person is for this app only: their pairwise idPe, nothing else."""
        pairing = app_pairing(user=request.user, application=request.client)
        return {"sub": pairing.idpe if pairing is not None else ""}

    def get_discovery_claims(self, request) -> list[str]:
        return ["sub"]

    def save_bearer_token(self, token, request, *args, **kwargs):
        super().save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code" and token.get("refresh_token"):
            # Remember which token family the code opened (only a hash of the code is kept).
            family = (
                get_refresh_token_model()
                .objects.filter(token_checksum=_checksum(token["refresh_token"]))
                .values_list("token_family", flat=True)
                .first()
            )
            if family:
                cache.set(_used_code_key(request.code), str(family), USED_CODE_MEMORY_SECONDS)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        if super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return True
        _trace_refused_refresh(refresh_token, client)
        return False

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            return True
        family = cache.get(_used_code_key(code))
        if family:
            # A code presented twice has leaked: the tokens issued from it are revoked (RFC 6749 §4.1.2,
            # RFC 9700 §4.5), whatever the rotations since, as the family carries over refreshes.
            get_refresh_token_model().revoke_family(family)
            cache.delete(_used_code_key(code))
        return False


class TokenView(ToolkitTokenView):
    """The toolkit's token endpoint without its device-code shortcut.

    The toolkit answers ``grant_type=urn:ietf:params:oauth:grant-type:device_code`` itself, before the server
    is asked (and fails with a 500 when ``device_code`` is missing); here every grant type goes to ``Server``,
    which refuses the ones it does not serve with ``unsupported_grant_type``.
    """

    def post(self, request, *args, **kwargs):
        return self.authorization_flow_token_response(request)


class HabilitationScopes:
    """The toolkit's catalogue of scopes: every SMART scope the API knows; for one app, those approved for it."""

    def get_all_scopes(self) -> dict[str, str]:
        return app_scopes.all_scopes()

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        habilitation = _habilitation(application)
        if habilitation is None or not habilitation.is_active:
            return []
        return [app_scopes.OPENID, *habilitation.approved_scopes]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return []


class DiscoveryView(ConnectDiscoveryInfoView):
    """OpenID Connect discovery, saying only what is served: RS256 id_tokens, the SMART scopes, ``prompt=login``."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["id_token_signing_alg_values_supported"] = ["RS256"]
        data["scopes_supported"] = list(app_scopes.all_scopes())
        data["prompt_values_supported"] = ["login"]
        data["grant_types_supported"] = ["authorization_code", "refresh_token"]
        answer = JsonResponse(data)
        answer["Access-Control-Allow-Origin"] = "*"
        return answer
