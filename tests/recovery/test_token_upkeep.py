"""Token upkeep against the sandbox partners, through a real worker: refreshed before expiry by each
partner's rule, refreshed once and used at once when a publish meets an expired token, one refresh at a
time per connection, and a refused refresh (only) pauses."""

import threading
import time
from datetime import timedelta

import django_rq
import pytest
from django.db import connections
from django.utils import timezone
from rq import Worker

from connections.models import Connection, ConnectionAudit, Post
from recovery.taxonomy import ClassifiedError, ErrorCode
from recovery.token_upkeep import TOKEN_REFRESH_JOB, renew_after_auth_failure, token_refresh, tokens_refresh_due
from sandbox import faults
from sandbox.models import SandboxObject, SandboxToken
from tests.recovery.ping_helpers import (
    GBP_LOCATION,
    LINKEDIN_MEMBER,
    TIKTOK_OPEN_ID,
    audit_actions,
    gbp_connection,
    linkedin_connection,
    partner_calls,
    run_worker,
    start_worker,
    tiktok_connection,
)
from tests.recovery.pipeline_helpers import (
    due_post,
    enqueue_due,
    fast_forward,
    page_connection,
    run_publish_worker,
    stop_process,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

REFRESH_CALLS = {"gbp": "/token", "linkedin": "/oauth/v2/accessToken", "tiktok": "/v2/oauth/token/"}


def refreshes(connection) -> list[ConnectionAudit]:
    return list(ConnectionAudit.objects.filter(connection=connection, action=ConnectionAudit.Action.REFRESH))


def expires_in(connection, delta: timedelta) -> None:
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() + delta)


# -- a publish that meets an expired token ----------------------------------------------------


@pytest.mark.parametrize("make, account_id", [(gbp_connection, GBP_LOCATION), (linkedin_connection, LINKEDIN_MEMBER)])
def test_an_expired_token_with_a_valid_refresh_token_is_refreshed_and_the_post_goes_out(sandbox, tenant, autopause_on, make, account_id):
    connection = make(tenant)
    old_token = connection.access_token
    faults.set_fault(connection.platform, faults.EXPIRE_TOKEN, account_id=account_id)
    post = due_post(connection, content="Open late on Fridays")

    enqueue_due()
    run_publish_worker()

    post.refresh_from_db()
    connection.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.attempts == 1  # refreshed and sent again at once
    assert connection.status == Connection.Status.ACTIVE
    assert connection.access_token != old_token
    [refresh] = refreshes(connection)
    assert refresh.details["reason"] == "auth_expired" and refresh.actor == "system:token_upkeep"
    assert "auto_pause" not in audit_actions(connection)
    [on_partner] = SandboxObject.objects.filter(platform=connection.platform, kind__in=["post", "local_post"])
    assert on_partner.object_id == post.partner_post_id


def test_a_refused_refresh_pauses_the_channel_with_refresh_failed(sandbox, tenant, autopause_on):
    connection = gbp_connection(tenant)
    # Google gives API calls no revocation signal ("invalid credentials", as for an expired token):
    # the refresh is what tells, with invalid_grant.
    faults.set_fault("gbp", faults.REVOKE_TOKEN, account_id=GBP_LOCATION)
    post = due_post(connection)

    enqueue_due()
    run_publish_worker()

    post.refresh_from_db()
    connection.refresh_from_db()
    assert post.status == Post.Status.WAITING_RECONNECT and post.last_error_code == "REFRESH_FAILED"
    assert connection.status == Connection.Status.ATTENTION and connection.pause_reason == "REFRESH_FAILED"
    failed = ConnectionAudit.objects.get(connection=connection, action=ConnectionAudit.Action.REFRESH_FAILED)
    assert failed.details["code"] == "REFRESH_FAILED" and failed.details["retried_later"] is False
    assert audit_actions(connection)[-2:] == ["refresh_failed", "auto_pause"]


