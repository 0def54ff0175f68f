"""Each partner's verification, on its own: what passes, what is refused and how (the receivers answer with it).

Proofs are built here from the partners' documented schemes, independently of the
sandbox's senders (tests/webhooks/test_receivers.py drives those end to end).
"""

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.webhooks.conftest import GBP_AUDIENCE
from tests.webhooks.helpers import PUSH_ACCOUNT
from webhooks.verification import Rejected, gbp, linkedin, mailchimp, meta, parse_json_object, tiktok

SECRET = "s3cret-for-tests"


def hex_hmac(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def refused(call, status: int, reason: str):
    with pytest.raises(Rejected) as caught:
        call()
    assert (caught.value.status, caught.value.reason) == (status, reason)


# -- Meta ----------------------------------------------------------------------------------------


def test_meta_change_verifies_the_raw_bytes_not_the_parsed_json():
    raw = b'{"object":"page","entry":[{"id":"1","changes":[{"field":"feed","value":{"message":"Caf\\u00e9"}}]}]}'

    delivery = meta.verify_change(raw, "sha256=" + hex_hmac(raw), SECRET)

    assert (delivery.platform, delivery.event_type) == ("meta", "page:feed")
    assert delivery.event_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    reserialised = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
    refused(lambda: meta.verify_change(reserialised, "sha256=" + hex_hmac(raw), SECRET), 403, "signature")


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=" + "0" * 40, "sha256=" + "0" * 64, "sha256=zz"])
def test_meta_change_without_the_right_signature_is_forged(header):
    refused(lambda: meta.verify_change(b'{"object":"page"}', header, SECRET), 403, "signature")


def test_meta_change_signed_with_another_secret_is_forged():
    raw = b'{"object":"page"}'
    refused(lambda: meta.verify_change(raw, "sha256=" + hex_hmac(raw, "other"), SECRET), 403, "signature")


def test_meta_handshake_echoes_the_challenge_only_for_our_verify_token():
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "ours"}

    assert meta.verify_subscription(params, "ours") == "1158201444"
    refused(lambda: meta.verify_subscription({**params, "hub.verify_token": "theirs"}, "ours"), 403, "signature")
    refused(lambda: meta.verify_subscription({**params, "hub.mode": "unsubscribe"}, "ours"), 403, "signature")
    refused(lambda: meta.verify_subscription(params, ""), 403, "signature")  # no token configured: no handshake


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_request(payload: dict, secret: str = SECRET) -> bytes:
    segment = _b64url(json.dumps(payload).encode())
    signature = _b64url(hmac.new(secret.encode(), segment.encode(), hashlib.sha256).digest())
    return f"signed_request={signature}.{segment}".encode()


def test_meta_signed_request_names_the_user_who_removed_the_app():
    body = signed_request({"algorithm": "HMAC-SHA256", "issued_at": 1700000000, "user_id": "10158000000000001"})

    delivery = meta.verify_signed_request(body, SECRET, meta.DEAUTHORIZE)

    assert delivery.event_type == "deauthorize" and delivery.payload["user_id"] == "10158000000000001"
    # The same request at the data-deletion callback is another event.
    assert meta.verify_signed_request(body, SECRET, meta.DATA_DELETION).event_id != delivery.event_id


@pytest.mark.parametrize("body", [
    b"", b"signed_request=", b"signed_request=abc", b"signed_request=.abc", b"other=1",
    b"signed_request=%%%.%%%", b"signed_request=\xff\xfe.abc",
])
def test_meta_signed_request_missing_or_unreadable_is_refused(body):
    with pytest.raises(Rejected) as caught:
        meta.verify_signed_request(body, SECRET, meta.DEAUTHORIZE)
    assert caught.value.status in (400, 403)


def test_meta_signed_request_with_a_wrong_signature_or_algorithm_is_forged():
    payload = {"algorithm": "HMAC-SHA256", "issued_at": 1, "user_id": "1"}
    refused(lambda: meta.verify_signed_request(signed_request(payload, "other"), SECRET, "deauthorize"), 403, "signature")
    plain = {**payload, "algorithm": "none"}
    refused(lambda: meta.verify_signed_request(signed_request(plain), SECRET, "deauthorize"), 403, "signature")


