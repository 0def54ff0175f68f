"""Processing stored events: the mapping table, the tenant's flag, failures retried then dead-lettered, replay."""

import pytest

from connections.models import Connection, ConnectionAudit
from recovery.deadletter import dead_letter_requeue
from recovery.models import DeadLetter
from recovery.taxonomy import ErrorCode
from tests.factories import ConnectionFactory, TenantFactory
from tests.recovery.pipeline_helpers import autopause
from tests.webhooks.helpers import database_fault, run_due_retries, run_webhooks_worker, scheduled_job_ids
from webhooks.mapping import Action, Intent, intents_for
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process, webhook_events_replay
from webhooks.verification import Delivery
from webhooks.writer import webhook_receive

# -- the table (docs/webhooks.md) ------------------------------------------------------------------

META_PERMISSIONS = {"object": "permissions", "entry": [{"id": "u1", "time": 1, "changes": [
    {"field": "pages_manage_posts", "value": {"verb": "revoked"}},
    {"field": "instagram_content_publish", "value": {"verb": "revoked"}},
    {"field": "pages_read_engagement", "value": {"verb": "granted"}}]}]}


@pytest.mark.parametrize("platform, event_type, payload, expected", [
    ("meta", "deauthorize", {"user_id": "u1"}, [("u1", Action.REVOKE, None, ())]),
    ("meta", "data_deletion", {"user_id": 42}, [("42", Action.REVOKE, None, ())]),
    ("meta", "permissions:connected", {"object": "permissions", "entry": [
        {"id": "u1", "changes": [{"field": "connected", "value": {"verb": "disconnected"}}]}]},
     [("u1", Action.REVOKE, None, ())]),
    ("meta", "permissions:connected", {"object": "permissions", "entry": [
        {"id": "u1", "changes": [{"field": "connected", "value": {"verb": "connected"}}]}]}, []),
    ("meta", "permissions:pages_manage_posts", META_PERMISSIONS,  # one reconnect asks for both
     [("u1", Action.NEEDS_SCOPES, ErrorCode.PERMISSION_INSUFFICIENT, ("pages_manage_posts", "instagram_content_publish"))]),
    ("meta", "page:feed", {"object": "page", "entry": [{"id": "p1", "changes": [{"field": "feed", "value": {}}]}]}, []),
    ("tiktok", "authorization.removed", {"user_openid": "o1", "content": '{"reason": 1}'}, [("o1", Action.REVOKE, None, ())]),
    ("tiktok", "authorization.removed", {"user_openid": "o1", "content": '{"reason": 4}'},
     [("o1", Action.PAUSE, ErrorCode.ACCOUNT_RESTRICTED, ())]),
    ("tiktok", "authorization.removed", {"user_openid": "o1", "content": '{"reason": 5}'},
     [("o1", Action.PAUSE, ErrorCode.AUTH_REVOKED, ())]),
    ("tiktok", "authorization.removed", {"user_openid": "o1", "content": "not json"},
     [("o1", Action.PAUSE, ErrorCode.AUTH_REVOKED, ())]),
    ("tiktok", "post.publish.failed", {"user_openid": "o1", "content": '{"publish_id": "v1", "reason": "auth_removed"}'},
     [("o1", Action.PAUSE, ErrorCode.AUTH_REVOKED, ())]),
    ("tiktok", "post.publish.failed", {"user_openid": "o1", "content": '{"reason": "file_format_check_failed"}'}, []),
    ("tiktok", "post.publish.complete", {"user_openid": "o1", "content": "{}"}, []),
    ("gbp", "LOSS_OF_VOICE_OF_MERCHANT", {"data": {"location_name": "accounts/1/locations/2"}},
     [("accounts/1/locations/2", Action.PAUSE, ErrorCode.RESOURCE_NOT_FOUND, ())]),
    ("gbp", "VOICE_OF_MERCHANT_UPDATED", {"data": {"locationName": "locations/2", "hasVoiceOfMerchant": False}},
     [("locations/2", Action.PAUSE, ErrorCode.RESOURCE_NOT_FOUND, ())]),
    ("gbp", "VOICE_OF_MERCHANT_UPDATED", {"data": {"location_name": "locations/2"}}, []),  # gained, or unsaid
    ("gbp", "NEW_REVIEW", {"data": {"location_name": "accounts/1/locations/2"}}, []),
    ("linkedin", "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", {"notificationId": 1}, []),
    ("mailchimp", "unsubscribe", {"data": {"action": "delete", "list_id": "l1"}}, []),
    ("mailchimp", "cleaned", {"data": {"reason": "hard", "list_id": "l1"}}, []),
    ("meta", "deauthorize", {"user_id": {"not": "an id"}}, []),
    ("gbp", "LOSS_OF_VOICE_OF_MERCHANT", {"data": "not an object"}, []),
])
def test_which_events_change_a_connection_and_how(platform, event_type, payload, expected):
    intents = intents_for(platform, event_type, payload)

    assert [(i.account_id, i.action, i.code, i.scopes) for i in intents] == expected


# -- processing --------------------------------------------------------------------------------------

def deauthorize(user_id: str, issued_at: int = 1) -> WebhookEvent:
    delivery = Delivery("meta", f"deauthorize:sha256:{user_id}:{issued_at}", "deauthorize",
                        {"algorithm": "HMAC-SHA256", "issued_at": issued_at, "user_id": user_id})
    return WebhookEvent.objects.get(pk=webhook_receive(delivery).event_id)


