"""The sandbox's webhook sender signs events exactly as each partner documents (checked independently here)."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox import webhooks

META_SECRET = "dev-meta-app-secret"
LINKEDIN_SECRET = "dev-linkedin-secret"
TIKTOK_SECRET = "dev-tiktok-secret"


class Receiver:
    """A tiny HTTP receiver on a free local port that keeps what it got, and answers the handshakes."""

    def __init__(self):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def do_GET(self):
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if "hub.challenge" in query:
                    payload, kind = query["hub.challenge"].encode(), "text/plain"
                else:  # LinkedIn's validation: the HMAC of the challenge code with the client secret
                    code = query.get("challengeCode", "")
                    answer = hmac.new(receiver.linkedin_secret.encode(), code.encode(), hashlib.sha256).hexdigest()
                    payload = json.dumps({"challengeCode": code, "challengeResponse": answer}).encode()
                    kind = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(payload)

        self.linkedin_secret = LINKEDIN_SECRET
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_meta_deauthorize_is_a_signed_request_form_post(receiver):
    webhooks.send_meta_deauthorize(receiver.url, "10158000000000001")

    [(headers, body)] = receiver.requests
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    signed_request = parse_qs(body.decode())["signed_request"][0]
    signature, payload = signed_request.split(".", 1)
    expected = hmac.new(META_SECRET.encode(), payload.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(_b64url_decode(signature), expected)
    data = json.loads(_b64url_decode(payload))
    assert data["algorithm"] == "HMAC-SHA256" and data["user_id"] == "10158000000000001"
    assert isinstance(data["issued_at"], int)


def test_meta_change_notification_carries_both_hub_signatures(receiver):
    webhooks.send_meta_change(receiver.url, "page", "104857600001", "feed", {"item": "status", "verb": "remove",
                                                                             "message": "Café"})
    [(headers, body)] = receiver.requests
    assert headers["X-Hub-Signature-256"] == "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature"] == "sha1=" + hmac.new(META_SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert b"Caf\\u00e9" in body  # Meta escapes non-ASCII, so the signature is over the escaped bytes
    assert json.loads(body)["entry"][0]["changes"][0]["field"] == "feed"


def test_a_wrong_secret_gives_a_signature_a_receiver_rejects(receiver):
    webhooks.send_meta_change(receiver.url, "page", "1", "feed", {}, secret="not-the-app-secret")
    [(headers, body)] = receiver.requests
    assert headers["X-Hub-Signature-256"] != "sha256=" + hmac.new(META_SECRET.encode(), body,
                                                                  hashlib.sha256).hexdigest()


def test_meta_subscription_handshake_expects_the_challenge_back(receiver):
    response = webhooks.meta_verify_subscription(receiver.url, "verify-me")
    challenge = parse_qs(urlsplit(response.request.url).query)["hub.challenge"][0]
    assert response.text == challenge


def test_linkedin_event_signature_covers_the_prefix_and_raw_body(receiver):
    webhooks.send_linkedin_event(receiver.url, {"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
                                                "notificationId": 17})
    [(headers, body)] = receiver.requests
    expected = hmac.new(LINKEDIN_SECRET.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    assert headers["X-LI-Signature"] == expected


def test_linkedin_validation_accepts_only_the_right_hmac(receiver):
    assert webhooks.linkedin_validate(receiver.url) is True
    receiver.linkedin_secret = "someone-else"
    assert webhooks.linkedin_validate(receiver.url) is False


def test_tiktok_event_is_signed_over_timestamp_dot_body(receiver):
    webhooks.send_tiktok_event(receiver.url, "authorization.removed", "act.example12345", {"reason": 1})

    [(headers, body)] = receiver.requests
    parts = dict(item.split("=", 1) for item in headers["TikTok-Signature"].split(","))
    expected = hmac.new(TIKTOK_SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["s"], expected)
    event = json.loads(body)
    assert (event["event"], event["user_openid"], event["client_key"]) == (
        "authorization.removed", "act.example12345", "devtiktokclientkey")
    assert event["create_time"] == int(parts["t"])
    assert json.loads(event["content"]) == {"reason": 1}  # content is a JSON string, as TikTok sends it
