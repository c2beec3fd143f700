#!/usr/bin/env python3
"""Client de référence d'un service référencé auprès de Mon espace santé.

Un petit service tiers, sans aucune dépendance (bibliothèque standard de Python 3.11 seulement), qui fait tout ce
que décrit docs/api.md :

1. construit l'adresse d'autorisation (code d'autorisation + PKCE S256, ``state``, ``nonce``, ``external_id``) ;
2. reçoit le retour de l'usager sur son URI de redirection : ``finish(url_de_retour)``, que l'application appelle
   depuis la route de son URI de redirection (les tests lui passent l'en-tête ``Location`` de la page de
   consentement) ; en ligne de commande, un petit serveur HTTPS sur la boucle locale ou un copier-coller ;
3. échange le code sur ``/o/token/``, vérifie ``state`` et ``iss``, vérifie l'id_token (signature RS256 avec les clés
   publiques du serveur, émetteur, audience, expiration, ``nonce``) et en lit ``sub`` : l'idPe, l'identifiant
   pseudonyme de la personne pour ce service ;
4. envoie une mesure de poids en Bundle « transaction » (Observation + Device, sujet = idPe, ``meta.source`` = OID
   de l'éditeur, ``meta.profile``) avec une clé d'idempotence ;
5. relit ses mesures de poids en suivant les liens ``next`` ;
6. renouvelle les jetons (rotation : le nouveau jeton de rafraîchissement remplace l'ancien, toujours).

Usage : ``python docs/examples/reference_client.py --help``.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import secrets
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

FHIR_JSON = "application/fhir+json"
# How the person is named in FHIR resources: by the idPe this service received (the id_token's ``sub``).
IDPE_SYSTEM = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2560"
WEIGHT_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/FrObservationBodyWeight"
LOINC = "http://loinc.org"
WEIGHT_LOINC = "29463-7"
UCUM = "http://unitsofmeasure.org"
DEFAULT_SCOPE = "openid patient/Observation.crs"
# Clock difference tolerated between this service and the server when checking the id_token's dates.
CLOCK_SKEW_SECONDS = 60
# The access token is renewed this long before it expires, so that a call never leaves with a dying token.
EXPIRY_MARGIN_SECONDS = 30
# RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §9.2): the DER prefix of the DigestInfo that wraps the hash.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class ClientError(Exception):
    """Something this service must not go on with (the message says what, in French)."""


class OAuthError(ClientError):
    """An OAuth2 error answered by the server (``error`` and ``error_description``, RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, description: str = ""):
        super().__init__(f"{status} {error}" + (f" : {description}" if description else ""))
        self.status = status
        self.error = error
        self.description = description


class ApiError(ClientError):
    """An error of the FHIR API: the HTTP status and the OperationOutcome's issues."""

    def __init__(self, status: int, outcome: dict | None):
        self.status = status
        self.outcome = outcome or {}
        self.issues = [issue for issue in self.outcome.get("issue", []) if isinstance(issue, dict)]
        details = " ; ".join(
            issue.get("diagnostics", "") + (f" ({', '.join(issue['expression'])})" if issue.get("expression") else "")
            for issue in self.issues
        )
        super().__init__(f"HTTP {status}" + (f" : {details}" if details else ""))


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body.decode("utf-8")) if self.body else {}


@dataclass
class PendingAuthorization:
    """What the service keeps between sending the person to the server and their return (per ``state``)."""

    code_verifier: str
    nonce: str
    external_id: str


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float
    scope: list[str]
    # Whose tokens these are: this service's own identifier of the person, and the idPe Mon espace santé gave.
    external_id: str
    idpe: str | None = None


# --- Building blocks -------------------------------------------------------------------------------------------


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_pair() -> tuple[str, str]:
    """A code verifier (86 characters, RFC 7636 §4.1) and its S256 challenge (§4.2)."""
    verifier = secrets.token_urlsafe(64)
    return verifier, b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def http_request(
    method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None, timeout: float = 10.0
) -> Response:
    """One HTTP exchange, without following redirects (a token must never follow a redirect elsewhere)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=ssl.create_default_context())
    elif parts.scheme == "http":
        connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    else:
        raise ClientError(f"Adresse refusée (ni http ni https) : {url}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request(method, target, body=body, headers=headers or {})
        answer = connection.getresponse()
        return Response(answer.status, {name.lower(): value for name, value in answer.getheaders()}, answer.read())
    finally:
        connection.close()


def rs256_signature_valid(signing_input: bytes, signature: bytes, jwk: dict) -> bool:
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 §8.2.2), from the public key's JWK (``n``, ``e``).

    No cryptography library is needed to *verify* an RSA signature: it is one modular exponentiation, then a
    comparison with the padding the signer must have produced.
    """
    if jwk.get("kty") != "RSA" or not jwk.get("n") or not jwk.get("e"):
        return False
    modulus = int.from_bytes(b64url_decode(jwk["n"]), "big")
    exponent = int.from_bytes(b64url_decode(jwk["e"]), "big")
    size = (modulus.bit_length() + 7) // 8
    value = int.from_bytes(signature, "big")
    if len(signature) != size or value >= modulus:
        return False
    encoded = pow(value, exponent, modulus).to_bytes(size, "big")
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    if size < len(digest_info) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