@pytest.mark.django_db
def test_an_event_changes_the_account_in_every_tenant_that_connected_it(tenant, other_tenant):
    ours = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")
    theirs = ConnectionFactory(tenant=other_tenant, platform="meta", external_account_id="u1")
    autopause(tenant, True)
    autopause(other_tenant, True)

    assert webhook_event_process(deauthorize("u1").pk) == WebhookEvent.Outcome.APPLIED

    assert Connection.objects.get(pk=ours.pk).status == Connection.Status.REVOKED
    assert Connection.objects.get(pk=theirs.pk).status == Connection.Status.REVOKED


@pytest.mark.django_db
def test_with_auto_pause_off_for_the_tenant_the_event_is_recorded_and_the_channel_left_alone(tenant):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")
    autopause(tenant, False)
    event = deauthorize("u1")

    assert webhook_event_process(event.pk) == WebhookEvent.Outcome.NO_CHANGE

    event.refresh_from_db()
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE
    [action] = event.details["actions"]
    assert action["changed"] is False and "RECOVERY_AUTOPAUSE_ENABLED" in action["note"]


@pytest.mark.django_db
def test_an_event_is_processed_once_however_many_jobs_run_it(tenant):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")
    autopause(tenant, True)
    event = deauthorize("u1")

    assert webhook_event_process(event.pk) == WebhookEvent.Outcome.APPLIED
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.ACTIVE)  # reconnected since
    assert webhook_event_process(event.pk) is None

    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE
    assert ConnectionAudit.objects.filter(connection=connection, action="revoke").count() == 1


@pytest.mark.django_db
def test_an_already_revoked_connection_is_no_change(tenant):
    ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1", status=Connection.Status.REVOKED)
    autopause(tenant, True)

    assert webhook_event_process(deauthorize("u1").pk) == WebhookEvent.Outcome.NO_CHANGE


@pytest.mark.django_db
def test_replay_runs_an_event_again_after_the_account_was_connected(tenant):
    autopause(tenant, True)
    event = deauthorize("u1")
    assert webhook_event_process(event.pk) == WebhookEvent.Outcome.UNKNOWN_ACCOUNT
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")

    assert webhook_events_replay([event.pk], actor="ops:operator") == {"applied": 1}

    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.REVOKED


@pytest.mark.django_db
def test_a_gbp_location_named_without_its_account_finds_its_connection(tenant):
    connection = ConnectionFactory(tenant=tenant, platform="gbp", external_account_id="accounts/1/locations/2")
    ConnectionFactory(tenant=tenant, platform="gbp", external_account_id="accounts/1/locations/22")
    autopause(tenant, True)
    stored = webhook_receive(Delivery("gbp", "m-1", "LOSS_OF_VOICE_OF_MERCHANT", {"data": {"location_name": "locations/2"}}))

    webhook_event_process(stored.event_id)

    statuses = dict(Connection.objects.values_list("external_account_id", "status"))
    assert statuses == {"accounts/1/locations/2": "paused", "accounts/1/locations/22": "active"}
    assert connection.audits.get(action="auto_pause").details["reason_code"] == "RESOURCE_NOT_FOUND"


# -- failures: classified WEBHOOK_FAILURE, retried, dead-lettered, requeued -----------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failing_event_is_retried_then_dead_lettered_and_a_requeue_processes_it(tenant, statsd):
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")
    autopause(tenant, True)
    event = deauthorize("u1")

    outcomes = []
    with database_fault("connections_connection"):
        for _ in range(6):  # WEBHOOK_FAILURE: 5 retries after the first attempt
            run_due_retries()
            run_webhooks_worker()
            event.refresh_from_db()
            outcomes.append(event.outcome)
            if event.outcome == WebhookEvent.Outcome.PENDING:  # a drain is planned for the retry's time
                assert event.next_attempt_at is not None and len(scheduled_job_ids()) == 1

    assert outcomes == ["pending"] * 5 + ["dead"]
    assert event.attempts == 6 and "test fault" in event.last_error
    letter = DeadLetter.objects.get(job_kind="webhook_event_process")
    assert (letter.error_code, letter.tenant_id, letter.connection_id) == ("WEBHOOK_FAILURE", tenant.pk, connection.pk)
    assert letter.payload["webhook_event_id"] == event.pk
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE  # nothing half-done
    assert statsd.count("recovery.webhook.processed", platform="meta", outcome="retrying") == 5
    assert statsd.count("recovery.webhook.processed", platform="meta", outcome="dead") == 1

    # The database is healthy again (the block ended): ops requeue the letter.
    assert dead_letter_requeue([letter.pk]) == 1
    run_webhooks_worker()

    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.REVOKED


@pytest.mark.django_db
def test_a_dead_event_naming_no_connection_of_ours_stays_for_ops_in_the_webhook_admin():
    TenantFactory()
    event = deauthorize("nobody")

    # Recording an outcome fails (only pending and dead can be written): retried, then dead.
    with database_fault("webhooks_webhookevent", "NEW.outcome NOT IN ('pending', 'dead')"):
        for _ in range(6):
            webhook_event_process(event.pk)

    event.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.DEAD
    assert not DeadLetter.objects.exists()


def test_an_intent_names_the_partners_signal_for_the_audit_row():
    intent = intents_for("tiktok", "authorization.removed", {"user_openid": "o1", "content": '{"reason": 2}'})[0]

    assert intent == Intent("o1", Action.PAUSE, ErrorCode.AUTH_REVOKED,
                            why="TikTok authorization.removed, reason 2 (the account was deleted)")