def test_meta_signed_request_whose_payload_is_not_json_is_malformed():
    segment = _b64url(b"not json")
    signature = _b64url(hmac.new(SECRET.encode(), segment.encode(), hashlib.sha256).digest())
    body = f"signed_request={signature}.{segment}".encode()
    refused(lambda: meta.verify_signed_request(body, SECRET, "deauthorize"), 400, "malformed")


# -- LinkedIn ------------------------------------------------------------------------------------


def test_linkedin_validation_answers_the_hmac_of_the_challenge_code():
    code = "0b7a1e8e-5a62-4d1b-9a3a-0a2a3f1f2b11"

    answer = linkedin.challenge_response(code, SECRET)

    assert answer == {"challengeCode": code, "challengeResponse": hex_hmac(code.encode())}


@pytest.mark.parametrize("code", [None, "", "hmacsha256={\"type\":\"x\"}", "not-a-uuid", "a" * 36])
def test_linkedin_validation_signs_nothing_but_a_challenge_code(code):
    # Answering any text would sign "hmacsha256=" + a forged body: exactly a notification's signature.
    refused(lambda: linkedin.challenge_response(code, SECRET), 400, "malformed")


def test_linkedin_notification_signature_covers_the_prefix_and_the_raw_body():
    raw = b'{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notificationId":17}'

    delivery = linkedin.verify_notification(raw, hex_hmac(b"hmacsha256=" + raw), SECRET)

    assert (delivery.event_id, delivery.event_type) == ("17", "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS")
    refused(lambda: linkedin.verify_notification(raw, hex_hmac(raw), SECRET), 403, "signature")  # prefix left out
    refused(lambda: linkedin.verify_notification(raw, None, SECRET), 403, "signature")


# -- TikTok --------------------------------------------------------------------------------------


def tiktok_header(raw: bytes, timestamp: int, secret: str = SECRET) -> str:
    return f"t={timestamp},s={hex_hmac(f'{timestamp}.'.encode() + raw, secret)}"


def test_tiktok_event_is_verified_over_timestamp_dot_body():
    raw = b'{"event":"authorization.removed","user_openid":"act.1","content":"{\\"reason\\": 1}"}'
    now = int(time.time())

    delivery = tiktok.verify_event(raw, tiktok_header(raw, now), SECRET, tolerance_s=300)

    assert (delivery.event_type, delivery.payload["user_openid"]) == ("authorization.removed", "act.1")


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_tiktok_event_outside_the_timestamp_tolerance_is_a_replay(offset):
    raw = b'{"event":"authorization.removed"}'
    now = int(time.time())
    header = tiktok_header(raw, now + offset)
    refused(lambda: tiktok.verify_event(raw, header, SECRET, tolerance_s=300, now=now), 403, "timestamp")


@pytest.mark.parametrize("header", [None, "", "t=,s=", "s=abc", "t=12,s=", "t=x,s=ab", "t=1e3,s=ab", "garbage"])
def test_tiktok_event_without_a_readable_signature_is_forged(header):
    refused(lambda: tiktok.verify_event(b"{}", header, SECRET, tolerance_s=300), 403, "signature")


def test_tiktok_signature_over_another_timestamp_is_forged():
    raw, now = b'{"event":"x"}', int(time.time())
    signature = hex_hmac(f"{now - 5}.".encode() + raw)
    refused(lambda: tiktok.verify_event(raw, f"t={now},s={signature}", SECRET, tolerance_s=300), 403, "signature")


# -- Google Business Profile (Pub/Sub push OIDC token) --------------------------------------------


def verify(google, token, **overrides):
    options = {"audience": GBP_AUDIENCE, "service_account": PUSH_ACCOUNT, "certs_url": google.base_url + gbp.CERTS_PATH}
    return gbp.verify_push_token(f"Bearer {token}", **{**options, **overrides})


def test_gbp_push_token_signed_by_google_for_our_audience_and_account_is_accepted(google):
    claims = verify(google, google.token(GBP_AUDIENCE))

    assert claims["email"] == PUSH_ACCOUNT and claims["aud"] == GBP_AUDIENCE


def test_gbp_push_token_keys_are_fetched_once_not_per_push(google):
    for _ in range(5):
        verify(google, google.token(GBP_AUDIENCE))

    assert google.requests == 1


