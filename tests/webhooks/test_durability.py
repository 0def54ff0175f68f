"""Nothing acknowledged is lost: events received while Redis is down, or whose drain Redis lost, are
processed later (the sweeper, run by cron), once; a burst of deliveries costs one drain job."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import django_rq
import pytest
from django.urls import reverse
from django.utils import timezone
from rq.cron import CronScheduler

from connections.models import Connection
from sandbox import webhooks as sender
from tests.factories import ConnectionFactory
from tests.webhooks.helpers import database_fault, run_webhooks_worker
from webhooks.models import WebhookEvent
from webhooks.queue import webhooks_queue
from webhooks.services import webhook_events_sweep

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("autopause_on")]


def deauthorize_on_tiktok(base: str, openid: str = "act.example12345"):
    return sender.send_tiktok_event(base + reverse("webhooks:tiktok"), "authorization.removed", openid, {"reason": 1})


@pytest.fixture
def redis_down(settings):
    """The webhooks queue's Redis refuses connections until the returned function brings it back."""
    working = settings.RQ_QUEUES
    settings.RQ_QUEUES = {**working, "webhooks": {**working["webhooks"], "URL": "redis://127.0.0.1:1/0"}}

    def back():
        settings.RQ_QUEUES = working

    return back


def test_an_event_received_while_redis_is_down_is_answered_stored_and_processed_once_redis_is_back(
        partners, tenant, redis_down, settings):
    connection = ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.example12345")

    answer = deauthorize_on_tiktok(partners)

    assert answer.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.PENDING
    settings.WEBHOOK_SWEEP_GRACE_S = 0
    webhook_events_sweep()  # Redis still down: nothing can be requested yet
    redis_down()
    assert webhooks_queue().count == 0

    assert webhook_events_sweep() == 1
    assert webhooks_queue().count == 1
    run_webhooks_worker()

    connection.refresh_from_db()
    assert connection.status == Connection.Status.REVOKED
    assert webhook_events_sweep() == 0  # processed: nothing waits


def test_a_burst_of_deliveries_costs_one_drain_job_and_each_event_is_processed_once(partners, tenant):
    connections = [ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id=f"act.{i}") for i in range(5)]

    for i in range(5):
        assert deauthorize_on_tiktok(partners, f"act.{i}").status_code == 200
    assert webhooks_queue().count == 1
    run_webhooks_worker()

    for connection in connections:
        connection.refresh_from_db()
        assert connection.status == Connection.Status.REVOKED
        assert connection.audits.filter(action="revoke").count() == 1
    deauthorize_on_tiktok(partners, "act.late")  # after the drain: the doorbell rings again
    assert webhooks_queue().count == 1


def test_an_event_whose_drain_redis_lost_is_processed_after_the_grace_period(partners, tenant, settings):
    connection = ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.example12345")
    settings.WEBHOOK_SWEEP_GRACE_S = 300
    deauthorize_on_tiktok(partners)
    django_rq.get_connection("webhooks").flushdb()  # Redis restarted empty: the drain job is gone

    assert webhook_events_sweep() == 0  # just arrived: its drain may still be on its way
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    assert webhook_events_sweep() == 1
    run_webhooks_worker()

    connection.refresh_from_db()
    assert connection.status == Connection.Status.REVOKED


def test_a_planned_retry_is_processed_when_due_and_not_before(tenant, settings):
    connection = ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.1")
    settings.WEBHOOK_SWEEP_GRACE_S = 30
    long_ago = timezone.now() - timedelta(minutes=10)
    due = WebhookEvent.objects.create(
        platform="tiktok", event_id="e-1", event_type="authorization.removed", received_at=long_ago,
        payload={"user_openid": "act.1", "content": '{"reason": 1}'}, attempts=2, next_attempt_at=long_ago,
    )
    later = WebhookEvent.objects.create(
        platform="tiktok", event_id="e-2", event_type="authorization.removed", received_at=long_ago,
        payload={"user_openid": "act.1", "content": '{"reason": 5}'}, attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )

    assert webhook_events_sweep() == 1
    run_webhooks_worker()

    due.refresh_from_db()
    later.refresh_from_db()
    connection.refresh_from_db()
    assert (due.outcome, later.outcome) == (WebhookEvent.Outcome.APPLIED, WebhookEvent.Outcome.PENDING)
    assert connection.status == Connection.Status.REVOKED


def test_deliveries_arriving_at_once_are_each_stored_and_processed_once(partners, tenant):
    connections = [ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id=f"act.{i}") for i in range(12)]
    created = int(time.time())
    twice = dict(event="authorization.removed", user_openid="act.0", content={"reason": 1}, timestamp=created)
    endpoint = partners + reverse("webhooks:tiktok")
    sends = [lambda i=i: sender.send_tiktok_event(endpoint, "authorization.removed", f"act.{i}", {"reason": 1},
                                                  timestamp=created) for i in range(1, 12)]
    sends += [lambda: sender.send_tiktok_event(endpoint, **twice)] * 4  # TikTok's retries racing the first delivery

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda send: send().status_code, sends))
    run_webhooks_worker()

    assert answers == [200] * len(sends)
    assert WebhookEvent.objects.count() == 12
    for connection in connections:
        assert connection.audits.filter(action="revoke").count() == 1


def test_a_delivery_the_database_refuses_is_answered_503_and_the_next_one_is_stored(partners, tenant, statsd):
    ConnectionFactory(tenant=tenant, platform="tiktok", external_account_id="act.example12345")

    with database_fault("webhooks_webhookevent", "TRUE", event="INSERT"):
        refused = deauthorize_on_tiktok(partners)
    accepted = deauthorize_on_tiktok(partners, "act.another")

    assert (refused.status_code, accepted.status_code) == (503, 200)
    assert list(WebhookEvent.objects.values_list("payload__user_openid", flat=True)) == ["act.another"]
    assert statsd.count("recovery.webhook.rejected", platform="tiktok", reason="unavailable") == 1


def test_cron_runs_the_sweeper_on_the_webhooks_queue(settings):
    scheduler = CronScheduler(connection=django_rq.get_connection("webhooks"))
    scheduler.load_config_from_file("config.cron")

    [job] = [job for job in scheduler.get_jobs() if job.func_name == "webhooks.jobs.webhook_events_sweep_job"]
    assert (job.queue_name, job.interval) == ("webhooks", settings.WEBHOOK_SWEEP_INTERVAL_S)
