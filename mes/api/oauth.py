"""The OAuth2 server of the API, restricted along RFC 9700 (OAuth 2.0 Security Best Current Practice).

Only the authorization-code grant (with PKCE, S256 only) and the refresh-token grant are served: the implicit
and resource-owner password grants do not exist here, and ``plain`` PKCE challenges are refused. Redirect URIs
are matched exactly (django-oauth-toolkit's default, wildcards disabled in settings); refresh tokens rotate and
a reused one revokes its family (``REFRESH_TOKEN_REUSE_PROTECTION``).
"""

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2 import WebApplicationServer
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256


class S256AuthorizationCodeGrant(AuthorizationCodeGrant):
    _code_challenge_methods = {"S256": code_challenge_method_s256}


class Server(WebApplicationServer):
    def __init__(self, request_validator, *args, **kwargs):
        super().__init__(request_validator, *args, **kwargs)
        self.auth_grant = S256AuthorizationCodeGrant(request_validator)
        self._response_types = {"code": self.auth_grant}
        self._grant_types["authorization_code"] = self.auth_grant


class Validator(OAuth2Validator):
    def is_pkce_required(self, client_id, request) -> bool:
        # Every client, confidential or public, must use PKCE (RFC 9700 §2.1.1).
        return True
