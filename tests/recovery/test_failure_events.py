"""The failure log (recovery.failure_events): each classified failure a service acted on, with what it did,
written by the publish pipeline, pings and token upkeep against the sandbox partners; nothing when nothing failed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Post
from recovery.models import FailureEvent
from recovery.pings import pings_enqueue_due
from recovery.sweeper import posts_sweep
from recovery.token_upkeep import tokens_refresh_due
from sandbox import faults
from tests.recovery.ping_helpers import TIKTOK_OPEN_ID, gbp_connection, make_due, pings_on, run_worker, tiktok_connection
from tests.recovery.pipeline_helpers import PAGE_ID, due_post, enqueue_due, fast_forward, page_connection, run_publish_worker
from tests.sandbox.sandbox_helpers import linked_connection

pytestmark = pytest.mark.django_db(transaction=True)


def logged(connection) -> list[tuple[str, str, str, str]]:
    """The connection's failure log: (source, code, decision, partner_code), oldest first."""
    return list(
        FailureEvent.objects.filter(connection_id=connection.pk).order_by("created_at", "id")
        .values_list("source", "code", "decision", "partner_code")
    )


def ping_now(connection) -> None:
    """What cron and a worker do once the connection's ping is due."""
    make_due(connection)
    pings_enqueue_due()
    run_worker("pings")


@pytest.fixture
def page(sandbox, tenant):
    return page_connection(tenant)


def test_a_retried_5xx_is_logged_once_and_the_publish_that_then_works_adds_nothing(page):
    faults.set_fault("meta", faults.SERVER_ERROR, status=503, count=1)
    post = due_post(page)
    enqueue_due()
    run_publish_worker()
    fast_forward()
    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    [(source, code, decision, _)] = logged(page)
    assert (source, decision) == ("publish", "retry") and code in ("PARTNER_5XX", "PARTNER_UNAVAILABLE")
    event = FailureEvent.objects.get()
    assert (event.tenant_id, event.post_id, event.platform) == (page.tenant_id, post.pk, "meta")


@pytest.mark.parametrize("autopause_flag, decision", [("autopause_on", "pause"), ("autopause_off", "dead_letter")])
def test_an_auth_failure_is_logged_with_what_the_pipeline_did(page, request, autopause_flag, decision):
    request.getfixturevalue(autopause_flag)
    faults.set_fault("meta", faults.REVOKE_TOKEN, account_id=PAGE_ID)
    due_post(page)
    enqueue_due()
    run_publish_worker()

    assert logged(page) == [("publish", "AUTH_REVOKED", decision, "190/460")]


def test_a_post_the_account_cannot_publish_is_logged_with_the_rule_that_refused_it(sandbox, tenant):
    instagram = linked_connection(
        "meta", tenant=tenant, account_type="instagram_business", external_account_id="17841400000000001",
        extra={"page_id": "", "username": "acme"},
    )
    due_post(instagram, kind=Post.Kind.TEXT, content="Text only")
    enqueue_due()
    run_publish_worker()

    assert logged(instagram) == [("publish", "CAPABILITY_UNSUPPORTED", "dead_letter", "capability:kind")]


def test_a_publish_held_back_by_an_empty_bucket_is_logged_as_a_rate_limit_deferral(page, settings):
    settings.PUBLISH_RATE_LIMITS = {
        **settings.PUBLISH_RATE_LIMITS,
        "meta": {"tenant": {"capacity": 1, "per_second": 0.5}, "app": {"capacity": 100, "per_second": 100.0}},
    }
    first, second = due_post(page), due_post(page)
    enqueue_due()
    run_publish_worker()

    assert logged(page) == [("publish", "RATE_LIMIT_429", "deferred", "deferred:rate_limit")]
    assert FailureEvent.objects.get().post_id in (first.pk, second.pk)


def test_an_abandoned_publish_is_logged_as_a_timeout(page, settings):
    settings.PUBLISH_LEASE_S = 60
    stuck = due_post(page, status=Post.Status.PUBLISHING, attempts=1)
    Post.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(seconds=61))

    posts_sweep()

    assert logged(page) == [("publish", "TIMEOUT", "retry", "")]


def test_ping_failures_are_logged_as_retried_by_the_next_ping_or_as_a_pause(sandbox, tenant, autopause_on):
    pings_on(tenant)
    page = page_connection(tenant)
    faults.set_fault("meta", faults.SERVER_ERROR, status=503)
    ping_now(page)
    faults.clear_faults("meta")
    faults.set_fault("meta", faults.REVOKE_TOKEN, account_id=PAGE_ID)
    ping_now(page)

    [(source, code, decision, _), paused] = logged(page)
    assert (source, decision) == ("ping", "retry") and code in ("PARTNER_5XX", "PARTNER_UNAVAILABLE")
    assert paused == ("ping", "AUTH_REVOKED", "pause", "190/460")


def test_a_planned_refresh_the_partner_refuses_is_logged_once_as_token_upkeeps(sandbox, tenant, autopause_on):
    tiktok = tiktok_connection(tenant)
    gbp = gbp_connection(tenant)
    for connection in (tiktok, gbp):
        type(connection).objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() + timedelta(minutes=10))
    faults.set_fault("tiktok", faults.REVOKE_TOKEN, account_id=TIKTOK_OPEN_ID)
    faults.set_fault("gbp", faults.SERVER_ERROR, status=503, count=1)

    assert tokens_refresh_due() == 2
    run_worker("default")

    [(source, code, decision, _)] = logged(tiktok)
    assert (source, code, decision) == ("refresh", "REFRESH_FAILED", "pause")
    [(source, code, decision, _)] = logged(gbp)
    assert (source, decision) == ("refresh", "retry") and code in ("PARTNER_5XX", "PARTNER_UNAVAILABLE")
