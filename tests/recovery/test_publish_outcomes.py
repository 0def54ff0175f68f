"""Nothing lost, nothing twice: many posts through mixed faults, each accounted for after every round.

Every post must stand, whenever no worker runs, in one of: published; waiting_reconnect
(its channel paused); dead with its open DeadLetter; unconfirmed (sent, no answer, no
lookup: the user decides on the posts page); or scheduled with a known retry time and a
job planned for it. And no post reaches the partner twice.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Connection, Post
from recovery.models import DeadLetter
from recovery.policies import get_redis
from recovery.publish_queue import enqueue_post_publish
from recovery.sweeper import posts_sweep
from sandbox import faults
from sandbox.models import SandboxObject, SandboxRequest
from tests.recovery.pipeline_helpers import (
    autopause,
    due_post,
    enqueue_due,
    fast_forward,
    page_connection,
    run_publish_worker,
    where_it_stands,
)
from tests.sandbox.sandbox_helpers import linked_connection

pytestmark = pytest.mark.django_db(transaction=True)

MAX_ROUNDS = 40  # each round: every planned job made due, one burst of the worker


def drive(posts) -> list[Counter]:
    """Run the pipeline round after round until no job is planned; check every post after each round."""
    history = []
    enqueue_due()
    for _ in range(MAX_ROUNDS):
        run_publish_worker()
        history.append(Counter(where_it_stands(post) for post in posts))
        if not fast_forward():
            return history
    raise AssertionError(f"still planned after {MAX_ROUNDS} rounds: {history[-1]}")


def test_every_post_through_mixed_faults_ends_accounted_for_and_reaches_the_partner_at_most_once(
    sandbox, tenant, other_tenant, settings
):
    settings.PARTNER_READ_TIMEOUT_S = 1
    settings.CIRCUIT_BREAKER = {"failures": 3, "window_s": 120, "cooldown_s": 60, "probe_timeout_s": 70}
    autopause(tenant, True)
    autopause(other_tenant, False)

    healthy = page_connection(tenant, "200000000001")
    flaky = page_connection(tenant, "200000000002")  # two 503s, then fine
    down = page_connection(tenant, "200000000003")  # 500 for ever: breaker, retries used up
    expired = page_connection(tenant, "200000000004")  # token expired: paused
    gone = page_connection(tenant, "200000000005")  # the Page was deleted: paused
    expired_no_autopause = page_connection(other_tenant, "200000000006")  # dead-lettered instead
    silent = linked_connection("linkedin", tenant=tenant, external_account_id="li-silent", external_account_name="Ada")
    throttled = linked_connection("linkedin", tenant=tenant, external_account_id="li-busy", external_account_name="Bo")
    paused = page_connection(tenant, "200000000007")
    Connection.objects.filter(pk=paused.pk).update(status=Connection.Status.PAUSED, pause_reason="ACCOUNT_RESTRICTED")
    instagram = linked_connection(
        "meta", tenant=tenant, account_type="instagram_business", external_account_id="17841400000000009",
        extra={"page_id": "", "username": "acme"},
    )

    faults.set_fault("meta", faults.SERVER_ERROR, account_id="200000000002", status=503, count=2)
    faults.set_fault("meta", faults.SERVER_ERROR, account_id="200000000003", status=500)
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id="200000000004")
    faults.set_fault("meta", faults.DELETE_TARGET, account_id="200000000005")
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id="200000000006")
    faults.set_fault("linkedin", faults.TIMEOUT, account_id="li-silent", count=1, seconds=1.2)
    faults.set_fault("linkedin", faults.RATE_LIMIT, account_id="li-busy", status=429, retry_after=1, count=1)

    expected = {}  # post -> where it must end
    for connection, count, end in (
        (healthy, 4, "published"), (flaky, 2, "published"), (down, 1, "dead"), (expired, 2, "waiting_reconnect"),
        (gone, 1, "waiting_reconnect"), (expired_no_autopause, 1, "dead"), (silent, 1, "unconfirmed"),
        (throttled, 2, "published"), (paused, 1, "waiting_reconnect"),
    ):
        for i in range(count):
            expected[due_post(connection, content=f"{connection.external_account_id} #{i}")] = end
    expected[due_post(instagram, kind=Post.Kind.TEXT, content="Text on Instagram")] = "dead"
    posts = list(expected)
    for post in posts[:4]:  # the healthy page's posts get a second job each: a job that runs twice
        enqueue_post_publish(post.pk, post.tenant_id)

    history = drive(posts)

    assert {post.pk: where_it_stands(post) for post in posts} == {post.pk: end for post, end in expected.items()}
    assert len(history) > 3 and history[0]["scheduled"] > 0  # retries and deferrals were planned on the way
    # Nothing twice: one partner object per published post, and none for the others.
    published = [post for post in posts if post.status == Post.Status.PUBLISHED]
    on_partner = SandboxObject.objects.filter(kind="post")
    assert sorted(on_partner.values_list("object_id", flat=True)) == sorted(p.partner_post_id for p in published)
    # The dead ones carry their classification; the retries of the down page were used up.
    letters = {letter.post_id: letter for letter in DeadLetter.objects.all()}
    assert {letters[p.pk].error_code for p in posts if p.status == Post.Status.DEAD} == {
        "PARTNER_5XX", "AUTH_EXPIRED", "CAPABILITY_UNSUPPORTED",
    }
    assert all(letters[p.pk].classification["retryable"] for p in posts if p.connection_id == down.pk)
    # Auth errors were never retried: one call to each page that answered "expired"; the paused
    # page's second post waited without a call.
    for page_id in ("200000000004", "200000000006"):
        assert SandboxRequest.objects.filter(path__contains=page_id).count() == 1
    assert not SandboxRequest.objects.filter(path__contains="200000000007").exists()  # paused beforehand


def test_a_redis_restart_that_loses_every_job_loses_no_post(sandbox, tenant, settings):
    """Redis is transport, Postgres owns the state: after Redis comes back empty the enqueuer re-plans the posts."""
    page = page_connection(tenant)
    faults.set_fault("meta", faults.SERVER_ERROR, status=503, count=2)
    retrying = [due_post(page, content=f"retry {i}") for i in range(2)]
    later = due_post(page, content="later", scheduled_at=timezone.now() + timedelta(minutes=5))
    enqueue_due()
    run_publish_worker()
    assert {where_it_stands(post) for post in retrying} == {"scheduled"}

    get_redis().flushdb()  # the restart: every queued and scheduled job gone, buckets and breakers too
    # At once (not PUBLISH_LOST_JOB_GRACE_S later), each retry planned again for its own time
    # (tests/recovery/test_redis_epoch.py); `later` never had a job and comes due as usual.
    assert posts_sweep()["enqueued"] == 2
    assert {where_it_stands(post) for post in retrying} == {"scheduled"}
    fast_forward()
    Post.objects.filter(pk=later.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    assert posts_sweep()["enqueued"] == 1
    run_publish_worker()

    assert {where_it_stands(post) for post in [*retrying, later]} == {"published"}
    assert SandboxObject.objects.filter(kind="post").count() == 3
