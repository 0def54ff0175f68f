"""The receivers end to end: each partner's webhooks as the sandbox partners send them (signed as the
partner signs them) to this live server, stored, answered 200 at once, then processed by a real worker."""

import socket
import time

import pytest
import requests
from django.urls import reverse

from connections.models import Connection, ConnectionAudit
from recovery.autopause import scopes_to_request
from sandbox import webhooks as sender
from sandbox.gbp import push_token, send_gbp_notification
from sandbox.mailchimp import mailchimp_check_url, send_mailchimp_event
from tests.factories import ConnectionFactory
from tests.webhooks.helpers import run_webhooks_worker
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("autopause_on")]


def url(base: str, name: str, **kwargs) -> str:
    return base + reverse(f"webhooks:{name}", kwargs=kwargs)


def processed(connection=None):
    run_webhooks_worker()
    if connection is not None:
        connection.refresh_from_db()
    return connection


def only_event() -> WebhookEvent:
    [event] = WebhookEvent.objects.all()
    return event


# -- Meta ------------------------------------------------------------------------------------------


def test_meta_subscription_handshake_echoes_the_challenge_for_our_verify_token(partners, settings):
    settings.META_VERIFY_TOKEN = "our-verify-token"
    endpoint = url(partners, "meta")

    answer = sender.meta_verify_subscription(endpoint, "our-verify-token")
    challenge = answer.request.url.split("hub.challenge=")[1].split("&")[0]

    assert (answer.status_code, answer.text) == (200, challenge)
    assert sender.meta_verify_subscription(endpoint, "a-guess").status_code == 403


def test_meta_deauthorize_revokes_the_users_connection(partners, tenant, statsd):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="10158000000000001")

    answer = sender.send_meta_deauthorize(url(partners, "meta-deauthorize"), "10158000000000001")

    assert answer.status_code == 200
    assert only_event().outcome == WebhookEvent.Outcome.PENDING  # answered before processing
    processed(connection)
    assert connection.status == Connection.Status.REVOKED
    audit = ConnectionAudit.objects.get(connection=connection, action=ConnectionAudit.Action.REVOKE)
    assert audit.actor == "partner:meta" and audit.details["reason_code"] == "AUTH_REVOKED"
    assert audit.details["webhook_event_id"] == only_event().pk
    assert only_event().outcome == WebhookEvent.Outcome.APPLIED
    assert statsd.count("recovery.webhook.received", platform="meta") == 1
    assert statsd.count("recovery.webhook.processed", platform="meta", outcome="applied") == 1
    [lag_ms] = statsd.values("recovery.webhook.lag", platform="meta")
    assert 0 <= lag_ms < 60_000


def test_meta_data_deletion_answers_a_status_url_and_code_and_revokes(partners, tenant):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="10158000000000002")
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": "10158000000000002"}

    answer = requests.post(url(partners, "meta-data-deletion"),
                           data={"signed_request": sender.meta_signed_request(payload)}, timeout=10)

    assert answer.status_code == 200
    body = answer.json()
    assert body["confirmation_code"].startswith(f"{only_event().pk}.")
    assert body["url"] == url(partners, "meta-data-deletion-status", code=body["confirmation_code"])
    assert "In progress" in requests.get(body["url"], timeout=10).text
    processed(connection)
    assert connection.status == Connection.Status.REVOKED
    page = requests.get(body["url"], timeout=10)
    assert page.status_code == 200 and body["confirmation_code"] in page.text and "Done" in page.text
    guessed = url(partners, "meta-data-deletion-status", code=f"{only_event().pk}.guessed")
    assert requests.get(guessed, timeout=10).status_code == 404


def test_meta_permission_revoked_marks_the_connection_for_a_scope_reconnect(partners, tenant):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="10158000000000003",
                                   account_type="facebook_page")

    answer = sender.send_meta_change(url(partners, "meta"), "permissions", "10158000000000003", "pages_manage_posts",
                                     {"verb": "revoked"})

    assert answer.status_code == 200
    processed(connection)
    assert connection.status == Connection.Status.ATTENTION
    assert connection.pause_reason == "PERMISSION_INSUFFICIENT"
    assert "pages_manage_posts" in scopes_to_request(connection)
    assert ConnectionAudit.objects.filter(connection=connection, action="scopes_missing", actor="partner:meta").exists()


def test_meta_app_disconnected_by_the_user_revokes(partners, tenant):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="10158000000000004")

    sender.send_meta_change(url(partners, "meta"), "permissions", "10158000000000004", "connected",
                            {"verb": "disconnected"})

    assert processed(connection).status == Connection.Status.REVOKED


def test_meta_page_activity_is_stored_and_ignored(partners, tenant, statsd):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="104857600001")

    answer = sender.send_meta_change(url(partners, "meta"), "page", "104857600001", "feed",
                                     {"item": "status", "verb": "add", "message": "Café"})

    assert answer.status_code == 200
    processed(connection)
    assert (only_event().event_type, only_event().outcome) == ("page:feed", WebhookEvent.Outcome.IGNORED)
    assert statsd.count("recovery.webhook.processed", platform="meta", outcome="ignored") == 1
    assert only_event().payload["entry"][0]["changes"][0]["value"]["message"] == "Café"
    assert connection.status == Connection.Status.ACTIVE


