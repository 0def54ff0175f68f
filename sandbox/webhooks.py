"""The sandbox partners' webhook sender: signs and posts each partner's events the way it does.

    send_meta_deauthorize(url, user_id)          form POST signed_request=<b64url(sig)>.<b64url(payload)>
    send_meta_change(url, object_, entry_id, field, value)
                                                 JSON {"object", "entry": [{"id", "time", "changes"}]},
                                                 X-Hub-Signature-256: sha256=<hex> (and legacy X-Hub-Signature)
    send_linkedin_event(url, payload)            JSON, X-LI-Signature: hex HMAC-SHA256(secret, "hmacsha256=" + body)
    send_tiktok_event(url, event, user_openid, content)
                                                 JSON {"client_key", "event", "create_time", "user_openid",
                                                 "content": "<JSON string>"}, TikTok-Signature: t=<ts>,s=<hex>
    meta_verify_subscription(url, verify_token)  the GET handshake Meta sends (hub.mode/challenge/verify_token)
    linkedin_validate(url)                       LinkedIn's GET challengeCode validation; True when answered right

Secrets: META_APP_SECRET, LINKEDIN_CLIENT_SECRET, TIKTOK_CLIENT_SECRET (settings); pass
`secret=` to sign with another (e.g. to test that a receiver rejects a bad signature).
Each returns the receiver's requests.Response. Bodies are sent as the exact bytes signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

import requests
from django.conf import settings

TIMEOUT = (5, 10)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hex_hmac(secret: str, message: bytes, digest=hashlib.sha256) -> str:
    return hmac.new(secret.encode(), message, digest).hexdigest()


def meta_signed_request(payload: dict, secret: str | None = None) -> str:
    """Meta's signed_request: base64url(HMAC-SHA256(app secret, payload segment)) + "." + payload segment."""
    segment = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new((secret or settings.META_APP_SECRET).encode(), segment.encode(), hashlib.sha256).digest()
    return f"{_b64url(signature)}.{segment}"


def send_meta_deauthorize(url: str, user_id: str, *, secret: str | None = None,
                          issued_at: int | None = None) -> requests.Response:
    """The Deauthorize Callback: the user removed the app (`issued_at`: now unless given; the same
    user and second make the same bytes, which a receiver takes for a redelivery)."""
    issued = int(time.time()) if issued_at is None else issued_at
    payload = {"algorithm": "HMAC-SHA256", "issued_at": issued, "user_id": str(user_id)}
    return requests.post(url, data={"signed_request": meta_signed_request(payload, secret)}, timeout=TIMEOUT)


def send_meta_change(url: str, object_: str, entry_id: str, field: str, value: dict, *,
                     secret: str | None = None) -> requests.Response:
    """A Graph webhook change notification (object "page", "instagram", "permissions", ...)."""
    body = {"object": object_, "entry": [{"id": str(entry_id), "time": int(time.time()),
                                          "changes": [{"field": field, "value": value}]}]}
    # Meta escapes non-ASCII (\\uXXXX): json.dumps does the same by default.
    raw = json.dumps(body, separators=(",", ":")).encode()
    key = secret or settings.META_APP_SECRET
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + _hex_hmac(key, raw),
        "X-Hub-Signature": "sha1=" + _hex_hmac(key, raw, hashlib.sha1),
    }
    return requests.post(url, data=raw, headers=headers, timeout=TIMEOUT)


def meta_verify_subscription(url: str, verify_token: str) -> requests.Response:
    """Meta's subscription handshake; a receiver must echo hub.challenge."""
    challenge = str(secrets.randbelow(10**9))
    return requests.get(url, params={"hub.mode": "subscribe", "hub.challenge": challenge,
                                     "hub.verify_token": verify_token}, timeout=TIMEOUT)


def send_linkedin_event(url: str, payload: dict, *, secret: str | None = None) -> requests.Response:
    """A LinkedIn push notification, signed over "hmacsha256=" + the raw body."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    signature = _hex_hmac(secret or settings.LINKEDIN_CLIENT_SECRET, b"hmacsha256=" + raw)
    return requests.post(url, data=raw, headers={"Content-Type": "application/json", "X-LI-Signature": signature},
                         timeout=TIMEOUT)


def linkedin_validate(url: str, *, secret: str | None = None) -> bool:
    """LinkedIn's endpoint validation: GET ?challengeCode=&applicationId=, expects the HMAC back."""
    challenge = str(uuid.uuid4())
    response = requests.get(url, params={"challengeCode": challenge, "applicationId": settings.LINKEDIN_CLIENT_ID},
                            timeout=(5, 3))
    expected = _hex_hmac(secret or settings.LINKEDIN_CLIENT_SECRET, challenge.encode())
    try:
        body = response.json()
    except ValueError:
        return False
    return (response.status_code == 200 and body.get("challengeCode") == challenge
            and hmac.compare_digest(str(body.get("challengeResponse", "")), expected))


def send_tiktok_event(url: str, event: str, user_openid: str, content: dict, *,
                      secret: str | None = None, timestamp: int | None = None) -> requests.Response:
    """A TikTok webhook event (e.g. authorization.removed with {"reason": 1}, post.publish.failed)."""
    created = int(time.time()) if timestamp is None else timestamp
    body = {"client_key": settings.TIKTOK_CLIENT_KEY, "event": event, "create_time": created,
            "user_openid": user_openid, "content": json.dumps(content)}
    raw = json.dumps(body, separators=(",", ":")).encode()
    signature = _hex_hmac(secret or settings.TIKTOK_CLIENT_SECRET, f"{created}.".encode() + raw)
    return requests.post(url, data=raw, headers={"Content-Type": "application/json",
                                                 "TikTok-Signature": f"t={created},s={signature}"}, timeout=TIMEOUT)


# Google Business Profile and Mailchimp send theirs from their own partner modules (they need the
# partner's state: GBP's signing key and JWKS): sandbox.gbp.send_gbp_notification (a
# Pub/Sub push with an OIDC token) and sandbox.mailchimp.send_mailchimp_event (a form
# POST) / mailchimp_check_url (the creation GET).