def id_token_claims(
    id_token: str, *, keys: list[dict], issuer: str, audience: str, nonce: str | None, now: float | None = None
) -> dict:
    """The claims of an id_token after checking it as OpenID Connect Core §3.1.3.7 asks.

    Signature (RS256, with the server's key named by ``kid``), issuer, audience (this service's client_id),
    expiration and nonce. The id_token comes straight from the token endpoint over TLS, so §3.1.3.7 allows
    trusting it without the signature check; checking it anyway costs nothing here and protects an id_token that
    is later handed from one component of the service to another.
    """
    try:
        header_part, payload_part, signature_part = id_token.split(".")
        header = json.loads(b64url_decode(header_part))
        claims = json.loads(b64url_decode(payload_part))
        signature = b64url_decode(signature_part)
    except ValueError as error:
        raise ClientError(f"id_token illisible : {error}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ClientError("id_token illisible : en-tête et contenu doivent être des objets JSON.")
    if header.get("alg") != "RS256":
        raise ClientError(f"id_token : algorithme inattendu {header.get('alg')!r} (RS256 attendu).")
    candidates = [key for key in keys if key.get("kid") == header.get("kid")] if header.get("kid") else keys
    signing_input = f"{header_part}.{payload_part}".encode("ascii")
    if not any(rs256_signature_valid(signing_input, signature, key) for key in candidates):
        raise ClientError("id_token : signature invalide pour les clés publiées par le serveur.")
    now = time.time() if now is None else now
    audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
    if claims.get("iss") != issuer:
        raise ClientError(f"id_token : émetteur {claims.get('iss')!r} au lieu de {issuer!r}.")
    if audience not in audiences:
        raise ClientError("id_token : il n'est pas destiné à ce service (aud).")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - CLOCK_SKEW_SECONDS:
        raise ClientError("id_token expiré.")
    if nonce is not None and claims.get("nonce") != nonce:
        raise ClientError("id_token : nonce différent de celui de la demande (rejeu possible).")
    if not claims.get("sub"):
        raise ClientError("id_token sans sub.")
    return claims


# --- The client ------------------------------------------------------------------------------------------------


class ReferenceClient:
    """A referenced service talking to Mon espace santé for one person at a time.

    ``client_secret`` is ``None`` for a public client (a mobile app): it then authenticates with PKCE alone.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        oid: str,
        timeout: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.oid = oid.removeprefix("urn:oid:")
        self.timeout = timeout
        self.tokens: Tokens | None = None
        self._pending: dict[str, PendingAuthorization] = {}
        self._configuration: dict | None = None
        self._keys: list[dict] | None = None

    # Discovery -----------------------------------------------------------------------------------------------

    @property
    def configuration(self) -> dict:
        """The OpenID Connect discovery document: the endpoints and the issuer, read once."""
        if self._configuration is None:
            answer = self._get_json(f"{self.base_url}/o/.well-known/openid-configuration")
            for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not answer.get(name):
                    raise ClientError(f"Document de découverte incomplet : {name} manquant.")
            self._configuration = answer
        return self._configuration

    def signing_keys(self, *, reload: bool = False) -> list[dict]:
        if self._keys is None or reload:
            self._keys = self._get_json(self.configuration["jwks_uri"]).get("keys", [])
        return self._keys

    # 1. Authorization request ------------------------------------------------------------------------------------

    def authorization_url(self, *, external_id: str, scope: str = DEFAULT_SCOPE) -> str:
        """Where to send the person's browser. ``external_id`` is this service's own identifier of the person."""
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._pending[state] = PendingAuthorization(verifier, nonce, external_id)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "external_id": external_id,
            }
        )
        return f"{self.configuration['authorization_endpoint']}?{query}"

    # 2-3. Return on the redirect URI, code exchange, id_token ------------------------------------------------

    def finish(self, redirected_url: str) -> Tokens:
        """Handle the person's return on the redirect URI (the full URL, with its query) and get the tokens."""
        parts = urlsplit(redirected_url)
        expected = urlsplit(self.redirect_uri)
        if (parts.scheme, parts.netloc, parts.path) != (expected.scheme, expected.netloc, expected.path):
            raise ClientError(f"Retour sur une adresse qui n'est pas l'URI de redirection : {redirected_url}")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        pending = self._pending.pop(query.get("state", ""), None)
        if pending is None:
            # Unknown or reused state: this return was not started here (CSRF, RFC 6749 §10.12).
            raise ClientError("Paramètre state inconnu : ce retour ne correspond à aucune demande de ce service.")
        # RFC 9207: the response names the server that issued it, which defeats mix-up attacks (a code from
        # another server sent here). A server that announces ``iss`` must send it with a code; Mon espace santé
        # sends it with every code, but not always with an error, which carries nothing to steal.
        issuer, returned_issuer = self.configuration["issuer"], query.get("iss")
        if returned_issuer is not None and returned_issuer != issuer:
            raise ClientError(f"Paramètre iss inattendu : {returned_issuer!r} au lieu de {issuer!r}.")
        if "error" in query:
            raise OAuthError(302, query["error"], query.get("error_description", ""))
        if returned_issuer is None and self.configuration.get("authorization_response_iss_parameter_supported"):
            raise ClientError("Paramètre iss absent du retour, alors que le serveur annonce l'envoyer.")
        if not query.get("code"):
            raise ClientError("Retour sans code d'autorisation.")
        answer = self._token_request(
            {
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": self.redirect_uri,
                "code_verifier": pending.code_verifier,
            }
        )
        idpe = None
        if "id_token" in answer:
            claims = self._verified_claims(answer["id_token"], nonce=pending.nonce)
            idpe = claims["sub"]
        self.tokens = self._tokens_from(answer, external_id=pending.external_id, idpe=idpe)
        return self.tokens

    def refresh(self) -> Tokens:
        """New tokens. The refresh token rotates: the new one replaces the old, which is now dead — presenting it
        again would revoke every token of this authorization (RFC 9700 §4.14.2)."""
        if self.tokens is None:
            raise ClientError("Aucun jeton : l'appariement n'a pas eu lieu.")
        answer = self._token_request({"grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token})
        idpe = self.tokens.idpe
        if "id_token" in answer:
            sub = self._verified_claims(answer["id_token"], nonce=None)["sub"]
            if idpe is not None and sub != idpe:
                raise ClientError("Le renouvellement désigne une autre personne (sub différent).")
            idpe = sub
        self.tokens = self._tokens_from(answer, external_id=self.tokens.external_id, idpe=idpe)
        return self.tokens

    # 4. Writing a measure --------------------------------------------------------------------------------------

    def weight_bundle(
        self,
        kilograms: float,
        *,
        measured_at: datetime,
        device_id: str,
        entry_seed: str,
        device_name: str = "Balance connectée",
    ) -> dict:
        """The transaction Bundle of one weight: the Observation and the scale that measured it.

        The entries' ``fullUrl`` are derived from ``entry_seed`` (the request's Idempotency-Key), so that the same
        measure sent again with the same key is the same body, byte for byte: the server recognises the retry.
        """
        if self.tokens is None or not self.tokens.idpe:
            raise ClientError("idPe inconnu : demandez le scope openid lors de l'appariement.")
        if measured_at.tzinfo is None:
            raise ClientError("La date de la mesure doit porter son fuseau horaire.")
        device_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, entry_seed + '/Device')}"
        observation_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, entry_seed + '/Observation')}"
        device_identifier = {"system": f"urn:oid:{self.oid}", "value": device_id}
        observation = {
            "resourceType": "Observation",
            "meta": {"profile": [WEIGHT_PROFILE], "source": f"urn:oid:{self.oid}"},
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": LOINC, "code": WEIGHT_LOINC, "display": "Body weight"}]},
            "subject": {"identifier": {"system": IDPE_SYSTEM, "value": self.tokens.idpe}},
            "effectiveDateTime": measured_at.isoformat(timespec="seconds"),
            "valueQuantity": {"value": kilograms, "unit": "kg", "system": UCUM, "code": "kg"},
            "device": {"reference": device_url},
        }
        device = {
            "resourceType": "Device",
            "identifier": [device_identifier],
            "deviceName": [{"name": device_name, "type": "user-friendly-name"}],
        }
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": device_url,
                    "resource": device,
                    "request": {
                        "method": "POST",
                        "url": "Device",
                        # Conditional create: the scale is stored once, then found again by its identifier.
                        "ifNoneExist": f"identifier=urn:oid:{self.oid}|{device_id}",
                    },
                },
                {
                    "fullUrl": observation_url,
                    "resource": observation,
                    "request": {"method": "POST", "url": "Observation"},
                },
            ],
        }

    def record_weight(
        self, kilograms: float, *, measured_at: datetime, device_id: str, idempotency_key: str | None = None
    ) -> dict:
        """POST the weight; the answer is the ``transaction-response`` Bundle.

        The Idempotency-Key makes a retry safe: keep the key of a measure until it got an answer, and after a
        timeout call again with the same key and the same measure — the server answers the first result instead of
        adding the measure twice (another body with the same key is refused, 422).
        """
        key = idempotency_key or str(uuid.uuid4())
        bundle = self.weight_bundle(kilograms, measured_at=measured_at, device_id=device_id, entry_seed=key)
        return self.fhir("POST", "/api/fhir/", body=bundle, headers={"Idempotency-Key": key}).json()

    # 5. Reading measures -----------------------------------------------------------------------------------

    def weights(self, *, page_size: int = 20) -> Iterator[dict]:
        """Every weight of the person, newest first, page after page by the ``next`` links."""
        if self.tokens is None or not self.tokens.idpe:
            raise ClientError("idPe inconnu : demandez le scope openid lors de l'appariement.")
        query = urlencode({"patient": self.tokens.idpe, "code": f"{LOINC}|{WEIGHT_LOINC}", "_count": page_size})
        url: str | None = f"{self.base_url}/api/fhir/Observation?{query}"
        while url:
            page = self.fhir("GET", url).json()
            for entry in page.get("entry", []):
                yield entry["resource"]
            url = next((link["url"] for link in page.get("link", []) if link.get("relation") == "next"), None)

    # The FHIR calls ---------------------------------------------------------------------------------------

    def fhir(
        self, method: str, path_or_url: str, *, body: dict | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        """One call of the FHIR API with the access token (renewed first if it is about to expire)."""
        if self.tokens is None:
            raise ClientError("Aucun jeton : l'appariement n'a pas eu lieu.")
        if self.tokens.expires_at - EXPIRY_MARGIN_SECONDS <= time.time():
            self.refresh()
        url = urljoin(self.base_url + "/", path_or_url)
        if urlsplit(url)[:2] != urlsplit(self.base_url)[:2]:
            # A next link is followed only on the server itself: the token is never sent anywhere else.
            raise ClientError(f"Lien vers un autre serveur ignoré : {url}")
        all_headers = {"Authorization": f"Bearer {self.tokens.access_token}", "Accept": FHIR_JSON}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = FHIR_JSON
        all_headers.update(headers or {})
        answer = http_request(method, url, headers=all_headers, body=data, timeout=self.timeout)
        if answer.status >= 400:
            try:
                outcome = answer.json()
            except ValueError:
                outcome = None
            raise ApiError(answer.status, outcome)
        return answer

    # Internals ------------------------------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict:
        answer = http_request("GET", url, headers={"Accept": "application/json"}, timeout=self.timeout)
        if answer.status != 200:
            raise ClientError(f"{url} : HTTP {answer.status}")
        return answer.json()

    def _token_request(self, form: dict[str, str]) -> dict:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self.client_secret is not None:
            # client_secret_basic: both parts form-encoded before base64 (RFC 6749 §2.3.1).
            credentials = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        else:
            form = {**form, "client_id": self.client_id}
        answer = http_request(
            "POST",
            self.configuration["token_endpoint"],
            headers=headers,
            body=urlencode(form).encode("ascii"),
            timeout=self.timeout,
        )
        try:
            payload = answer.json()
        except ValueError:
            payload = {}
        if answer.status != 200:
            raise OAuthError(answer.status, payload.get("error", "erreur"), payload.get("error_description", ""))
        if payload.get("token_type", "").lower() != "bearer":
            raise ClientError(f"Type de jeton inattendu : {payload.get('token_type')!r}")
        return payload

    def _verified_claims(self, id_token: str, *, nonce: str | None) -> dict:
        arguments = {"issuer": self.configuration["issuer"], "audience": self.client_id, "nonce": nonce}
        try:
            return id_token_claims(id_token, keys=self.signing_keys(), **arguments)
        except ClientError:
            # The server may have rotated its key since the keys were read: read them again, once.
            return id_token_claims(id_token, keys=self.signing_keys(reload=True), **arguments)

    @staticmethod
    def _tokens_from(answer: dict, *, external_id: str, idpe: str | None) -> Tokens:
        return Tokens(
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            expires_at=time.time() + int(answer.get("expires_in", 0)),
            scope=answer.get("scope", "").split(),
            external_id=external_id,
            idpe=idpe,
        )


# --- Command line ----------------------------------------------------------------------------------------------


def _loopback_receiver(redirect_uri: str, cert: str, key: str) -> Callable[[], str]:
    """Serve the redirect URI once, over HTTPS on the loopback interface, and give back the URL it was called at.

    Redirect URIs must be https: register e.g. ``https://127.0.0.1:8443/retour`` for the service and give a
    certificate for 127.0.0.1 (self-signed, accepted once in the browser)."""
    parts = urlsplit(redirect_uri)
    if parts.scheme != "https" or parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ClientError("--listen demande une URI de redirection https sur la boucle locale (127.0.0.1).")
    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if urlsplit(self.path).path != parts.path:
                self.send_error(404)
                return
            received.append(f"{parts.scheme}://{parts.netloc}{self.path}")
            page = "<!doctype html><html lang=fr><title>Retour</title><p>Vous pouvez fermer cette page.</p></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *args):
            pass

    def wait() -> str:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        with http.server.HTTPServer((parts.hostname, parts.port or 443), Handler) as server:
            server.socket = context.wrap_socket(server.socket, server_side=True)
            while not received:
                server.handle_request()
        return received[0]

    return wait


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Client de référence d'un service référencé : appariement OAuth2 (PKCE S256), écriture d'une mesure de "
            "poids en Bundle FHIR, relecture paginée, renouvellement des jetons."
        ),
        epilog=(
            "Le secret du client se lit dans la variable d'environnement MES_CLIENT_SECRET (absent : client public). "
            "Sans --listen, collez l'adresse vers laquelle le navigateur a été renvoyé après le consentement."
        ),
    )
    parser.add_argument("--base-url", required=True, help="adresse de Mon espace santé, ex. https://mes.exemple.fr")
    parser.add_argument("--client-id", required=True, help="identifiant du client OAuth2 du service")
    parser.add_argument("--redirect-uri", required=True, help="URI de redirection enregistrée, exactement")
    parser.add_argument("--oid", required=True, help="OID de l'éditeur (meta.source et identifiant des appareils)")
    parser.add_argument("--external-id", required=True, help="identifiant de la personne dans le service")
    parser.add_argument("--scope", default=DEFAULT_SCOPE, help=f"périmètres demandés (défaut : « {DEFAULT_SCOPE} »)")
    parser.add_argument("--weight", type=float, default=72.5, help="poids à envoyer, en kg (défaut : 72,5)")
    parser.add_argument("--device-id", default="balance-0001", help="identifiant de l'appareil de mesure")
    parser.add_argument("--page-size", type=int, default=20, help="taille des pages de la recherche")
    parser.add_argument("--listen", action="store_true", help="recevoir le retour sur la boucle locale (HTTPS)")
    parser.add_argument("--tls-cert", help="certificat PEM du serveur local (avec --listen)")
    parser.add_argument("--tls-key", help="clé privée PEM du serveur local (avec --listen)")
    args = parser.parse_args(argv)

    client = ReferenceClient(
        args.base_url,
        client_id=args.client_id,
        client_secret=os.environ.get("MES_CLIENT_SECRET") or None,
        redirect_uri=args.redirect_uri,
        oid=args.oid,
    )
    try:
        print(
            "1. Ouvrez cette adresse dans le navigateur de la personne :\n  ",
            client.authorization_url(external_id=args.external_id, scope=args.scope),
        )
        if args.listen:
            if not (args.tls_cert and args.tls_key):
                parser.error("--listen demande --tls-cert et --tls-key")
            redirected = _loopback_receiver(args.redirect_uri, args.tls_cert, args.tls_key)()
        else:
            redirected = input("2. Adresse de retour (collez-la) : ").strip()
        tokens = client.finish(redirected)
        print(f"3. Apparié : idPe {tokens.idpe}, périmètres {' '.join(tokens.scope)}")
        answer = client.record_weight(args.weight, measured_at=datetime.now(UTC), device_id=args.device_id)
        for entry in answer.get("entry", []):
            print(f"4. {entry['response']['status']} {entry['response'].get('location', '')}")
        weights = list(client.weights(page_size=args.page_size))
        print(f"5. {len(weights)} mesure(s) de poids lues :")
        for observation in weights[:5]:
            print(f"   {observation['effectiveDateTime']}  {observation['valueQuantity']['value']} kg")
        client.refresh()
        print("6. Jetons renouvelés (le jeton de rafraîchissement précédent n'est plus valable).")
    except ClientError as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
