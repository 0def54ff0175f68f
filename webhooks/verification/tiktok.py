"""TikTok: webhook events signed with the client secret over a timestamp and the raw body.

`TikTok-Signature: t=<unix seconds>,s=<hex>` where s = HMAC-SHA256(client secret,
t + "." + raw body). A timestamp further than WEBHOOK_TIMESTAMP_TOLERANCE_S from our
clock is refused (a replayed or held-back delivery). The body
{"client_key", "event", "create_time", "user_openid", "content": "<JSON string>"}
has no event id: the body's hash stands in (delivery is at least once, retried for 72 h).

Source: https://developers.tiktok.com/doc/webhooks-verification,
https://developers.tiktok.com/doc/webhooks-overview
"""

from __future__ import annotations

import time

from webhooks.verification import (
    Delivery,
    Rejected,
    body_event_id,
    event_type_of,
    forged,
    hex_hmac_sha256,
    parse_json_object,
    same,
)

PLATFORM = "tiktok"


def _signature_parts(header: str) -> tuple[int, str]:
    parts = {}
    for item in header.split(","):
        name, eq, value = item.strip().partition("=")
        if eq and name not in parts:
            parts[name] = value.strip()
    timestamp, signature = parts.get("t", ""), parts.get("s", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or not signature:
        raise forged("no TikTok-Signature")
    return int(timestamp), signature


def verify_event(raw: bytes, signature_header: str | None, client_secret: str, *, tolerance_s: int,
                 now: float | None = None) -> Delivery:
    """An event whose TikTok-Signature matches and whose timestamp is within the tolerance."""
    if not signature_header or not client_secret:
        raise forged("no TikTok-Signature")
    timestamp, signature = _signature_parts(signature_header)
    if not same(signature.lower(), hex_hmac_sha256(client_secret, f"{timestamp}.".encode() + raw)):
        raise forged()
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        raise Rejected(403, "timestamp", "TikTok-Signature timestamp outside the tolerance")
    body = parse_json_object(raw)
    return Delivery(PLATFORM, body_event_id(raw), event_type_of(body.get("event"), "unknown"), body)
