"""Bearer-token authentication of the paired apps, in one query.

Every API call needs the token, its account, its app and the active pairing of that account with that app. The
toolkit's resource-server path loads the token (with its account and client) and the access policy then loads the
pairing: two queries and four model instances before any work. Here one SQL statement joins the token (found by its
SHA-256 checksum, the toolkit's lookup column) to the pairing, the habilitation and the person, and the instances are
built from that row. The token rules are the toolkit's: the token must not be expired, and a token restricted to
resources (RFC 8707) must name this API. A valid token without an active pairing (revoked since) authenticates,
and is then refused by the access policy with a 403, as a consent withdrawn (the revocation deletes the tokens
too, so this is the case of a token issued in the instant of the revocation).
"""

import hashlib
from dataclasses import dataclass

from django.db import connection
from oauth2_provider.models import AccessToken
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from mes.acces.models import AppHabilitation, Pairing
from mes.comptes.models import Citizen, Role, User

_TOKEN_FIELDS = ("id", "expires", "scope", "resource", "application_id", "user_id")


def _columns(model, alias: str) -> tuple[list[str], str]:
    names = [field.attname for field in model._meta.concrete_fields]
    return names, ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


_PAIRING, _PAIRING_SQL = _columns(Pairing, "p")
_HABILITATION, _HABILITATION_SQL = _columns(AppHabilitation, "h")
_CITIZEN, _CITIZEN_SQL = _columns(Citizen, "c")
_USER, _USER_SQL = _columns(User, "u")
# attname → field name, for the fields whose database value needs converting.
_NAMES = {
    model: {field.attname for field in model._meta.concrete_fields if field.attname == field.name}
    for model in (AccessToken, Pairing, AppHabilitation, Citizen, User)
}
_TOKEN_SQL = ", ".join(f't."{AccessToken._meta.get_field(name).column}"' for name in _TOKEN_FIELDS)

_SQL = f"""
SELECT {_TOKEN_SQL}, {_PAIRING_SQL}, {_HABILITATION_SQL}, {_CITIZEN_SQL}, {_USER_SQL}
FROM {AccessToken._meta.db_table} t
JOIN {User._meta.db_table} u ON u.id = t.user_id
JOIN {Citizen._meta.db_table} c ON c.user_id = u.id
LEFT JOIN {AppHabilitation._meta.db_table} h ON h.application_id = t.application_id
LEFT JOIN {Pairing._meta.db_table} p ON p.citizen_id = c.id AND p.habilitation_id = h.id AND p.revoked_at IS NULL
WHERE t.token_checksum = %s
"""  # noqa: S608 - table and column names come from the models; the checksum is a query parameter


@dataclass(frozen=True)
class AppToken:
    """What ``request.auth`` holds for a paired app: its token's scopes and client, and the pairing behind it."""

    token_id: int
    application_id: int
    scope: str
    pairing: Pairing | None


_CONVERTERS: dict[tuple, list] = {}


def _converted(model, names: list[str], values) -> list:
    """The values as the ORM would give them (a raw cursor leaves e.g. JSON text as text)."""
    key = (model, tuple(names))
    converters = _CONVERTERS.get(key)
    if converters is None:
        # Which columns need converting, worked out once per model and column list.
        converters = _CONVERTERS[key] = [
            (index, model._meta.get_field(name))
            for index, name in enumerate(names)
            if name in _NAMES[model] and hasattr(model._meta.get_field(name), "from_db_value")
        ]
    converted = list(values)
    for index, field in converters:
        if converted[index] is not None:
            converted[index] = field.from_db_value(converted[index], None, connection)
    return converted


def _instance(model, names: list[str], values) -> object:
    return model.from_db(connection.alias, names, _converted(model, names, values))


def _bearer(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class PairedAppAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` of a paired app → (the person's account, ``AppToken``); else no one."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request):
        raw = _bearer(request)
        if raw is None:
            return None
        checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
        with connection.cursor() as cursor:
            cursor.execute(_SQL, [checksum])
            row = cursor.fetchone()
        if row is None:
            request._request.bearer_error = "invalid_token"
            return None
        values = list(row)
        token_values = values[: len(_TOKEN_FIELDS)]
        del values[: len(_TOKEN_FIELDS)]
        parts = []
        for names in (_PAIRING, _HABILITATION, _CITIZEN, _USER):
            parts.append(values[: len(names)])
            del values[: len(names)]
        token = AccessToken(
            **dict(zip(_TOKEN_FIELDS, _converted(AccessToken, list(_TOKEN_FIELDS), token_values), strict=True))
        )
        user = _instance(User, _USER, tuple(parts[3]))
        if token.is_expired() or not user.is_active or user.role != Role.CITIZEN:
            request._request.bearer_error = "invalid_token"
            return None
        if token.resource and not token.allows_audience(request.build_absolute_uri().split("?")[0]):
            request._request.bearer_error = "invalid_token"
            return None
        pairing = None
        if parts[0][0] is not None:
            pairing = _instance(Pairing, _PAIRING, tuple(parts[0]))
            pairing.habilitation = _instance(AppHabilitation, _HABILITATION, tuple(parts[1]))
            citizen = _instance(Citizen, _CITIZEN, tuple(parts[2]))
            citizen.user = user
            pairing.citizen = citizen
        return user, AppToken(
            token_id=token.id, application_id=token.application_id, scope=token.scope or "", pairing=pairing
        )

    def authenticate_header(self, request: Request) -> str:
        error = getattr(request._request, "bearer_error", None)
        if error:
            return f'Bearer realm="{self.www_authenticate_realm}",error="{error}"'
        return f'Bearer realm="{self.www_authenticate_realm}"'
