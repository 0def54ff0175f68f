"""The due-post enqueuer at scale: no ceiling per run, one job per post however many enqueuers run, a fair walk."""

import threading

import pytest
from django.db import connection as db_connection
from django.db import transaction

from connections.models import Post
from recovery.due_posts import cursor_set
from recovery.publish_queue import POST_PUBLISH_JOB, publish_queue
from recovery.sweeper import posts_enqueue_due
from tests.factories import ConnectionFactory, TenantFactory
from tests.recovery.pipeline_helpers import due_post, jobs_per_post, two_enqueuers_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def tenants_with_due_posts(tenants: int, posts_each: int) -> list[list[Post]]:
    """`tenants` tenants with one connection each and `posts_each` due posts on it, in tenant id order."""
    result = []
    for i in range(tenants):
        connection = ConnectionFactory(tenant=TenantFactory(name=f"T{i}", slug=f"t{i}"))
        result.append([due_post(connection) for _ in range(posts_each)])
    return result



def test_one_run_enqueues_every_due_post_however_many_batches_it_takes(settings):
    settings.PUBLISH_ENQUEUE_BATCH = 4
    groups = tenants_with_due_posts(tenants=5, posts_each=7)

    assert posts_enqueue_due() == 35  # about nine batches of four, in one run

    assert set(jobs_per_post().values()) == {1}
    assert not Post.objects.filter(next_attempt_at__isnull=True).exists()
    assert posts_enqueue_due() == 0
    # Each tenant's first jobs are queued, the rest wait for its slots (tenant isolation is unchanged).
    queued = publish_queue().get_job_ids()
    assert len(queued) == 5 * settings.PUBLISH_TENANT_CONCURRENCY
    assert {job.args[0] for job in publish_queue().get_jobs()} <= {post.pk for group in groups for post in group}


def test_a_post_another_transaction_holds_is_skipped_and_taken_by_the_next_run(settings):
    (held_posts, free_posts) = tenants_with_due_posts(tenants=2, posts_each=3)
    locked, release = threading.Event(), threading.Event()

    def hold_rows():  # another enqueuer in the middle of its batch
        with transaction.atomic():
            list(Post.objects.select_for_update().filter(pk__in=[p.pk for p in held_posts]))
            locked.set()
            release.wait(10)
        db_connection.close()

    holder = threading.Thread(target=hold_rows)
    holder.start()
    assert locked.wait(10)
    try:
        assert posts_enqueue_due() == 3  # without waiting for the lock, and without those posts
    finally:
        release.set()
        holder.join()

    assert posts_enqueue_due() == 3
    assert set(jobs_per_post().values()) == {1}


def test_two_enqueuers_at_once_enqueue_each_post_exactly_once(settings):
    settings.PUBLISH_ENQUEUE_BATCH = 3
    tenants_with_due_posts(tenants=8, posts_each=5)
    totals = two_enqueuers_at_once()

    assert sum(totals) == 40
    assert set(jobs_per_post().values()) == {1}
    publish_jobs = [job for job in publish_queue().get_jobs() if job.func_name == POST_PUBLISH_JOB]
    assert len({job.args[0] for job in publish_jobs}) == len(publish_jobs)


def test_a_run_starts_at_the_tenant_after_the_one_where_the_last_run_stopped(settings):
    settings.PUBLISH_TENANT_CONCURRENCY = 1
    first, second, third = tenants_with_due_posts(tenants=3, posts_each=1)
    cursor_set(first[0].tenant_id)  # the last run ran out of time after the first tenant

    assert posts_enqueue_due() == 3

    # The ring from the cursor: the second and third tenants, then round to the first.
    order = [job.args[0] for job in publish_queue().get_jobs()]
    assert order == [second[0].pk, third[0].pk, first[0].pk]
