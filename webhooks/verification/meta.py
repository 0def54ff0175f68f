"""Meta: the Webhooks handshake and change notifications, and the Login callbacks' signed_request.

- Subscription handshake (GET): hub.mode=subscribe, hub.verify_token equal to ours
  (META_VERIFY_TOKEN), hub.challenge echoed back.
- Change notifications (POST JSON): `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256
  of the raw body keyed with the app secret (Meta escapes non-ASCII, so only the
  received bytes verify). The legacy SHA-1 header is not trusted. No event id:
  the body's hash stands in.
- Deauthorize and Data Deletion callbacks (form POST): `signed_request` =
  base64url(signature) "." base64url(payload), the signature an HMAC-SHA256 of the
  payload segment keyed with the app secret; the payload
  {"algorithm": "HMAC-SHA256", "issued_at", "user_id"}.

Source: https://developers.facebook.com/docs/graph-api/webhooks/getting-started,
https://developers.facebook.com/docs/development/create-an-app/app-dashboard/data-deletion-callback
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from webhooks.verification import (
    Delivery,
    body_event_id,
    event_type_of,
    forged,
    hex_hmac_sha256,
    malformed,
    parse_form,
    parse_json_object,
    same,
)

PLATFORM = "meta"
DEAUTHORIZE = "deauthorize"
DATA_DELETION = "data_deletion"


def verify_subscription(params, verify_token: str) -> str:
    """The challenge to echo back, when Meta's handshake carries our verify token; else Rejected 403."""
    mode, token, challenge = params.get("hub.mode"), params.get("hub.verify_token"), params.get("hub.challenge")
    if mode != "subscribe" or not challenge or not verify_token or not same(token or "", verify_token):
        raise forged("subscription handshake refused")
    return challenge


def verify_change(raw: bytes, signature_header: str | None, app_secret: str) -> Delivery:
    """A change notification whose X-Hub-Signature-256 matches the raw body."""
    scheme, _, given = (signature_header or "").partition("=")
    if scheme.strip().lower() != "sha256" or not given or not app_secret:
        raise forged("no X-Hub-Signature-256")
    if not same(given.strip().lower(), hex_hmac_sha256(app_secret, raw)):
        raise forged()
    body = parse_json_object(raw)
    return Delivery(PLATFORM, body_event_id(raw), change_event_type(body), body)


def change_event_type(body: dict) -> str:
    """"<object>:<field>[,<field>...]", e.g. "permissions:connected" or "page:feed"."""
    fields = []
    entries = body.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            field = change.get("field") if isinstance(change, dict) else None
            if isinstance(field, str) and field not in fields:
                fields.append(field)
    object_ = event_type_of(body.get("object"), "unknown")
    return event_type_of(f"{object_}:{','.join(fields)}" if fields else object_, "unknown")


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_signed_request(raw: bytes, app_secret: str, kind: str) -> Delivery:
    """A Deauthorize or Data Deletion callback (`kind`) whose signed_request verifies with the app secret."""
    form = dict(parse_form(raw))
    signed_request = form.get("signed_request", "")
    signature_segment, dot, payload_segment = signed_request.partition(".")
    if not dot or not signature_segment or not payload_segment or not app_secret:
        raise forged("no signed_request")
    try:
        signature = _b64url(signature_segment)
        payload_bytes = _b64url(payload_segment)
    except (binascii.Error, ValueError):
        raise forged("signed_request is not base64url") from None
    expected = hmac.new(app_secret.encode(), payload_segment.encode("ascii", "replace"), hashlib.sha256).digest()
    if not same(signature, expected):
        raise forged()
    payload = parse_json_object(payload_bytes)
    if str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise forged("signed_request algorithm is not HMAC-SHA256")
    user_id = payload.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, (str, int)) or not str(user_id):
        raise malformed("signed_request names no user")
    return Delivery(PLATFORM, body_event_id(signed_request.encode(), scope=f"{kind}:"), kind, payload)
