"""LinkedIn: the endpoint validation and push notifications.

- Validation (GET ?challengeCode=<uuid>&applicationId=<id>, repeated every 2 hours):
  answer 200 JSON {"challengeCode": <same>, "challengeResponse": <hex HMAC-SHA256 of the
  code, keyed with the client secret>} within 3 s.
- Notifications (POST JSON): `X-LI-Signature: <hex HMAC-SHA256(client secret,
  "hmacsha256=" + raw body)>`; the literal prefix is part of the signed message.
  Deduplicate on the notification id.

Source: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation
"""

from __future__ import annotations

import re

from webhooks.verification import (
    Delivery,
    Rejected,
    event_type_of,
    forged,
    hex_hmac_sha256,
    parse_json_object,
    partner_event_id,
    same,
)

PLATFORM = "linkedin"
SIGNED_PREFIX = b"hmacsha256="
# LinkedIn's challenge codes are UUIDs. Answering only those keeps the validation from being a
# signing oracle: HMAC(secret, "hmacsha256=" + a forged body) is what a notification's signature is.
_CHALLENGE = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def challenge_response(challenge_code: str | None, client_secret: str) -> dict:
    """The validation answer for LinkedIn's challenge code; Rejected 400 without one (or one that is no UUID)."""
    if not challenge_code or not _CHALLENGE.match(challenge_code):
        raise Rejected(400, "malformed", "no challengeCode")
    return {"challengeCode": challenge_code, "challengeResponse": hex_hmac_sha256(client_secret, challenge_code.encode())}


def verify_notification(raw: bytes, signature_header: str | None, client_secret: str) -> Delivery:
    """A push notification whose X-LI-Signature matches "hmacsha256=" + the raw body."""
    if not signature_header or not client_secret:
        raise forged("no X-LI-Signature")
    if not same(signature_header.strip().lower(), hex_hmac_sha256(client_secret, SIGNED_PREFIX + raw)):
        raise forged()
    body = parse_json_object(raw)
    return Delivery(PLATFORM, partner_event_id(body.get("notificationId"), raw), event_type_of(body.get("type"), "unknown"),
                    body)
