"""Google Business Profile: notifications pushed by Cloud Pub/Sub, authenticated with an OIDC token.

A push subscription with authentication sends `Authorization: Bearer <JWT>`, an RS256
token Google signs for the subscription's service account. It is accepted only when:
- its signature verifies with one of Google's published keys (a JWKS, fetched once
  and cached for an hour; a token naming an unknown key refreshes it at most every
  30 s), algorithm RS256 only;
- `aud` is our audience (always passed: without it any Google-signed token for any
  audience would do), `iss` is accounts.google.com, `exp`/`iat` hold (30 s leeway);
- `email` is the push service account we configured and `email_verified` is true.
The body is Pub/Sub's envelope {"message": {"data": <base64 JSON>, "attributes",
"messageId", "publishTime"}, "subscription"}; the messageId (the same on every
redelivery) is the event id. The notification itself names its type and the location
("location_name", v4's "locationName").

Verified with PyJWT's JWKS client (already a dependency, and its whole network use is
one URL, so tests point it at a locally generated key) rather than google-auth, whose
verify_oauth2_token re-downloads Google's certificates on every call.

Source: https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions,
https://developers.google.com/my-business/reference/notifications/rest/v1/NotificationSetting
"""

from __future__ import annotations

import base64
import binascii
import threading

import jwt
from django.conf import settings
from django.urls import reverse

from connections.platforms.base import partner_base_url
from webhooks.verification import (
    Delivery,
    Rejected,
    event_type_of,
    malformed,
    parse_json_object,
    partner_event_id,
)

PLATFORM = "gbp"
ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_PATH = "/oauth2/v3/certs"
LEEWAY_S = 30
CERTS_LIFESPAN_S = 3600
CERTS_TIMEOUT_S = 5
# The push identity of the sandbox partner's Pub/Sub (sandbox/gbp.py), trusted only while the
# connectors talk to the sandbox, like its signing keys.
SANDBOX_PUSH_SERVICE_ACCOUNT = "gbp-push@sandbox-project.iam.gserviceaccount.com"

_clients: dict[str, jwt.PyJWKClient] = {}
_clients_lock = threading.Lock()


def _unauthorized(message: str) -> Rejected:
    return Rejected(401, "token", message)


def jwks_client(url: str) -> jwt.PyJWKClient:
    """One cached JWKS client per certificates URL and process."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = jwt.PyJWKClient(url, lifespan=CERTS_LIFESPAN_S, timeout=CERTS_TIMEOUT_S)
        return client


def forget_signing_keys() -> None:
    """Drop every cached JWKS: the next token fetches the keys again (tests whose signer makes new keys)."""
    with _clients_lock:
        _clients.clear()


def _sandbox_partners() -> bool:
    """The rule of connections.platforms.base.partner_base_url: the sandbox stands in for Google."""
    return bool(settings.SANDBOX_ENABLED and getattr(settings, "PARTNERS_USE_SANDBOX", False))


def push_audience() -> str:
    """GBP_PUBSUB_AUDIENCE, else the push endpoint's URL (Pub/Sub's default audience)."""
    return settings.GBP_PUBSUB_AUDIENCE or f"{settings.SITE_URL.rstrip('/')}{reverse('webhooks:gbp')}"


def push_service_account() -> str:
    """GBP_PUBSUB_SERVICE_ACCOUNT, else the sandbox's while it stands in for Google, else none (all refused)."""
    return settings.GBP_PUBSUB_SERVICE_ACCOUNT or (SANDBOX_PUSH_SERVICE_ACCOUNT if _sandbox_partners() else "")


def certs_url() -> str:
    """Google's signing keys (GBP_CERTS_BASE), or the sandbox's while it stands in for Google."""
    return f"{partner_base_url('gbp', 'certs')}{CERTS_PATH}"


def verify_push_token(authorization: str | None, *, audience: str, service_account: str, certs_url: str) -> dict:
    """The claims of a valid push token (rules in the module docstring); Rejected 401, or 503 without Google's keys."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("no Bearer token")
    if not audience or not service_account:
        raise _unauthorized("no audience or service account configured")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str) or not kid:
            raise _unauthorized("not an RS256 token with a key id")
        key = jwks_client(certs_url).get_signing_key(kid)
        claims = jwt.decode(
            token, key.key, algorithms=["RS256"], audience=audience, issuer=ISSUERS, leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )
    except jwt.PyJWKClientConnectionError:
        raise Rejected(503, "certs_unavailable", "Google's signing keys could not be fetched") from None
    except jwt.PyJWTError as exc:  # bad token, unknown key, wrong audience/issuer, expired...
        raise _unauthorized(f"token refused: {type(exc).__name__}") from None
    email = claims.get("email")
    if not isinstance(email, str) or email.lower() != service_account.lower():
        raise _unauthorized("token of another service account")
    if claims.get("email_verified") not in (True, "true"):
        raise _unauthorized("service account email not verified")
    return claims


def parse_push(raw: bytes) -> Delivery:
    """The notification inside a Pub/Sub push envelope (call after verify_push_token)."""
    body = parse_json_object(raw)
    message = body.get("message")
    if not isinstance(message, dict):
        raise malformed("no Pub/Sub message")
    encoded = message.get("data") or ""
    if not isinstance(encoded, str):
        raise malformed("message data is not base64")
    try:
        data = parse_json_object(base64.b64decode(encoded, validate=True)) if encoded else {}
    except (binascii.Error, ValueError):
        raise malformed("message data is not base64") from None
    attributes = message.get("attributes") if isinstance(message.get("attributes"), dict) else {}
    message_id = message.get("messageId", message.get("message_id"))
    event_type = event_type_of(data.get("type")) or event_type_of(attributes.get("notificationType"), "unknown")
    payload = {
        "subscription": body.get("subscription"),
        "message": {"messageId": message_id, "publishTime": message.get("publishTime"), "attributes": attributes},
        "data": data,
    }
    return Delivery(PLATFORM, partner_event_id(message_id, raw), event_type, payload)
