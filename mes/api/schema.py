"""OpenAPI: the paired apps' bearer authentication is the OAuth2 scheme of ``/o/`` (authorization code + PKCE)."""

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme


class PairedAppScheme(DjangoOAuthToolkitScheme):
    """Same security scheme as the toolkit's; a view's ``TokenHasScope`` names its scopes, else the SMART scope each
    operation needs is in its description."""

    target_class = "mes.api.authentication.PairedAppAuthentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema):
        return super().get_security_requirement(auto_schema) or {self.name: []}