def test_a_refresh_that_fails_for_a_transient_reason_retries_the_post_later_and_never_pauses(sandbox, tenant, settings, autopause_on):
    connection = gbp_connection(tenant)
    faults.set_fault("gbp", faults.EXPIRE_TOKEN, account_id=GBP_LOCATION)
    # Google's API answers (the sandbox), its token endpoint does not (nothing listens there).
    settings.PARTNERS_USE_SANDBOX = False
    settings.GBP_API_BASE = f"{sandbox}/sandbox/gbp"
    settings.GBP_TOKEN_BASE = "http://127.0.0.1:9"
    post = due_post(connection)

    enqueue_due()
    run_publish_worker()

    post.refresh_from_db()
    connection.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and post.next_attempt_at is not None
    assert post.last_error_code == "NETWORK_ERROR"
    assert connection.status == Connection.Status.ACTIVE
    failed = ConnectionAudit.objects.get(connection=connection, action=ConnectionAudit.Action.REFRESH_FAILED)
    assert failed.details["code"] == "NETWORK_ERROR" and failed.details["retried_later"] is True
    assert "auto_pause" not in audit_actions(connection)

    settings.GBP_TOKEN_BASE = f"{sandbox}/sandbox/gbp"  # the token endpoint is back
    fast_forward()
    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.attempts == 2
    assert len(refreshes(connection)) == 1


def test_a_meta_token_cannot_be_refreshed_so_its_expiry_pauses_as_before(sandbox, tenant, autopause_on):
    page = page_connection(tenant)
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id=page.external_account_id)
    post = due_post(page)

    enqueue_due()
    run_publish_worker()

    page.refresh_from_db()
    post.refresh_from_db()
    assert post.status == Post.Status.WAITING_RECONNECT
    assert page.pause_reason == "AUTH_EXPIRED" and not refreshes(page)
    assert partner_calls("meta", "oauth/access_token") == 0


# -- refreshed before expiry ---------------------------------------------------------------------


def test_upkeep_refreshes_each_token_before_it_expires_by_its_partners_rule(sandbox, tenant):
    gbp = gbp_connection(tenant)  # an hour left: refreshed 15 minutes before the end
    tiktok = tiktok_connection(tenant)  # 2 hours left: refreshed 30 minutes before the end
    linkedin = linkedin_connection(tenant)  # 60 days left: refreshed 7 days before the end
    page = page_connection(tenant)  # Meta has no refresh token: never refreshed
    expires_in(gbp, timedelta(minutes=10))
    expires_in(tiktok, timedelta(minutes=20))
    expires_in(linkedin, timedelta(days=8))  # not yet
    expires_in(page, timedelta(minutes=1))
    old_tiktok_refresh_token = tiktok.refresh_token

    assert tokens_refresh_due() == 2
    assert tokens_refresh_due() == 0  # claimed: a second tick (or cron process) takes nothing
    run_worker("default")

    for connection, lifetime in ((gbp, timedelta(hours=1)), (tiktok, timedelta(hours=2))):
        old_token = connection.access_token
        connection.refresh_from_db()
        assert connection.access_token != old_token
        assert abs(connection.token_expires_at - (timezone.now() + lifetime)) < timedelta(minutes=1)
        [refresh] = refreshes(connection)
        assert refresh.details["reason"] == "planned" and refresh.details["has_refresh_token"] is True
    # TikTok rotates refresh tokens: the new one is stored, the spent one is dead at the partner.
    assert tiktok.refresh_token != old_tiktok_refresh_token
    assert SandboxToken.objects.filter(platform="tiktok", kind="refresh", revoked=True).count() == 1
    assert not refreshes(linkedin) and not refreshes(page)
    assert tokens_refresh_due() == 0  # fresh now


def test_a_linkedin_refresh_keeps_the_refresh_tokens_end(sandbox, tenant):
    linkedin = linkedin_connection(tenant)
    refresh_token, refresh_end = linkedin.refresh_token, linkedin.refresh_token_expires_at
    expires_in(linkedin, timedelta(days=6))

    assert token_refresh(linkedin.pk).outcome == "refreshed"

    linkedin.refresh_from_db()
    assert linkedin.refresh_token == refresh_token
    assert abs(linkedin.refresh_token_expires_at - refresh_end) < timedelta(seconds=5)
    assert linkedin.token_expires_at > timezone.now() + timedelta(days=59)


