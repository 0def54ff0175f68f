"""The Google Business Profile connector against the sandbox GBP over real HTTP:
local posts and their states, pings, tokens, OAuth, every fault, and the Pub/Sub push."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
import requests

from connections.models import Connection
from connections.platforms import gbp as gbp_connector
from connections.platforms.base import PartnerError, get_connector, get_connector_class
from recovery.classifier import REFRESH_CONTEXT, classify_partner_error
from recovery.failures import classify_failure
from sandbox import faults
from sandbox.gbp import push_token, send_gbp_notification
from sandbox.models import SandboxAccount, SandboxObject, SandboxRequest
from tests.factories import PostFactory
from tests.sandbox.sandbox_helpers import assert_secrets_absent, consent, consent_page, linked_connection

LOCATION = "accounts/1092837465/locations/5550001"
SCOPE = "https://www.googleapis.com/auth/business.manage"
IMAGE = "{base}/sandbox/media/storefront.jpg"


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(gbp_connector, "STATE_POLL_INTERVAL_S", 0.05)


@pytest.fixture
def location(sandbox, tenant):
    return linked_connection("gbp", tenant=tenant, external_account_id=LOCATION,
                             external_account_name="Acme Bakery, Main St")


def publish(connection, **post_fields):
    post = PostFactory(connection=connection, tenant=connection.tenant, **post_fields)
    return post, get_connector(connection).publish(post)


def requests_to(path_part, method=None):
    rows = SandboxRequest.objects.filter(platform="gbp")
    if method:
        rows = rows.filter(method=method)
    return [r for r in rows if path_part in r.path]


# ------------------------------------------------------------------ publishing


def test_text_post_is_live_at_once(location):
    _, result = publish(location, content="Open late on Friday")

    assert result.partner_post_id.startswith(f"{LOCATION}/localPosts/")
    stored = SandboxObject.objects.get(object_id=result.partner_post_id)
    assert stored.data["state"] == "LIVE" and stored.data["summary"] == "Open late on Friday"
    [call] = requests_to("/localPosts", method="POST")
    assert call.path == "/v4/accounts/1092837465/locations/5550001/localPosts"
    body = json.loads(call.request_body)
    assert body == {"languageCode": "en", "summary": "Open late on Friday", "topicType": "STANDARD"}
    assert call.request_headers["Authorization"] == "Bearer [redacted]"
    assert result.url.startswith("https://local.google.com/place?id=5550001")


def test_photo_post_is_processing_then_live_after_a_read(location, sandbox):
    _, result = publish(location, kind="image", content="New loaves",
                        media=[{"url": IMAGE.format(base=sandbox), "type": "image"}])

    assert SandboxObject.objects.get(object_id=result.partner_post_id).data["state"] == "LIVE"
    created, read = SandboxRequest.objects.filter(platform="gbp").order_by("id")
    assert '"state": "PROCESSING"' in created.response_body
    assert read.method == "GET" and read.path == f"/v4/{result.partner_post_id}"
    assert '"state": "LIVE"' in read.response_body
    assert json.loads(created.request_body)["media"] == [{"mediaFormat": "PHOTO",
                                                          "sourceUrl": IMAGE.format(base=sandbox)}]


def test_a_rejected_post_is_content_rejected_although_google_answered_200(location, sandbox):
    with pytest.raises(PartnerError) as caught:
        publish(location, kind="image", content="Call us at 555 010 0199 for 20% off",
                media=[{"url": IMAGE.format(base=sandbox), "type": "image"}])

    error = caught.value
    assert error.status == 200 and error.body["state"] == "REJECTED"
    assert classify_failure(error).code.value == "CONTENT_REJECTED"


def test_a_summary_over_the_limit_is_a_validation_error(location):
    with pytest.raises(PartnerError) as caught:
        publish(location, content="x" * 1501)
    assert caught.value.status == 400
    assert classify_failure(caught.value).code.value == "VALIDATION_ERROR"


def test_video_on_a_local_post_fails_with_a_bare_internal_error(location, sandbox):
    # What GBP has been seen to do; the capability matrix refuses video posts before this.
    response = requests.post(f"{sandbox}/sandbox/gbp/v4/{LOCATION}/localPosts",
                             json={"summary": "Tour", "media": [{"mediaFormat": "VIDEO", "sourceUrl": "https://v"}]},
                             headers={"Authorization": f"Bearer {location.access_token}"}, timeout=10)
    assert response.status_code == 500 and response.json()["error"]["status"] == "INTERNAL"


def test_find_published_finds_a_post_whose_answer_was_lost(location):
    post, result = publish(location, content="Lost answer")
    never_sent = PostFactory(connection=location, tenant=location.tenant, content="Never sent")
    connector = get_connector(location)

    assert connector.find_published(post).partner_post_id == result.partner_post_id
    assert connector.find_published(never_sent) is None


def test_another_location_is_not_the_callers(location, sandbox):
    response = requests.get(f"{sandbox}/sandbox/gbp/v4/accounts/1092837465/locations/999/localPosts",
                            headers={"Authorization": f"Bearer {location.access_token}"}, timeout=10)
    assert response.status_code == 403
    assert classify_partner_error("gbp", 403, response.json()).code.value == "PERMISSION_INSUFFICIENT"


# ------------------------------------------------------------------ pings, tokens


def test_ping_lists_a_post_of_the_location(location):
    info = get_connector(location).ping()
    assert (info.account_id, info.name) == (LOCATION, "Acme Bakery, Main St")
    [call] = SandboxRequest.objects.all()
    assert call.path == f"/v4/{LOCATION}/localPosts?pageSize=1" and call.status == 200


def test_refresh_gives_a_new_access_token_and_keeps_the_refresh_token(location):
    tokens = get_connector(location).refresh()

    assert tokens.access_token != location.access_token
    assert tokens.refresh_token == location.refresh_token
    assert tokens.scopes == [SCOPE]
    location.access_token = tokens.access_token
    assert get_connector(location).ping().account_id == LOCATION
    [call] = requests_to("/token", method="POST")
    assert "grant_type=refresh_token" in call.request_body
    assert_secrets_absent(tokens.access_token, location.refresh_token, "dev-gbp-secret")


def test_an_expired_access_token_is_auth_expired_and_a_refresh_heals_it(location):
    faults.set_fault("gbp", faults.EXPIRE_TOKEN, account_id=LOCATION)
    with pytest.raises(PartnerError) as caught:
        publish(location, content="After expiry")
    assert classify_failure(caught.value).code.value == "AUTH_EXPIRED"

    location.access_token = get_connector(location).refresh().access_token
    _, result = publish(location, content="After refresh")
    assert result.partner_post_id


def test_a_revoked_grant_fails_the_refresh_as_refresh_failed(location):
    faults.set_fault("gbp", faults.REVOKE_TOKEN, account_id=LOCATION)
    with pytest.raises(PartnerError) as first:
        get_connector(location).ping()
    # Google's API call says only "invalid credentials": expired or revoked, it cannot tell.
    assert first.value.status == 401 and first.value.body["error"]["errors"][0]["reason"] == "authError"
    with pytest.raises(PartnerError) as caught:
        get_connector(location).refresh()
    assert caught.value.body == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    assert classify_failure(caught.value).code.value == "REFRESH_FAILED"
    error = caught.value
    assert classify_partner_error("gbp", error.status, error.body, error.headers,
                                  context=REFRESH_CONTEXT).code.value == "REFRESH_FAILED"


def test_a_scope_taken_away_stays_away_after_a_refresh(location):
    faults.set_fault("gbp", faults.REMOVE_SCOPE, account_id=LOCATION, scope=SCOPE)
    tokens = get_connector(location).refresh()
    assert tokens.scopes == []
    location.access_token = tokens.access_token
    with pytest.raises(PartnerError) as caught:
        get_connector(location).ping()
    assert classify_failure(caught.value).code.value == "PERMISSION_INSUFFICIENT"


# ------------------------------------------------------------------ OAuth


def test_oauth_round_trip_with_the_users_location_preselected_by_login_hint(sandbox, tenant):
    # login_hint names the Google user (email or sub); the page preselects a location that user manages.
    # The hinted location sorts second, so only the hint can preselect it.
    SandboxAccount.objects.create(platform="gbp", account_id="accounts/1/locations/10", name="Abbey shop",
                                  extra={"email": "someone@else.example"})
    SandboxAccount.objects.create(platform="gbp", account_id="accounts/2/locations/20", name="Acme Bakery",
                                  extra={"email": "owner@acme.example", "sub": "110248495921238986420"})
    connector_class = get_connector_class("gbp")
    redirect_uri = "https://app.example.com/connections/callback/gbp"
    url = connector_class.authorize_url(state="st-9", redirect_uri=redirect_uri, scopes=[SCOPE],
                                        account_hint="owner@acme.example")
    assert url.startswith(f"{sandbox}/sandbox/gbp/o/oauth2/v2/auth?")
    for part in ("access_type=offline", "prompt=consent", "include_granted_scopes=true",
                 "login_hint=owner%40acme.example", "response_type=code"):
        assert part in url
    by_sub = connector_class.authorize_url(state="s", redirect_uri=redirect_uri, scopes=[SCOPE],
                                           account_hint="110248495921238986420")
    assert consent_page(requests.Session(), by_sub)[3] == "accounts/2/locations/20"

    browser = requests.Session()
    _, _, offered, preselected = consent_page(browser, url)
    assert preselected == "accounts/2/locations/20" and len(offered) == 2
    answer = consent(browser, url)
    assert answer["state"] == "st-9"
    tokens = connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert tokens.refresh_token and tokens.scopes == [SCOPE]

    connection = Connection(tenant=tenant, platform="gbp", access_token=tokens.access_token)
    info = connector_class(connection).account_info()
    assert (info.account_id, info.name, info.scopes) == ("accounts/2/locations/20", "Acme Bakery", [SCOPE])

    with pytest.raises(PartnerError) as caught:  # a code works once
        connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert caught.value.body["error"] == "invalid_grant"
    assert_secrets_absent(tokens.access_token, tokens.refresh_token, answer["code"], "dev-gbp-secret")


def test_a_location_name_is_not_a_google_login_hint_and_is_left_out(settings):
    url = get_connector_class("gbp").authorize_url(state="s", redirect_uri="https://app.example.com/cb",
                                                   scopes=[SCOPE], account_hint=LOCATION)
    assert "login_hint" not in url


def test_user_who_declines_comes_back_with_access_denied(sandbox):
    SandboxAccount.objects.create(platform="gbp", account_id="accounts/3/locations/30", name="Shop")
    url = get_connector_class("gbp").authorize_url(state="s1", redirect_uri="https://app.example.com/cb",
                                                   scopes=[SCOPE])
    assert consent(requests.Session(), url, action="deny") == {"error": "access_denied", "state": "s1"}


def test_a_wrong_client_secret_is_invalid_client(sandbox):
    # The sandbox reads the same settings as the connector, so the wrong secret is sent by hand.
    response = requests.post(f"{sandbox}/sandbox/gbp/token", timeout=10, data={
        "grant_type": "authorization_code", "code": "c", "redirect_uri": "https://app.example.com/cb",
        "client_id": "dev-gbp-client.apps.googleusercontent.com", "client_secret": "not-ours"})
    assert response.status_code == 401
    assert classify_partner_error("gbp", 401, response.json()).code.value == "AUTH_INVALID"


# ------------------------------------------------------------------ faults


def test_missing_scope_names_the_scope_in_www_authenticate(location):
    faults.set_fault("gbp", faults.REMOVE_SCOPE, account_id=LOCATION, scope=SCOPE)
    with pytest.raises(PartnerError) as caught:
        publish(location, content="x")
    assert 'error="insufficient_scope"' in caught.value.headers["WWW-Authenticate"]
    details = caught.value.body["error"]["details"]
    assert details[0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert classify_failure(caught.value).missing_scopes == [SCOPE]


def test_a_throttle_with_retry_info_says_when_to_retry(location):
    faults.set_fault("gbp", faults.RATE_LIMIT, account_id=LOCATION, retry_after=42)
    with pytest.raises(PartnerError) as caught:
        get_connector(location).ping()
    assert "Retry-After" not in caught.value.headers  # Google puts it in the body
    classified = classify_failure(caught.value)
    assert classified.code.value == "RATE_LIMIT_429" and classified.retry_after_s == 42


def test_an_unknown_token_is_refused_as_invalid_credentials(location):
    location.access_token = "ya29.a0-not-a-token-google-issued"
    with pytest.raises(PartnerError) as caught:
        get_connector(location).ping()
    assert caught.value.headers["WWW-Authenticate"] == 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    # Google cannot say expired from invalid: the classifier says expired, and the refresh decides.
    assert classify_failure(caught.value).code.value == "AUTH_EXPIRED"


# ------------------------------------------------------------------ Pub/Sub push


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/webhooks/gbp", _Receiver.received
    server.shutdown()
    server.server_close()


def test_a_notification_is_a_pubsub_push_signed_with_a_key_the_sandbox_publishes(sandbox, receiver):
    url, received = receiver
    response = send_gbp_notification(url, "VOICE_OF_MERCHANT_UPDATED", LOCATION, extra={"hasVoiceOfMerchant": False})
    assert response.status_code == 204

    [(headers, raw)] = received
    envelope = json.loads(raw)
    assert envelope["subscription"] == "projects/sandbox-project/subscriptions/gbp"
    data = json.loads(base64.b64decode(envelope["message"]["data"]))
    assert data == {"type": "VOICE_OF_MERCHANT_UPDATED", "location_name": LOCATION, "hasVoiceOfMerchant": False}

    # What a receiver does: verify the OIDC token against the (sandbox's) Google certificates.
    scheme, token = headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer"
    signing_key = jwt.PyJWKClient(f"{sandbox}/sandbox/gbp/oauth2/v3/certs").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], audience=url,
                        issuer="https://accounts.google.com")
    assert claims["email"] == "gbp-push@sandbox-project.iam.gserviceaccount.com" and claims["email_verified"]


def test_a_token_signed_with_another_key_does_not_verify(sandbox, receiver):
    from cryptography.hazmat.primitives.asymmetric import rsa

    url, received = receiver
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    send_gbp_notification(url, "NEW_REVIEW", LOCATION, token=push_token(url, key=stranger))

    [(headers, _)] = received
    token = headers["Authorization"].split(" ", 1)[1]
    signing_key = jwt.PyJWKClient(f"{sandbox}/sandbox/gbp/oauth2/v3/certs").get_signing_key_from_jwt(token)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, signing_key.key, algorithms=["RS256"], audience=url)
