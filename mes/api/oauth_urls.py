"""The OAuth2 endpoints of the API, mounted under ``/o/`` in the ``oauth2_provider`` namespace.

Only what the authorization-code flow needs: the toolkit's other views are left out on purpose. Its
application-management pages would let any signed-in user register a client (services are registered through
référencement only); device flow, dynamic registration, OpenID Connect and token introspection (no external
resource server) are not offered either. OpenID Connect serves its discovery document and its keys, for
the id_token, and a userinfo endpoint that says no more than the id_token (the pairwise ``sub``).
"""

from django.urls import path
from oauth2_provider import views

from mes.api.authorize import PairingAuthorizationView
from mes.api.oauth import DiscoveryView, TokenView

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", PairingAuthorizationView.as_view(), name="authorize"),
    path("token/", TokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    # RFC 8414 metadata, under the issuer ("/o"), so that it matches the RFC 9207 `iss` of authorization responses.
    path(
        ".well-known/oauth-authorization-server",
        views.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
    path(".well-known/openid-configuration", DiscoveryView.as_view(), name="oidc-connect-discovery-info"),
    path(".well-known/jwks.json", views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", views.UserInfoView.as_view(), name="user-info"),
]
