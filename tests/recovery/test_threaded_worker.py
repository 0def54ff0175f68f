"""The production worker process (ThreadedRecoveryWorker): a partner call in flight per thread, a warm stop on SIGTERM."""

import signal

import pytest

from connections.models import Post
from sandbox import faults
from sandbox.models import SandboxRequest
from tests.recovery.pipeline_helpers import (
    OTHER_PAGE_ID,
    PAGE_ID,
    due_post,
    enqueue_due,
    page_connection,
    start_worker_process,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THREADED = "recovery.worker.ThreadedRecoveryWorker"
LATENCY_MS = 1500  # long enough to see every call in flight at once


@pytest.fixture
def four_posts(sandbox, tenant, other_tenant):
    """Two tenants, two due posts each (each tenant may have two jobs queued or running), on slow Pages."""
    posts = []
    for owner, page_id in ((tenant, PAGE_ID), (other_tenant, OTHER_PAGE_ID)):
        page = page_connection(owner, page_id)
        faults.set_fault("meta", faults.LATENCY, account_id=page_id, ms=LATENCY_MS)
        posts += [due_post(page, content=f"{page_id} #{i}") for i in range(2)]
    assert enqueue_due() == 4
    return posts


def publishing_now() -> int:
    return Post.objects.filter(status=Post.Status.PUBLISHING).count()


def test_one_worker_process_has_a_partner_call_in_flight_per_thread(sandbox, four_posts):
    worker = start_worker_process(sandbox, THREADED, burst=True, RQ_WORKER_THREADS=4)
    try:
        wait_for(lambda: publishing_now() == 4, 20, "four posts publishing at once in one process")
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert set(Post.objects.values_list("status", flat=True)) == {Post.Status.PUBLISHED}
    assert SandboxRequest.objects.filter(method="POST", path__contains="/feed").count() == 4


def test_sigterm_lets_every_thread_finish_its_post_then_the_process_ends(sandbox, four_posts):
    worker = start_worker_process(sandbox, THREADED, burst=False, RQ_WORKER_THREADS=4)
    try:
        wait_for(lambda: publishing_now() == 4, 20, "four posts publishing")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, worker.stderr.read().decode()[-2000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert set(Post.objects.values_list("status", flat=True)) == {Post.Status.PUBLISHED}
    assert SandboxRequest.objects.filter(method="POST", path__contains="/feed").count() == 4
