"""Redis lost its data: the due-post enqueuer gives every planned post its job again at once, exactly once.

The Redis epoch marker (recovery.due_posts.epoch_get) is how the enqueuer tells; the loss here is a
flush of the test's own Redis database, which is what a restart without persistence leaves. The same
with a real redis-server restarted under running processes: tests/recovery/test_redis_restart.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rq.registry import ScheduledJobRegistry

from connections.models import Post
from recovery.due_posts import EPOCH_KEY, Epoch, epoch_advance, epoch_get
from recovery.policies import get_redis
from recovery.publish_queue import enqueue_post_publish, publish_queue
from recovery.sweeper import posts_enqueue_due
from tests.factories import ConnectionFactory, TenantFactory
from tests.recovery.pipeline_helpers import due_post, jobs_per_post, publish_jobs_for, two_enqueuers_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def planned_posts(tenants: int, due_each: int, later_each: int) -> tuple[list[Post], list[Post]]:
    """Posts whose jobs are in Redis: `due_each` due and queued, `later_each` with a retry planned in an hour."""
    posts_enqueue_due()  # the epoch of this Redis begins
    due, later = [], []
    for i in range(tenants):
        connection = ConnectionFactory(tenant=TenantFactory(name=f"T{i}", slug=f"t{i}"))
        due += [due_post(connection) for _ in range(due_each)]
        for _ in range(later_each):
            post = due_post(connection, next_attempt_at=timezone.now() + timedelta(hours=1))
            enqueue_post_publish(post.pk, post.tenant_id, at=post.next_attempt_at)  # as a planned retry is
            later.append(post)
    posts_enqueue_due()
    return due, later



def redis_loses_its_data() -> None:
    get_redis().flushdb()  # what a restart without persistence leaves: no job, no marker


def test_after_redis_lost_its_data_one_run_gives_every_planned_post_its_job_again(settings):
    settings.PUBLISH_ENQUEUE_BATCH = 4
    due, later = planned_posts(tenants=3, due_each=3, later_each=2)
    assert set(jobs_per_post().values()) == {1}
    assert posts_enqueue_due() == 0  # steady state: every post has its job

    redis_loses_its_data()
    assert set(jobs_per_post().values()) == {0}
    assert posts_enqueue_due() == 15  # at once, not PUBLISH_LOST_JOB_GRACE_S later; batches of four

    assert set(jobs_per_post().values()) == {1}
    registry = ScheduledJobRegistry(queue=publish_queue())
    for post in later:  # a retry planned for later keeps its time
        [job] = publish_jobs_for(post)
        planned = Post.objects.get(pk=post.pk).next_attempt_at
        assert abs((registry.get_scheduled_time(job) - planned).total_seconds()) < 1
        assert planned > timezone.now() + timedelta(minutes=59)
    assert {job.args[0] for job in publish_queue().get_jobs()} <= {post.pk for post in due}
    assert posts_enqueue_due() == 0  # once per epoch
    assert set(jobs_per_post().values()) == {1}


def test_a_post_planned_in_the_new_epoch_is_left_alone(settings):
    posts_enqueue_due()  # the epoch begins
    connection = ConnectionFactory()
    post = due_post(connection, next_attempt_at=timezone.now() + timedelta(minutes=5))
    enqueue_post_publish(post.pk, post.tenant_id, at=post.next_attempt_at)

    assert posts_enqueue_due() == 0
    assert len(publish_jobs_for(post)) == 1


def test_two_enqueuers_after_a_loss_plan_each_post_exactly_once(settings):
    settings.PUBLISH_ENQUEUE_BATCH = 3
    planned_posts(tenants=4, due_each=4, later_each=3)
    redis_loses_its_data()
    totals = two_enqueuers_at_once()

    assert sum(totals) == 28
    assert set(jobs_per_post().values()) == {1}


def test_a_run_out_of_time_leaves_the_rest_to_the_next_run(settings):
    settings.PUBLISH_ENQUEUE_BATCH = 2
    planned_posts(tenants=2, due_each=2, later_each=1)
    redis_loses_its_data()

    assert posts_enqueue_due(budget_s=0) == 0  # no time: the epoch has begun, nothing re-planned yet
    epoch = epoch_get()
    assert not epoch.new and not epoch.done and epoch.cursor is None
    assert posts_enqueue_due() == 6
    assert epoch_get().done
    assert set(jobs_per_post().values()) == {1}


def test_the_progress_of_an_epoch_that_ended_is_not_carried_into_the_next():
    old = epoch_get()
    assert old.new
    redis_loses_its_data()
    new = epoch_get()
    assert new.new and new.started > old.started

    epoch_advance(old, (timezone.now(), 42), done=True)  # a run of the old epoch, finishing late

    assert epoch_get() == Epoch(started=new.started, cursor=None, done=False)
    assert get_redis().hget(EPOCH_KEY, "cursor") is None
