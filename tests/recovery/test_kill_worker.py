"""A real worker process killed with SIGKILL mid-publish: the post is neither lost, stuck nor published twice."""

import signal
import time

import pytest
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from connections.models import Post
from recovery.publish_queue import publish_queue
from recovery.sweeper import posts_sweep
from sandbox import faults
from sandbox.models import SandboxObject, SandboxRequest
from tests.recovery.pipeline_helpers import (
    PAGE_ID,
    due_post,
    enqueue_due,
    fast_forward,
    page_connection,
    run_publish_worker,
    start_worker_process,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_S = 4  # the worker kills a job after this; the lease below must outlast it
LEASE_S = 6
LATENCY_MS = 1500  # each partner call takes this long: long enough to kill mid-call


# One job at a time, and a process whose jobs run in threads (the production worker): the same guarantee.
@pytest.mark.parametrize("worker_class", ["recovery.worker.RecoveryWorker", "recovery.worker.ThreadedRecoveryWorker"])
def test_a_worker_killed_mid_publish_loses_nothing_and_publishes_once(sandbox, tenant, settings, worker_class):
    settings.PUBLISH_LEASE_S = LEASE_S
    page = page_connection(tenant)
    faults.set_fault("meta", faults.LATENCY, account_id=PAGE_ID, ms=LATENCY_MS)
    post = due_post(page, content="Killed mid-flight")
    enqueue_due()
    [job_id] = publish_queue().get_job_ids()

    worker = start_worker_process(
        sandbox, worker_class, burst=True, PARTNER_READ_TIMEOUT_S=3, PUBLISH_JOB_TIMEOUT_S=JOB_TIMEOUT_S,
        RQ_WORKER_THREADS=4,
    )
    try:
        # The page token call has been answered: the feed POST is now in flight.
        wait_for(lambda: SandboxRequest.objects.filter(method="GET", path__contains=PAGE_ID).exists(), 30,
                 "the worker to start publishing")
        time.sleep(0.3)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == -signal.SIGKILL

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHING  # what the kill left behind
    wait_for(lambda: SandboxObject.objects.filter(kind="post").exists(), 10, "the partner to finish the post")
    faults.clear_faults()
    # RQ still believes the job runs: its own cleanup would only see it job_timeout + 60 s after the start.
    started = StartedJobRegistry(queue=publish_queue())
    assert any(entry.startswith(job_id) for entry in started.get_job_ids(cleanup=False))

    # Once the lease is over, the sweep (cron, every 30 s) takes the post over.
    assert posts_sweep()["abandoned"] == {}  # not before
    time.sleep(max(0.0, (post.updated_at.timestamp() + LEASE_S) - time.time()) + 0.1)
    assert posts_sweep()["abandoned"] == {"retry_scheduled": 1}
    run_publish_worker()

    post.refresh_from_db()
    [on_partner] = SandboxObject.objects.filter(kind="post")
    assert post.status == Post.Status.PUBLISHED
    assert post.partner_post_id == on_partner.object_id  # found by the lookup, not sent again
    assert SandboxRequest.objects.filter(method="POST", path__contains="/feed").count() == 1

    # When RQ's own cleanup reaches the dead job, its failure callback finds nothing left to do,
    # and the retry RQ then gives the job (Retry) is a harmless duplicate.
    started.cleanup(timestamp=time.time() + 3600)
    assert Job.fetch(job_id, connection=publish_queue().connection).get_status() == JobStatus.SCHEDULED
    fast_forward()
    run_publish_worker()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.attempts == 2
    assert SandboxObject.objects.filter(kind="post").count() == 1
