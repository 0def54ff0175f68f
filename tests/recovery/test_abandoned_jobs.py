"""The check of abandoned publish jobs on its own: a job whose worker died is failed the RQ way and its post
recovered at once; a job whose worker lives, however slow, is left alone.

Each test plays a worker's part with RQ's own worker steps, in this process: the worker takes the job,
starts its execution (heartbeat in RQ's StartedJobRegistry) and the job claims its post. Then the worker
either dies (nothing renews the heartbeat) or lives (recovery.worker.heartbeats renews it), and time runs
with a 3-second heartbeat. tests/recovery/test_kill_worker.py does the same with real processes and SIGKILL.
"""

import time
from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimitRegistry
from rq.registry import StartedJobRegistry

from connections.models import Post
from recovery.posts import post_claim
from recovery.publish_queue import POST_PUBLISH_JOB, publish_jobs_fail_abandoned, publish_queue, tenant_rate_limit_key
from recovery.publishing import ABANDONED_MESSAGE
from recovery.worker import RecoveryWorker, heartbeats
from tests.recovery.pipeline_helpers import due_post, enqueue_due, page_connection, where_it_stands

pytestmark = pytest.mark.django_db(transaction=True)

HEARTBEAT_TTL_S = 3


@pytest.fixture
def short_heartbeat(settings):
    settings.RQ_JOB_HEARTBEAT_TTL_S = HEARTBEAT_TTL_S
    settings.PUBLISH_TENANT_CONCURRENCY = 1  # the tenant's one slot is the running job's
    settings.PARTNER_READ_TIMEOUT_S = 7


def start_publishing(post):
    """A worker takes the post's queued job, starts it and the job claims the post: (worker, job, execution)."""
    worker = django_rq.get_worker("publish", worker_class=RecoveryWorker)
    worker.register_birth()
    job, queue = worker.dequeue_job_and_maintain_ttl(timeout=None)
    assert job.func_name == POST_PUBLISH_JOB and tuple(job.args) == (post.pk,)
    execution = worker.prepare_execution(job)
    worker.prepare_job_execution(job)
    post.refresh_from_db()
    assert post_claim(post) is not None
    return worker, job, execution


def waiting_for_a_slot(tenant) -> list[str]:
    return RateLimitRegistry(tenant_rate_limit_key(tenant.pk), publish_queue().connection).get_rate_limited_job_ids()


def test_a_job_whose_worker_died_is_failed_and_its_post_recovered_at_once(tenant, short_heartbeat):
    page = page_connection(tenant)
    killed = due_post(page, content="Its worker dies")
    waiting = due_post(page, content="Waits for the slot", scheduled_at=timezone.now())
    enqueue_due()
    _, job, _ = start_publishing(killed)
    [waiting_job] = waiting_for_a_slot(tenant)
    assert tuple(Job.fetch(waiting_job, connection=publish_queue().connection).args) == (waiting.pk,)
    claimed_at = Post.objects.get(pk=killed.pk).updated_at

    assert publish_jobs_fail_abandoned() == 0  # heartbeat still fresh
    time.sleep(HEARTBEAT_TTL_S + 0.5)  # nobody renews it: the worker is gone
    assert publish_jobs_fail_abandoned() == 1

    # RQ's way: the dead job is out of the started registry and given its Retry, and the tenant's slot
    # went to the job that was waiting for it.
    connection = publish_queue().connection
    assert StartedJobRegistry(queue=publish_queue()).get_job_ids(cleanup=False) == []
    assert Job.fetch(job.id, connection=connection).get_status() == JobStatus.SCHEDULED
    assert waiting_for_a_slot(tenant) == []
    assert Job.fetch(waiting_job, connection=connection).get_status() == JobStatus.QUEUED
    # Its failure callback recovered the post now, not after the lease: back to scheduled, looked up
    # before it is sent again, once a partner read timeout has let the dead worker's request land.
    killed.refresh_from_db()
    assert killed.status == Post.Status.SCHEDULED
    assert killed.last_error_code == "TIMEOUT" and killed.last_error_message == ABANDONED_MESSAGE
    assert killed.updated_at - claimed_at < timedelta(seconds=HEARTBEAT_TTL_S + 3)
    assert timedelta(seconds=6) < killed.next_attempt_at - killed.updated_at <= timedelta(seconds=7)
    assert where_it_stands(killed) == Post.Status.SCHEDULED
    assert publish_jobs_fail_abandoned() == 0  # done once


def test_a_slow_job_whose_worker_lives_is_never_taken_over(tenant, short_heartbeat):
    page = page_connection(tenant)
    slow = due_post(page, content="A long partner call")
    due_post(page, content="Waits for the slot", scheduled_at=timezone.now())
    enqueue_due()
    worker, job, execution = start_publishing(slow)

    # The job's own thread is busy (here: this sleep, in production a partner call); its worker renews the heartbeat.
    with heartbeats(worker, job, execution):
        for _ in range(4):
            time.sleep(HEARTBEAT_TTL_S / 2)
            assert publish_jobs_fail_abandoned() == 0

    slow.refresh_from_db()
    assert slow.status == Post.Status.PUBLISHING
    assert job.get_status(refresh=True) == JobStatus.STARTED
    assert len(waiting_for_a_slot(tenant)) == 1  # the slot is still the running job's


def test_a_dead_duplicate_job_does_not_take_the_post_from_the_live_job_that_holds_it(tenant, short_heartbeat):
    page = page_connection(tenant)
    post = due_post(page, content="Two jobs, one claim")
    enqueue_due()
    worker, job, execution = start_publishing(post)  # the live job, holding the claim
    # A second job of the same post (the claim makes such duplicates harmless), taken by a worker that dies.
    publish_queue().enqueue(POST_PUBLISH_JOB, post.pk)
    dying = django_rq.get_worker("publish", worker_class=RecoveryWorker)
    dying.register_birth()
    duplicate, _ = dying.dequeue_job_and_maintain_ttl(timeout=None)
    dying.prepare_execution(duplicate)
    dying.prepare_job_execution(duplicate)

    with heartbeats(worker, job, execution):
        time.sleep(HEARTBEAT_TTL_S + 0.5)
        assert publish_jobs_fail_abandoned() == 1  # the duplicate: its worker died

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHING  # still the live job's to finish
    assert job.get_status(refresh=True) == JobStatus.STARTED
