"""Tenant isolation: one tenant's backlog or 429 storm does not hold up another tenant's posts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Post
from recovery.policies.usage_throttle import block_account
from recovery.publish_queue import publish_queue
from sandbox import faults
from sandbox.models import SandboxRequest
from tests.factories import TenantFactory
from tests.recovery.pipeline_helpers import (
    OTHER_PAGE_ID,
    PAGE_ID,
    due_post,
    enqueue_due,
    page_connection,
    run_publish_worker,
    scheduled_job_ids,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def noisy(sandbox, tenant):
    return page_connection(tenant, PAGE_ID)


@pytest.fixture
def quiet(sandbox):
    return page_connection(TenantFactory(name="Quiet", slug="quiet"), OTHER_PAGE_ID)


def test_a_tenants_backlog_does_not_delay_another_tenants_post(noisy, quiet, settings):
    settings.PUBLISH_TENANT_CONCURRENCY = 2
    # Buckets big enough that this test is about queueing alone.
    roomy = {"tenant": {"capacity": 100, "per_second": 100.0}, "app": {"capacity": 100, "per_second": 100.0}}
    settings.PUBLISH_RATE_LIMITS = {**settings.PUBLISH_RATE_LIMITS, "meta": roomy}
    long_ago = timezone.now() - timedelta(minutes=10)
    backlog = [due_post(noisy, scheduled_at=long_ago + timedelta(seconds=i)) for i in range(12)]
    latecomer = due_post(quiet)
    enqueue_due()  # the backlog first, oldest schedule first; the quiet tenant's post last

    run_publish_worker(max_jobs=3)

    latecomer.refresh_from_db()
    assert latecomer.status == Post.Status.PUBLISHED  # among the first three jobs, not the thirteenth
    waiting = Post.objects.filter(pk__in=[p.pk for p in backlog], status=Post.Status.SCHEDULED).count()
    assert waiting == 10  # the backlog had two jobs in the queue at a time

    run_publish_worker()
    assert Post.objects.filter(status=Post.Status.PUBLISHED).count() == 13  # and the backlog still drains


def test_a_tenant_in_a_429_storm_does_not_hold_up_another_tenant_or_hammer_the_partner(noisy, quiet):
    faults.set_fault("meta", faults.RATE_LIMIT, account_id=PAGE_ID, usage="business", regain_minutes=2)
    storm = [due_post(noisy) for _ in range(6)]
    other = due_post(quiet)
    enqueue_due()

    run_publish_worker()

    other.refresh_from_db()
    assert other.status == Post.Status.PUBLISHED
    # The first 429 holds the noisy account: its other posts wait without calling the partner.
    noisy_calls = SandboxRequest.objects.filter(path__contains=PAGE_ID).count()
    assert noisy_calls == 1
    for post in storm:
        post.refresh_from_db()
        assert post.status == Post.Status.SCHEDULED  # retried later, none lost, none dead
        assert post.next_attempt_at > timezone.now() + timedelta(seconds=100)  # past the partner's estimate
    assert sorted(post.attempts for post in storm) == [0, 0, 0, 0, 0, 1]  # waiting is not a failed attempt


def test_the_enqueuer_takes_a_fair_share_of_each_tenants_due_posts_per_run(noisy, quiet, settings):
    settings.PUBLISH_ENQUEUE_PER_TENANT = 3
    backlog = [due_post(noisy) for _ in range(10)]
    others = [due_post(quiet) for _ in range(2)]

    assert enqueue_due() == 5  # 3 of the backlog, and the other tenant's 2 in the same run

    planned = set(Post.objects.filter(next_attempt_at__isnull=False).values_list("pk", flat=True))
    assert {post.pk for post in others} <= planned
    assert len(planned & {post.pk for post in backlog}) == 3
    assert enqueue_due() == 3  # the backlog keeps coming, a share at a time


def test_posts_of_a_held_account_are_planned_for_when_the_hold_ends_not_queued(noisy, quiet):
    block_account("meta", PAGE_ID, 120, reason="RATE_LIMIT_429")
    held = [due_post(noisy) for _ in range(3)]
    free = due_post(quiet)

    assert enqueue_due() == 4

    assert publish_queue().count == 1  # only the free account's post is queued now
    assert len(scheduled_job_ids()) == 3
    for post in held:
        post.refresh_from_db()
        assert timezone.now() + timedelta(seconds=110) < post.next_attempt_at
    run_publish_worker()
    free.refresh_from_db()
    assert free.status == Post.Status.PUBLISHED
    assert not SandboxRequest.objects.filter(path__contains=PAGE_ID).exists()
