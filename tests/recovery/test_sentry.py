"""Errors to people: what reaches Sentry, with which tags, and that no token ever does."""

import logging

import pytest
import requests
import sentry_sdk
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from sentry_sdk.transport import Transport

from config.sentry import init_sentry
from connections.models import Post
from connections.platforms.base import PartnerError
from recovery.models import DeadLetter
from sandbox import faults
from tests.recovery.pipeline_helpers import (
    PAGE_ID,
    due_post,
    enqueue_due,
    page_connection,
    run_publish_worker,
)


class CapturingTransport(Transport):
    """Keeps what would be sent to Sentry, exactly as it would be serialised."""

    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    @property
    def events(self):
        return [event for event in (envelope.get_event() for envelope in self.envelopes) if event]

    def sent_text(self) -> str:
        return "\n".join(envelope.serialize().decode("utf-8", "replace") for envelope in self.envelopes)


@pytest.fixture
def sentry():
    transport = CapturingTransport()
    assert init_sentry("https://public@o0.ingest.sentry.io/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.init()  # no DSN: Sentry off again for the other tests


@pytest.mark.django_db(transaction=True)
def test_an_escalated_failure_is_reported_with_code_platform_and_tenant(sentry, sandbox, tenant, settings):
    page = page_connection(tenant)
    # The partner's host speaks plain HTTP where TLS is expected: a real TLS failure (SSL_ERROR, critical).
    settings.SITE_URL = sandbox.replace("http://", "https://")
    post = due_post(page)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.DEAD and post.last_error_code == "SSL_ERROR"
    assert DeadLetter.objects.filter(post=post, error_code="SSL_ERROR").exists()
    [event] = sentry.events
    assert event["tags"]["code"] == "SSL_ERROR"
    assert event["tags"]["platform"] == "meta"
    assert event["tags"]["tenant_id"] == str(tenant.pk)
    assert event["fingerprint"] == ["classified-error", "SSL_ERROR"]
    assert event["level"] == "fatal"
    assert event["contexts"]["classification"]["action"] == "ESCALATE_TO_SUPPORT"


@pytest.mark.django_db(transaction=True)
def test_expected_failures_are_not_reported(sentry, sandbox, tenant, autopause_on):
    page = page_connection(tenant)
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id=PAGE_ID)
    expired = due_post(page)
    enqueue_due()

    run_publish_worker()

    expired.refresh_from_db()
    assert expired.status == Post.Status.WAITING_RECONNECT
    assert sentry.events == []


def test_an_expected_partner_error_escaping_a_job_is_not_sent_but_a_bug_is(sentry):
    expired = PartnerError("meta", 400, {"error": {"message": "Session has expired", "type": "OAuthException",
                                                   "code": 190, "error_subcode": 463}})
    throttled = PartnerError("tiktok", 429, {"error": {"code": "rate_limit_exceeded", "message": "slow down"}})
    for exc in (expired, throttled):
        try:
            raise exc
        except PartnerError:
            sentry_sdk.capture_exception()
    assert sentry.events == []

    try:
        raise KeyError("a bug of ours")
    except KeyError:
        sentry_sdk.capture_exception()
    assert len(sentry.events) == 1


def test_tokens_and_secrets_never_reach_sentry(sentry):
    access_token = "EAAJZCr4nd0mT0k3nValu3ThatMustNotLeak"
    refresh_token = "1//0gR3fr3shT0k3nThatMustNotLeak"
    client_secret = "cs-very-secret-value-123"
    logging.getLogger("connections.platforms").warning("calling with Authorization: Bearer %s", access_token)

    def call_partner(access_token, refresh_token):
        raise RuntimeError(
            f"refused: Authorization: Bearer {access_token} "
            f"url=https://graph.example/oauth?refresh_token={refresh_token}&client_secret={client_secret}"
        )

    try:
        call_partner(access_token, refresh_token)
    except RuntimeError:
        sentry_sdk.capture_exception()

    sent = sentry.sent_text()
    assert len(sentry.events) == 1
    for secret in (access_token, refresh_token, client_secret):
        assert secret not in sent
    assert "[redacted]" in sent
    assert "refused: Authorization: Bearer [redacted]" in sent  # the message stays readable


# -- a request that fails: what the Django integration sends about it ---------------------------

ACCESS_TOKEN = "EAAJZCr4nd0mT0k3nInAFrameVar0123"
QUERY_TOKEN = "ya29.a0AfB_byQueryStringToken0123"
HEADER_TOKEN = "act.HeaderBearerToken0123456789"
COOKIE_VALUE = "sessionid-value-that-must-not-leak"
BODY_SECRET = "client-secret-in-the-form-body"


@csrf_exempt
def failing_view(request):
    page_token = ACCESS_TOKEN  # a local named for a secret
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}  # a secret under a secret key
    url = f"https://graph.example/v21.0/me/feed?access_token={ACCESS_TOKEN}"  # a secret inside a string
    raise RuntimeError(f"partner call failed for {url} with {headers} and {page_token}")


urlpatterns = [path("boom/", failing_view)]


@pytest.mark.urls("tests.recovery.test_sentry")
@pytest.mark.django_db(transaction=True)
def test_a_failing_requests_token_in_headers_query_cookies_body_and_frame_vars_is_masked(sentry, live_server):
    response = requests.post(
        f"{live_server.url}/boom/?access_token={QUERY_TOKEN}&page=2",
        data={"client_secret": BODY_SECRET, "message": "hello"},
        headers={"Authorization": f"Bearer {HEADER_TOKEN}"},
        cookies={"sessionid": COOKIE_VALUE},
        timeout=10,
    )

    assert response.status_code == 500
    [event] = sentry.events
    sent = sentry.sent_text()
    for secret in (ACCESS_TOKEN, QUERY_TOKEN, HEADER_TOKEN, COOKIE_VALUE, BODY_SECRET):
        assert secret not in sent
    request = event["request"]
    # What ops need to read is still there.
    assert request["url"].endswith("/boom/") and request["method"] == "POST" and "page=2" in request["query_string"]
    assert request["headers"]["Authorization"] == "[redacted]"
    [frame] = [f for f in event["exception"]["values"][0]["stacktrace"]["frames"] if f["function"] == "failing_view"]
    assert frame["vars"]["page_token"] == "[redacted]"
    assert "partner call failed for https://graph.example/v21.0/me/feed?access_token=[redacted]" in sent
