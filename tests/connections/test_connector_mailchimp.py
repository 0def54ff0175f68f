"""The Mailchimp connector against the sandbox Mailchimp over real HTTP: campaigns sent and
scheduled, the datacenter from OAuth metadata, pings, OAuth, every fault, and webhooks."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl

import pytest
import requests
from django.utils import timezone

from connections.models import Connection
from connections.platforms.base import PartnerError, get_connector, get_connector_class
from connections.platforms.mailchimp import RefreshNotSupported, campaign_title
from recovery.classifier import classify_partner_error
from recovery.failures import classify_failure
from sandbox import faults
from sandbox.mailchimp import mailchimp_check_url, send_mailchimp_event
from sandbox.models import SandboxAccount, SandboxObject, SandboxRequest
from tests.factories import PostFactory
from tests.sandbox.sandbox_helpers import assert_secrets_absent, consent, consent_page, linked_connection

LIST_ID = "a1b2c3d4e5"
AUDIENCE = {"dc": "us6", "from_name": "Acme Bakery", "from_email": "hello@acme.example", "member_count": 840}
EMAIL = "Spring menu is here\n\nFresh asparagus tart.\n\nSee you soon!"


@pytest.fixture
def audience(sandbox, tenant):
    return linked_connection("mailchimp", tenant=tenant, external_account_id=LIST_ID,
                             external_account_name="Acme newsletter", extra=AUDIENCE)


def email_post(connection, content=EMAIL, **fields):
    return PostFactory(connection=connection, tenant=connection.tenant, kind="email", content=content, **fields)


def api_calls():
    return [(r.method, r.path.split("?")[0]) for r in SandboxRequest.objects.filter(platform="mailchimp")]


# ------------------------------------------------------------------ publishing


def test_an_email_post_becomes_a_sent_campaign_to_the_audience(audience):
    post = email_post(audience)
    result = get_connector(audience).publish(post)

    campaign = SandboxObject.objects.get(object_id=result.partner_post_id, kind="campaign").data
    assert campaign["status"] == "sent" and campaign["recipients"]["list_id"] == LIST_ID
    assert campaign["settings"] == {
        "subject_line": "Spring menu is here", "preview_text": "", "title": campaign_title(post),
        "from_name": "Acme Bakery", "reply_to": "hello@acme.example", "to_name": "",
    }
    assert campaign["_html"] == "<p>Fresh asparagus tart.</p><p>See you soon!</p>"
    assert result.url == campaign["archive_url"]
    assert api_calls() == [
        ("GET", "/oauth2/metadata"),            # where the account lives (dc), once per token
        ("GET", "/3.0/campaigns"),              # a draft left by an earlier attempt?
        ("GET", f"/3.0/lists/{LIST_ID}"),       # the audience's from name and reply-to
        ("POST", "/3.0/campaigns"),
        ("PUT", f"/3.0/campaigns/{result.partner_post_id}/content"),
        ("POST", f"/3.0/campaigns/{result.partner_post_id}/actions/send"),
    ]
    metadata_call = SandboxRequest.objects.filter(path="/oauth2/metadata").get()
    assert metadata_call.request_headers["Authorization"] == "OAuth [redacted]"
    assert_secrets_absent(audience.access_token)


def test_the_datacenter_is_asked_once_per_token(audience):
    connector = get_connector(audience)
    connector.ping()
    connector.ping()
    assert [path for _, path in api_calls()].count("/oauth2/metadata") == 1


def test_a_datacenter_that_is_not_mailchimps_shape_is_refused_before_any_api_call(audience):
    SandboxAccount.objects.filter(account_id=LIST_ID).update(extra={**AUDIENCE, "dc": "evil.example.com#"})
    with pytest.raises(PartnerError):
        get_connector(audience).ping()
    assert api_calls() == [("GET", "/oauth2/metadata")]


def test_html_bodies_are_sent_as_written(audience):
    post = email_post(audience, content="Hello\n<table><tr><td>Menu</td></tr></table>")
    result = get_connector(audience).publish(post)
    assert SandboxObject.objects.get(object_id=result.partner_post_id).data["_html"] == \
        "<table><tr><td>Menu</td></tr></table>"


def test_a_post_due_later_is_scheduled_with_mailchimp_on_a_quarter_hour(audience):
    when = (timezone.now() + timedelta(days=1)).replace(hour=9, minute=7, second=30, microsecond=0)
    result = get_connector(audience).publish(email_post(audience, scheduled_at=when))

    campaign = SandboxObject.objects.get(object_id=result.partner_post_id).data
    assert campaign["status"] == "schedule"
    assert campaign["send_time"] == when.replace(minute=15, second=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert api_calls()[-1] == ("POST", f"/3.0/campaigns/{result.partner_post_id}/actions/schedule")


def test_an_audience_without_a_reply_to_is_not_ready_to_send(audience):
    SandboxAccount.objects.filter(account_id=LIST_ID).update(extra={**AUDIENCE, "from_email": ""})
    with pytest.raises(PartnerError) as caught:
        get_connector(audience).publish(email_post(audience))
    assert caught.value.body["detail"] == "Your Campaign is not ready to send."
    assert classify_failure(caught.value).code.value == "VALIDATION_ERROR"


def test_a_draft_left_by_an_earlier_attempt_is_reused_not_duplicated(audience, sandbox):
    post = email_post(audience)
    draft = requests.post(f"{sandbox}/sandbox/mailchimp/3.0/campaigns", timeout=10,
                          headers={"Authorization": f"Bearer {audience.access_token}"},
                          json={"type": "regular", "recipients": {"list_id": LIST_ID},
                                "settings": {"subject_line": "Spring menu is here", "title": campaign_title(post),
                                             "from_name": "Acme Bakery", "reply_to": "hello@acme.example"}}).json()
    assert get_connector(audience).find_published(post) is None  # a draft was not sent

    result = get_connector(audience).publish(post)

    assert result.partner_post_id == draft["id"]
    assert SandboxObject.objects.filter(kind="campaign").count() == 1
    assert get_connector(audience).find_published(post).partner_post_id == draft["id"]
    other = email_post(audience, content="Another\n\nbody")
    assert get_connector(audience).find_published(other) is None


# ------------------------------------------------------------------ pings, tokens


def test_ping_checks_the_api_and_that_the_audience_still_exists(audience):
    info = get_connector(audience).ping()
    assert (info.account_id, info.name) == (LIST_ID, "Acme newsletter")
    assert api_calls()[1:] == [("GET", "/3.0/ping"), ("GET", f"/3.0/lists/{LIST_ID}")]

    faults.set_fault("mailchimp", faults.DELETE_TARGET, account_id=LIST_ID)
    with pytest.raises(PartnerError) as caught:
        get_connector(audience).ping()
    assert caught.value.body["title"] == "Resource Not Found"
    assert classify_failure(caught.value).code.value == "RESOURCE_NOT_FOUND"


def test_tokens_cannot_be_refreshed_and_say_so(audience):
    with pytest.raises(RefreshNotSupported, match="never expire"):
        get_connector(audience).refresh()
    assert not SandboxRequest.objects.exists()


# ------------------------------------------------------------------ OAuth


def test_oauth_round_trip_metadata_and_account_info(sandbox, tenant):
    SandboxAccount.objects.create(platform="mailchimp", account_id="f00dcafe01", name="Acme newsletter",
                                  extra={"dc": "us21", "account_name": "Acme Ltd"})
    connector_class = get_connector_class("mailchimp")
    redirect_uri = "https://app.example.com/connections/callback/mailchimp"
    url = connector_class.authorize_url(state="st-5", redirect_uri=redirect_uri, scopes=[])
    assert url.startswith(f"{sandbox}/sandbox/mailchimp/oauth2/authorize?response_type=code&client_id=")

    answer = consent(requests.Session(), url, account_id="f00dcafe01")
    assert answer["state"] == "st-5"
    tokens = connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert tokens.expires_at is None and tokens.refresh_token == "" and tokens.scopes == []
    token_answer = SandboxRequest.objects.get(path="/oauth2/token")
    assert json.loads(token_answer.response_body)["expires_in"] == 0

    metadata = connector_class.metadata(tokens.access_token)
    assert (metadata["dc"], metadata["api_endpoint"], metadata["accountname"]) == \
        ("us21", "https://us21.api.mailchimp.com", "Acme Ltd")
    connection = Connection(tenant=tenant, platform="mailchimp", access_token=tokens.access_token)
    info = connector_class(connection).account_info()
    assert (info.account_id, info.name) == ("f00dcafe01", "Acme newsletter")

    with pytest.raises(PartnerError) as caught:  # a code works once
        connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert caught.value.body["error"] == "invalid_grant"
    assert_secrets_absent(tokens.access_token, answer["code"], "dev-mailchimp-secret")


def test_the_api_base_follows_the_accounts_datacenter_outside_the_sandbox(audience, settings):
    from connections.platforms import base

    connector = get_connector(audience)
    connector._dc()  # asked of the sandbox's metadata: us6
    settings.PARTNERS_USE_SANDBOX = False
    assert base.partner_base_url("mailchimp", "api") == "https://{dc}.api.mailchimp.com"
    assert connector._api("ping") == "https://us6.api.mailchimp.com/3.0/ping"


def test_consent_page_offers_the_audiences_without_a_hint(sandbox):
    SandboxAccount.objects.create(platform="mailchimp", account_id="0000000001", name="A")
    url = get_connector_class("mailchimp").authorize_url(state="s", redirect_uri="https://app.example.com/cb",
                                                         scopes=[], account_hint="ignored")
    assert "ignored" not in url
    _, _, offered, _ = consent_page(requests.Session(), url)
    assert offered == ["0000000001"]
    assert consent(requests.Session(), url, action="deny") == {"error": "access_denied", "state": "s"}


# ------------------------------------------------------------------ faults


def test_error_bodies_are_problem_json_with_mailchimps_titles(audience):
    faults.set_fault("mailchimp", faults.RESTRICT_ACCOUNT, account_id=LIST_ID)
    with pytest.raises(PartnerError) as caught:
        get_connector(audience).ping()
    error = caught.value
    assert error.status == 503
    assert error.headers["Content-Type"] == "application/problem+json; charset=utf-8"
    assert error.body["title"] == "Compliance Related" and error.body["detail"] == "This method has been disabled."
    assert set(error.body) == {"type", "title", "status", "detail", "instance"}
    assert not classify_failure(error).retryable  # a 503 that is not transient


def test_a_throttle_with_retry_after_is_honoured(audience):
    faults.set_fault("mailchimp", faults.RATE_LIMIT, account_id=LIST_ID, retry_after=7)
    with pytest.raises(PartnerError) as caught:
        get_connector(audience).ping()
    assert caught.value.body["detail"] == "You have exceeded the limit of 10 simultaneous connections."
    assert classify_failure(caught.value).retry_after_s == 7


def test_an_unknown_token_is_auth_invalid_at_metadata_and_at_the_api(audience, sandbox):
    with pytest.raises(PartnerError) as caught:
        get_connector_class("mailchimp").metadata("not-a-token")
    assert caught.value.body["error"] == "invalid_token"
    assert classify_failure(caught.value).code.value == "AUTH_INVALID"
    response = requests.get(f"{sandbox}/sandbox/mailchimp/3.0/ping", headers={"Authorization": "Bearer nope"},
                            timeout=10)
    assert response.status_code == 401 and response.json()["title"] == "API Key Invalid"
    assert classify_partner_error("mailchimp", 401, response.json()).code.value == "AUTH_INVALID"


def test_a_method_the_path_does_not_take_is_405(audience, sandbox):
    response = requests.delete(f"{sandbox}/sandbox/mailchimp/3.0/ping",
                               headers={"Authorization": f"Bearer {audience.access_token}"}, timeout=10)
    assert response.status_code == 405 and response.json()["title"] == "Method Not Allowed"


# ------------------------------------------------------------------ webhooks


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.received.append(("GET", self.path, dict(self.headers), b""))
        self.send_response(200)
        self.end_headers()

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(("POST", self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", _Receiver.received
    server.shutdown()
    server.server_close()


def test_webhooks_are_form_posts_to_the_secret_url_and_creation_checks_the_url(receiver):
    base, received = receiver
    url = f"{base}/webhooks/mailchimp/s3cr3t-token"
    assert mailchimp_check_url(url).status_code == 200
    send_mailchimp_event(url, "unsubscribe", {
        "action": "delete", "reason": "manual", "id": "8a25ff1d98", "list_id": LIST_ID,
        "email": "ann@example.com", "merges": {"EMAIL": "ann@example.com", "FNAME": "Ann"},
    })

    (check_method, _, check_headers, _), (method, path, headers, body) = received
    assert check_method == "GET" and check_headers["User-Agent"] == "MailChimp.com WebHook Validator"
    assert method == "POST" and path == "/webhooks/mailchimp/s3cr3t-token"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = dict(parse_qsl(body.decode()))
    assert fields["type"] == "unsubscribe" and fields["data[action]"] == "delete"
    assert fields["data[merges][FNAME]"] == "Ann" and fields["data[list_id]"] == LIST_ID
    assert len(fields["fired_at"]) == len("2009-03-26 21:40:57")
    assert not any(name.lower().startswith("x-mailchimp-signature") for name in headers)