# -- LinkedIn --------------------------------------------------------------------------------------


def test_linkedin_validation_passes_and_notifications_are_stored_once_and_ignored(partners):
    endpoint = url(partners, "linkedin")
    notification = {"type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notificationId": 1234567,
                    "organizationalEntity": "urn:li:organization:2414183", "action": "COMMENT"}

    assert sender.linkedin_validate(endpoint) is True
    assert sender.send_linkedin_event(endpoint, notification).status_code == 200
    assert sender.send_linkedin_event(endpoint, {**notification, "action": "LIKE"}).status_code == 200  # same id
    processed()

    assert (only_event().event_id, only_event().outcome) == ("1234567", WebhookEvent.Outcome.IGNORED)


# -- TikTok ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason, status, code", [
    (1, Connection.Status.REVOKED, "AUTH_REVOKED"),       # the user disconnected the app
    (5, Connection.Status.ATTENTION, "AUTH_REVOKED"),     # the developer revoked it
    (2, Connection.Status.ATTENTION, "AUTH_REVOKED"),     # the account was deleted
    (4, Connection.Status.PAUSED, "ACCOUNT_RESTRICTED"),  # the account was banned
])
def test_tiktok_authorization_removed_revokes_or_pauses_by_reason(partners, tenant, reason, status, code):
    connection = ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.example12345")

    answer = sender.send_tiktok_event(url(partners, "tiktok"), "authorization.removed", "act.example12345",
                                      {"reason": reason})

    assert answer.status_code == 200
    processed(connection)
    assert (connection.status, connection.pause_reason) == (status, code)
    assert connection.audits.filter(actor="partner:tiktok").count() == 1


def test_tiktok_delivery_older_than_the_tolerance_is_refused_and_not_stored(partners, tenant, statsd):
    ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.example12345")

    answer = sender.send_tiktok_event(url(partners, "tiktok"), "authorization.removed", "act.example12345",
                                      {"reason": 1}, timestamp=int(time.time()) - 3600)

    assert answer.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert statsd.count("recovery.webhook.rejected", platform="tiktok", reason="timestamp") == 1


def test_a_redelivered_event_is_answered_200_and_not_processed_again(partners, tenant):
    connection = ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.example12345")
    delivery = dict(event="authorization.removed", user_openid="act.example12345", content={"reason": 5},
                    timestamp=int(time.time()))

    assert sender.send_tiktok_event(url(partners, "tiktok"), **delivery).status_code == 200
    processed(connection)
    connection.status = Connection.Status.ACTIVE  # reconnected since (by hand here)
    connection.save()
    assert sender.send_tiktok_event(url(partners, "tiktok"), **delivery).status_code == 200  # TikTok retries
    processed(connection)

    assert WebhookEvent.objects.count() == 1
    assert connection.status == Connection.Status.ACTIVE
    assert connection.audits.filter(actor="partner:tiktok").count() == 1


def test_an_event_for_an_account_nobody_connected_is_stored_and_ignored(partners, tenant):
    ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.someone-else")

    sender.send_tiktok_event(url(partners, "tiktok"), "authorization.removed", "act.nobody-here", {"reason": 1})
    processed()

    assert only_event().outcome == WebhookEvent.Outcome.UNKNOWN_ACCOUNT
    assert not ConnectionAudit.objects.filter(actor="partner:tiktok").exists()


def test_an_unknown_event_type_is_stored_and_ignored(partners, tenant):
    ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.example12345")

    answer = sender.send_tiktok_event(url(partners, "tiktok"), "video.new_kind_of_event", "act.example12345", {"x": 1})
    processed()

    assert answer.status_code == 200
    assert (only_event().event_type, only_event().outcome) == ("video.new_kind_of_event", WebhookEvent.Outcome.IGNORED)


# -- Google Business Profile -----------------------------------------------------------------------


def test_gbp_loss_of_voice_of_merchant_pauses_the_location(partners, tenant):
    location = "accounts/1234567890/locations/9876543210"
    connection = ConnectionFactory(tenant=tenant, platform="gbp", external_account_id=location)

    answer = send_gbp_notification(url(partners, "gbp"), "LOSS_OF_VOICE_OF_MERCHANT", location)

    assert answer.status_code == 200
    processed(connection)
    assert (connection.status, connection.pause_reason) == (Connection.Status.PAUSED, "RESOURCE_NOT_FOUND")
    assert connection.audits.get(action="auto_pause").actor == "partner:gbp"


def test_gbp_voice_of_merchant_updated_pauses_only_when_it_was_lost(partners, tenant):
    location = "accounts/1/locations/2"
    connection = ConnectionFactory(tenant=tenant, platform="gbp", external_account_id=location)
    endpoint = url(partners, "gbp")

    send_gbp_notification(endpoint, "VOICE_OF_MERCHANT_UPDATED", location, extra={"hasVoiceOfMerchant": True})
    send_gbp_notification(endpoint, "NEW_REVIEW", location, extra={"review_name": f"{location}/reviews/3"})
    assert processed(connection).status == Connection.Status.ACTIVE

    send_gbp_notification(endpoint, "VOICE_OF_MERCHANT_UPDATED", location, extra={"hasVoiceOfMerchant": False})
    assert processed(connection).status == Connection.Status.PAUSED
    assert sorted(WebhookEvent.objects.values_list("outcome", flat=True)) == ["applied", "ignored", "ignored"]