def test_a_planned_refresh_that_fails_transiently_is_tried_again_after_the_retry_interval(sandbox, tenant, settings):
    gbp = gbp_connection(tenant)
    expires_in(gbp, timedelta(minutes=10))
    faults.set_fault("gbp", faults.SERVER_ERROR, status=503, count=1)

    assert tokens_refresh_due() == 1
    run_worker("default")

    gbp.refresh_from_db()
    assert gbp.status == Connection.Status.ACTIVE and not refreshes(gbp)
    assert audit_actions(gbp)[-1] == "refresh_failed"
    assert tokens_refresh_due() == 0  # held for TOKEN_REFRESH_RETRY_S, not retried at every tick

    settings.TOKEN_REFRESH_RETRY_S = 0
    assert tokens_refresh_due() == 1
    run_worker("default")
    assert len(refreshes(gbp)) == 1


def test_a_planned_refresh_the_partner_refuses_pauses_the_channel(sandbox, tenant, autopause_on):
    tiktok = tiktok_connection(tenant)
    expires_in(tiktok, timedelta(minutes=10))
    faults.set_fault("tiktok", faults.REVOKE_TOKEN, account_id=TIKTOK_OPEN_ID)

    assert tokens_refresh_due() == 1
    run_worker("default")

    tiktok.refresh_from_db()
    assert tiktok.status == Connection.Status.ATTENTION and tiktok.pause_reason == "REFRESH_FAILED"
    paused = ConnectionAudit.objects.get(connection=tiktok, action=ConnectionAudit.Action.AUTO_PAUSE)
    assert paused.details["found_by"] == "token_upkeep"
    assert tokens_refresh_due() == 0  # paused connections are left alone


# -- one refresh at a time --------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_racing_to_refresh_one_token_refresh_it_once(sandbox, tenant, settings):
    tiktok = tiktok_connection(tenant)
    expires_in(tiktok, timedelta(minutes=10))
    # The refresh answer takes a while, so the second worker asks while the first holds the connection.
    faults.set_fault("tiktok", faults.LATENCY, account_id=TIKTOK_OPEN_ID, ms=2000)
    workers = [start_worker("default", sandbox, settings) for _ in range(2)]
    try:
        wait_for(lambda: len(Worker.all(queue=django_rq.get_queue("default"))) == 2, 30, "two workers to listen")
        queue = django_rq.get_queue("default")
        jobs = [queue.enqueue(TOKEN_REFRESH_JOB, tiktok.pk) for _ in range(2)]
        wait_for(lambda: all(job.get_status(refresh=True) == "finished" for job in jobs), 60, "both refresh jobs")
    finally:
        for worker in workers:
            stop_process(worker)

    for job in jobs:
        job.refresh()
    assert sorted(job.return_value() for job in jobs) == ["fresh", "refreshed"]
    first, second = sorted(jobs, key=lambda job: job.started_at)
    assert second.started_at < first.ended_at  # they ran at the same time
    assert partner_calls("tiktok", REFRESH_CALLS["tiktok"]) == 1
    tiktok.refresh_from_db()
    assert len(refreshes(tiktok)) == 1 and tiktok.status == Connection.Status.ACTIVE
    assert "refresh_failed" not in audit_actions(tiktok)


def test_a_publish_that_meets_the_old_token_during_a_refresh_waits_and_uses_the_new_one(sandbox, tenant):
    tiktok = tiktok_connection(tenant)
    expires_in(tiktok, timedelta(minutes=10))
    as_loaded = Connection.objects.get(pk=tiktok.pk)  # what a publish job holds when its call fails
    faults.set_fault("tiktok", faults.LATENCY, account_id=TIKTOK_OPEN_ID, ms=1500)
    results = {}

    def planned():
        try:
            results["planned"] = token_refresh(tiktok.pk)
        finally:
            connections.close_all()

    upkeep = threading.Thread(target=planned)
    upkeep.start()
    time.sleep(0.5)  # the upkeep's refresh call is in flight, the row locked
    expired = ClassifiedError(code=ErrorCode.AUTH_EXPIRED, platform="tiktok", http_status=401)
    renewal = renew_after_auth_failure(as_loaded, expired)
    upkeep.join(timeout=30)

    assert results["planned"].outcome == "refreshed"
    assert renewal.outcome == "renewed_meanwhile"
    assert renewal.connection.access_token == results["planned"].connection.access_token != as_loaded.access_token
    assert partner_calls("tiktok", REFRESH_CALLS["tiktok"]) == 1
