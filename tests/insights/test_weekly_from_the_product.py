"""The weekly figures from what the product itself records: a partner's webhook that revokes a channel before
its next post was due, the reconnect after it, and a webhook whose processing failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Connection
from insights.weekly import week_figures, week_start_of
from recovery.autopause import resume_connection
from recovery.models import FailureEvent
from tests.factories import ConnectionFactory, PostFactory
from tests.recovery.pipeline_helpers import autopause
from tests.webhooks.helpers import database_fault
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process
from webhooks.verification import Delivery
from webhooks.writer import webhook_receive

pytestmark = pytest.mark.django_db


def deauthorize(user_id: str) -> WebhookEvent:
    """Meta's deauthorize callback for `user_id`, received and stored as the receiver does."""
    delivery = Delivery("meta", f"deauthorize:sha256:{user_id}:1", "deauthorize",
                        {"algorithm": "HMAC-SHA256", "issued_at": 1, "user_id": user_id})
    return WebhookEvent.objects.get(pk=webhook_receive(delivery).event_id)


def test_a_webhooks_revoke_is_counted_as_caught_before_the_post_that_would_have_failed(tenant):
    page = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")
    autopause(tenant, True)
    PostFactory(connection=page, tenant=tenant, scheduled_at=timezone.now() + timedelta(hours=5))

    assert webhook_event_process(deauthorize("u1").pk) == WebhookEvent.Outcome.APPLIED
    assert Connection.objects.get(pk=page.pk).status == Connection.Status.REVOKED
    resume_connection(tenant.pk, page.pk, actor="user:1")

    figures = week_figures(week_start_of(timezone.now())).of(tenant.pk)
    assert figures["pauses"]["by_cause"] == {"webhook": 1} and figures["pauses"]["by_reason"] == {"AUTH_REVOKED": 1}
    caught = figures["early_catch"]["webhook"]
    assert (caught["pauses"], caught["before_a_post"]) == (1, 1)
    assert 5 * 3600 - 60 < caught["lead_median_s"] <= 5 * 3600  # the post was due five hours after the revoke
    assert figures["reconnect"]["count"] == 1 and figures["reconnect"]["median_s"] < 60


def test_a_webhook_whose_processing_failed_is_in_the_failure_log_and_the_overall_figures(tenant):
    ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")
    autopause(tenant, True)
    event = deauthorize("u1")

    with database_fault("connections_connection"):
        assert webhook_event_process(event.pk) == "retrying"

    [logged] = FailureEvent.objects.all()
    assert (logged.source, logged.code, logged.decision, logged.platform) == ("webhook", "WEBHOOK_FAILURE", "retry", "meta")
    week = week_figures(week_start_of(timezone.now()))
    assert week.overall["failures"]["by_source"] == {"webhook": 1}
    assert week.of(tenant.pk)["failures"]["total"] == 0  # an event is not one tenant's until it is processed