def test_gbp_push_with_a_token_google_did_not_sign_is_refused(partners, statsd):
    from cryptography.hazmat.primitives.asymmetric import rsa

    endpoint = url(partners, "gbp")
    forged = push_token(endpoint, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))

    answer = send_gbp_notification(endpoint, "LOSS_OF_VOICE_OF_MERCHANT", "accounts/1/locations/2", token=forged)
    other_audience = send_gbp_notification(endpoint, "LOSS_OF_VOICE_OF_MERCHANT", "accounts/1/locations/2",
                                           audience="https://elsewhere.example.com/push")

    assert (answer.status_code, other_audience.status_code) == (401, 401)
    assert not WebhookEvent.objects.exists()
    assert statsd.count("recovery.webhook.rejected", platform="gbp", reason="token") == 2


# -- Mailchimp -------------------------------------------------------------------------------------


def test_mailchimp_creation_check_and_events_at_our_secret_url(partners, settings):
    settings.MAILCHIMP_WEBHOOK_SECRET = "unguessable-secret-in-the-path"
    endpoint = url(partners, "mailchimp", secret="unguessable-secret-in-the-path")

    assert mailchimp_check_url(endpoint).status_code == 200
    answer = send_mailchimp_event(endpoint, "unsubscribe", {"action": "delete", "reason": "manual", "id": "8a25ff1d98",
                                                            "list_id": "a6b5da1054", "email": "ann@example.com"})
    processed()

    assert answer.status_code == 200
    assert (only_event().event_type, only_event().outcome) == ("unsubscribe", WebhookEvent.Outcome.IGNORED)
    assert only_event().payload["data"]["list_id"] == "a6b5da1054"
    wrong = url(partners, "mailchimp", secret="a-guess")
    assert mailchimp_check_url(wrong).status_code == 403
    assert send_mailchimp_event(wrong, "unsubscribe", {"list_id": "a6b5da1054"}).status_code == 403
    assert WebhookEvent.objects.count() == 1


# -- refusals --------------------------------------------------------------------------------------

FORGED = {
    "meta": lambda base: sender.send_meta_change(url(base, "meta"), "permissions", "1", "connected",
                                                 {"verb": "disconnected"}, secret="not-the-app-secret"),
    "meta-deauthorize": lambda base: sender.send_meta_deauthorize(url(base, "meta-deauthorize"), "1",
                                                                  secret="not-the-app-secret"),
    "linkedin": lambda base: sender.send_linkedin_event(url(base, "linkedin"), {"notificationId": 1}, secret="x"),
    "tiktok": lambda base: sender.send_tiktok_event(url(base, "tiktok"), "authorization.removed", "act.1",
                                                    {"reason": 1}, secret="not-the-client-secret"),
    "gbp": lambda base: send_gbp_notification(url(base, "gbp"), "LOSS_OF_VOICE_OF_MERCHANT", "accounts/1/locations/2",
                                              token="not-a-google-token"),
    "mailchimp": lambda base: send_mailchimp_event(url(base, "mailchimp", secret="guess"), "cleaned", {"list_id": "1"}),
    "unsigned": lambda base: requests.post(url(base, "meta"), json={"object": "permissions"}, timeout=10),
}


@pytest.mark.parametrize("receiver", sorted(FORGED))
def test_a_forged_or_unsigned_delivery_is_refused_counted_and_not_stored(partners, statsd, receiver):
    answer = FORGED[receiver](partners)

    assert answer.status_code in (401, 403)
    assert not WebhookEvent.objects.exists()
    assert statsd.count("recovery.webhook.rejected") == 1


def test_a_signed_body_that_is_not_json_is_malformed(partners, statsd, settings):
    import hashlib
    import hmac

    raw = b"{not json"
    signature = hmac.new(settings.META_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()

    answer = requests.post(url(partners, "meta"), data=raw, timeout=10,
                           headers={"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"})

    assert answer.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert statsd.count("recovery.webhook.rejected", platform="meta", reason="malformed") == 1


def test_an_oversized_body_is_refused_from_its_content_length_before_it_is_sent(partners, settings):
    host, port = partners.removeprefix("http://").split(":")
    head = (f"POST {reverse('webhooks:tiktok')} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {settings.WEBHOOK_MAX_BODY_BYTES + 1}\r\nConnection: close\r\n\r\n").encode()

    with socket.create_connection((host, int(port)), timeout=5) as client:
        client.sendall(head + b'{"event":')  # the rest of the body is never sent: the answer comes anyway
        answer = client.recv(4096)

    assert answer.startswith(b"HTTP/1.1 413")
    assert not WebhookEvent.objects.exists()
