"""Bad input never 500s: arbitrary bodies and headers at every receiver (hypothesis), signed or not.

Each example is one request through Django's test client (exceptions would surface
here, not as a 500 page). A refused request stores nothing; an accepted one (a body
that verified, however odd) stores exactly one event.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.conf import settings
from django.urls import reverse
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.webhooks.conftest import GBP_AUDIENCE
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

LIMIT = 4096
ANSWERS = {200, 400, 401, 403, 405, 413}
HEADER_NAMES = ["X-Hub-Signature-256", "X-Hub-Signature", "X-LI-Signature", "TikTok-Signature", "Authorization",
                "Content-Type", "User-Agent", "X-Goog-Pubsub-Delivery", "X-Anything"]

# Text a database chokes on (NUL, lone surrogates) as well as any other.
HOSTILE = ["\x00", "\ud800", "\udfff", "\u2028", "\ufeff", "é", "\U0001f600", "\\", '"']
strings = st.text(max_size=30) | st.lists(st.sampled_from(HOSTILE) | st.text(max_size=3), max_size=6).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | strings,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(strings, children, max_size=4),
    max_leaves=25,
)
# Bodies: raw bytes, any JSON (NaN included), and JSON shaped like the partners' own.
partnerish = st.fixed_dictionaries({}, optional={
    "object": st.sampled_from(["permissions", "page", "instagram"]) | st.text(max_size=8),
    "entry": st.lists(st.fixed_dictionaries({}, optional={
        "id": st.text(max_size=8) | st.integers(), "changes": st.lists(st.fixed_dictionaries({}, optional={
            "field": st.sampled_from(["connected", "pages_manage_posts"]) | json_values,
            "value": st.fixed_dictionaries({}, optional={"verb": st.sampled_from(["revoked", "disconnected"])}) | json_values,
        }), max_size=3)}), max_size=3) | json_values,
    "event": st.sampled_from(["authorization.removed", "post.publish.failed"]) | json_values,
    "user_openid": strings | json_values,
    "content": strings | st.builds(json.dumps, json_values),
    "notificationId": json_values, "type": json_values, "message": json_values,
})
json_bodies = st.builds(lambda v: json.dumps(v).encode(), json_values | partnerish)
bodies = st.binary(max_size=LIMIT + 200) | json_bodies | json_bodies
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
headers = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4)
content_lengths = st.none() | st.sampled_from(["", "-1", "abc", "1e3", "0x10", " 12"]) | st.integers(LIMIT + 1, 10**12).map(str)


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_request(payload: bytes) -> bytes:
    segment = b64url(payload)
    return f"signed_request={b64url(hmac.new(settings.META_APP_SECRET.encode(), segment.encode(), hashlib.sha256).digest())}.{segment}".encode()


def sign(receiver: str, body: bytes, extra: dict, google) -> tuple[bytes, dict]:
    """The body and headers as the partner would sign them (the receiver's own secret)."""
    if receiver == "meta":
        return body, {**extra, "X-Hub-Signature-256": "sha256=" + hex_hmac(settings.META_APP_SECRET, body)}
    if receiver == "linkedin":
        return body, {**extra, "X-LI-Signature": hex_hmac(settings.LINKEDIN_CLIENT_SECRET, b"hmacsha256=" + body)}
    if receiver == "tiktok":
        now = int(time.time())
        return body, {**extra, "TikTok-Signature": f"t={now},s={hex_hmac(settings.TIKTOK_CLIENT_SECRET, f'{now}.'.encode() + body)}"}
    if receiver in ("meta-deauthorize", "meta-data-deletion"):
        return signed_request(body), extra
    if receiver == "gbp":
        return body, {**extra, "Authorization": f"Bearer {google.token(GBP_AUDIENCE)}"}
    return body, extra


RECEIVERS = ["meta", "meta-deauthorize", "meta-data-deletion", "linkedin", "tiktok", "gbp", "mailchimp"]


def path_of(receiver: str, secret: str) -> str:
    return reverse("webhooks:mailchimp", args=[secret]) if receiver == "mailchimp" else reverse(f"webhooks:{receiver}")


@pytest.fixture
def small_limit(settings):
    settings.WEBHOOK_MAX_BODY_BYTES = LIMIT


@pytest.mark.parametrize("receiver", RECEIVERS)
@hypothesis_settings(max_examples=35, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies, extra=headers, signed=st.booleans(), content_length=content_lengths,
       method=st.sampled_from(["POST", "POST", "GET", "PUT"]), right_secret=st.booleans())
def test_no_body_or_header_makes_a_receiver_fail(client, google, small_limit, receiver, body, extra, signed,
                                                 content_length, method, right_secret):
    secret = settings.MAILCHIMP_WEBHOOK_SECRET if right_secret else uuid.uuid4().hex
    if signed:
        body, extra = sign(receiver, body, extra, google)
    environ = {"CONTENT_LENGTH": content_length} if content_length is not None else {}
    before = WebhookEvent.objects.count()

    response = client.generic(method, path_of(receiver, secret), data=body,
                              content_type=extra.pop("Content-Type", "application/octet-stream"), headers=extra, **environ)

    assert response.status_code in ANSWERS
    stored = WebhookEvent.objects.count() - before
    # Refused: nothing stored. Accepted: one event, or none for a redelivery of a body already drawn.
    assert stored in ((0, 1) if response.status_code == 200 else (0,))


SIGNED_JSON_RECEIVERS = ["meta", "meta-deauthorize", "meta-data-deletion", "linkedin", "tiktok", "gbp"]
json_objects = st.dictionaries(strings, json_values, min_size=1, max_size=6) | partnerish


@pytest.mark.parametrize("receiver", SIGNED_JSON_RECEIVERS)
@hypothesis_settings(max_examples=30, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=json_objects)
@example(value={"user_id": "1", "algorithm": "HMAC-SHA256", "a": "\x00"})
@example(value={"user_id": "1", "algorithm": "HMAC-SHA256", "\ud800": 1})
@example(value={"user_id": "1", "algorithm": "HMAC-SHA256", "n": float("nan"), "i": float("inf")})
@example(value={"user_id": "1", "algorithm": "HMAC-SHA256", "deep": json.loads("[" * 40 + "1" + "]" * 40)})
def test_any_signed_json_object_is_stored_or_refused_as_malformed(client, google, receiver, value):
    """Past the signature, whatever the partner's JSON holds: stored (200) or malformed (400), never a database error."""
    if receiver.startswith("meta-"):
        value = {**value, "algorithm": "HMAC-SHA256"}  # another algorithm is a forgery (403)
    raw = json.dumps(value).encode()
    if receiver == "gbp":
        raw = json.dumps({"message": {"data": base64.b64encode(raw).decode(), "messageId": uuid.uuid4().hex}}).encode()
    body, extra = sign(receiver, raw, {}, google)
    before = WebhookEvent.objects.count()

    response = client.post(path_of(receiver, ""), data=body, headers=extra,
                           content_type="application/x-www-form-urlencoded" if "meta-" in receiver else "application/json")

    assert response.status_code in (200, 400)
    assert WebhookEvent.objects.count() - before in ((0, 1) if response.status_code == 200 else (0,))


@hypothesis_settings(max_examples=60, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["hub.mode", "hub.challenge", "hub.verify_token", "challengeCode", "x"]),
                              st.text(max_size=60), max_size=4),
       receiver=st.sampled_from(["meta", "linkedin"]))
def test_no_query_string_makes_a_handshake_fail(client, params, receiver):
    response = client.get(reverse(f"webhooks:{receiver}"), params)

    assert response.status_code in {200, 400, 403}
    assert not WebhookEvent.objects.exists()


def test_a_body_over_the_limit_is_refused_413_and_not_stored(client, small_limit, statsd):
    body = json.dumps({"event": "authorization.removed", "padding": "x" * LIMIT}).encode()

    response = client.post(reverse("webhooks:tiktok"), data=body, content_type="application/json")

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()
    assert statsd.count("recovery.webhook.rejected", platform="tiktok", reason="oversized") == 1


def test_the_data_deletion_status_page_of_an_unknown_code_is_404(client):
    assert client.get(reverse("webhooks:meta-data-deletion-status", args=[uuid.uuid4().hex])).status_code == 404
    assert client.get(reverse("webhooks:meta-data-deletion-status", args=["1.forged"])).status_code == 404