@pytest.mark.parametrize("forgery", [
    {"audience": "https://someone-else.example.com/push"},     # a Google token minted for another audience
    {"issuer": "https://evil.example.com"},
    {"lifetime_s": -120},                                      # expired (past the 30 s leeway)
    {"email": "intruder@their-project.iam.gserviceaccount.com"},
    {"email_verified": False},
    {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},  # not Google's key
    {"kid": "a-key-google-never-published"},
    {"algorithm": "HS256"},                                    # the algorithm-confusion trick
])
def test_gbp_push_token_is_refused_when_any_check_fails(google, forgery):
    audience = forgery.pop("audience", GBP_AUDIENCE)
    token = google.token(audience, **forgery)
    refused(lambda: verify(google, token), 401, "token")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt"])
def test_gbp_push_without_a_bearer_token_is_refused(google, authorization):
    options = {"audience": GBP_AUDIENCE, "service_account": PUSH_ACCOUNT, "certs_url": google.base_url + gbp.CERTS_PATH}
    refused(lambda: gbp.verify_push_token(authorization, **options), 401, "token")


def test_gbp_push_is_refused_when_no_service_account_is_configured(google):
    refused(lambda: verify(google, google.token(GBP_AUDIENCE), service_account=""), 401, "token")


def test_gbp_push_answers_503_when_googles_keys_cannot_be_fetched(google):
    token = google.token(GBP_AUDIENCE)
    refused(lambda: verify(google, token, certs_url="http://127.0.0.1:9/oauth2/v3/certs"), 503, "certs_unavailable")


def test_gbp_push_envelope_carries_the_notification_and_the_message_id():
    data = {"type": "NEW_REVIEW", "location_name": "accounts/1/locations/2", "review_name": "accounts/1/locations/2/reviews/3"}
    envelope = {"message": {"data": base64.b64encode(json.dumps(data).encode()).decode(), "messageId": "2070443601311540",
                            "publishTime": "2021-02-26T19:13:55.749Z", "attributes": {}},
                "subscription": "projects/p/subscriptions/s"}

    delivery = gbp.parse_push(json.dumps(envelope).encode())

    assert (delivery.event_id, delivery.event_type) == ("2070443601311540", "NEW_REVIEW")
    assert delivery.payload["data"] == data


@pytest.mark.parametrize("envelope", [{}, {"message": "x"}, {"message": {"data": "%%%"}}, {"message": {"data": 5}},
                                      {"message": {"data": base64.b64encode(b"[1]").decode()}}])
def test_gbp_push_envelope_that_is_not_pubsubs_is_malformed(envelope):
    refused(lambda: gbp.parse_push(json.dumps(envelope).encode()), 400, "malformed")


# -- Mailchimp -----------------------------------------------------------------------------------


def test_mailchimp_secret_in_the_url_must_be_ours():
    mailchimp.verify_secret("ours", "ours")
    refused(lambda: mailchimp.verify_secret("theirs", "ours"), 403, "signature")
    refused(lambda: mailchimp.verify_secret("", ""), 403, "signature")  # no secret configured: nothing accepted


def test_mailchimp_form_nests_its_bracketed_fields():
    raw = (b"type=unsubscribe&fired_at=2009-03-26+21%3A40%3A57&data%5Baction%5D=unsub&data%5Blist_id%5D=a6b5da1054"
           b"&data%5Bmerges%5D%5BFNAME%5D=Ann")

    delivery = mailchimp.parse_event(raw)

    assert delivery.event_type == "unsubscribe"
    assert delivery.payload["data"] == {"action": "unsub", "list_id": "a6b5da1054", "merges": {"FNAME": "Ann"}}


@pytest.mark.parametrize("raw", [b"data=x&data[a]=y", b"data[a]=y&data=x", b"\xff\xfe", b"a%00b=1", b"[x]=1"])
def test_mailchimp_form_mailchimp_never_sends_is_malformed(raw):
    refused(lambda: mailchimp.parse_event(raw), 400, "malformed")


# -- what no partner's JSON may hold, because the database could not store it ------------------------


@pytest.mark.parametrize("raw", [b"", b"[", b"NaN", b'{"a": NaN}', b'{"a": 1e999}', b'{"a": "\\u0000"}',
                                 b'{"a": "\\ud800"}', b'{"\\u0000": 1}', b"[" * 100 + b"]" * 100,
                                 b"[" * 100000, b"\xff\xfe", b"1" * 5000])
def test_json_a_database_cannot_store_is_malformed(raw):
    refused(lambda: parse_json_object(raw), 400, "malformed")
