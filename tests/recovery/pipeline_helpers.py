"""Helpers for the publish pipeline's tests: connections on the sandbox, due posts, a real worker.

    connection = page_connection(tenant)           # a Meta Page living on the sandbox partner
    post = due_post(connection)                    # scheduled, due now
    enqueue_due()                                  # what cron does every few seconds
    run_publish_worker()                           # a real RecoveryWorker, burst mode
    fast_forward()                                 # let every scheduled retry/deferral run now
"""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from connections.models import Post
from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, flag_disable_for_tenant, flag_enable_for_tenant
from recovery.models import TenantFlag
from recovery.publishing import publish_queue
from recovery.sweeper import posts_enqueue_due
from recovery.worker import RecoveryWorker
from tests.connections.sandbox_helpers import linked_connection
from tests.factories import PostFactory

PAGE_ID = "104857600001"
OTHER_PAGE_ID = "104857600002"


def autopause(tenant, on: bool) -> None:
    """Switch auto-pause on or off for the tenant (transactional tests lose the migration's flag rows)."""
    TenantFlag.objects.get_or_create(name=RECOVERY_AUTOPAUSE_ENABLED)
    (flag_enable_for_tenant if on else flag_disable_for_tenant)(RECOVERY_AUTOPAUSE_ENABLED, tenant.pk)


@pytest.fixture
def autopause_on(tenant):
    autopause(tenant, True)


@pytest.fixture
def autopause_off(tenant):
    autopause(tenant, False)


@pytest.fixture
def breaker_out_of_the_way(settings):
    """A breaker that never opens: for tests about retries, not about the breaker."""
    settings.CIRCUIT_BREAKER = {**settings.CIRCUIT_BREAKER, "failures": 1000}


def page_connection(tenant, page_id: str = PAGE_ID, **fields):
    return linked_connection(
        "meta", tenant=tenant, account_type="facebook_page", external_account_id=page_id,
        external_account_name=f"Page {page_id}", **fields,
    )


def due_post(connection, **fields) -> Post:
    fields.setdefault("scheduled_at", timezone.now() - timedelta(seconds=1))
    return PostFactory(connection=connection, tenant=connection.tenant, **fields)


def enqueue_due() -> int:
    return posts_enqueue_due()


def run_publish_worker(max_jobs: int | None = None) -> None:
    """Run the publish queue's jobs in this process with the production worker class, until empty."""
    worker = django_rq.get_worker("publish", worker_class=RecoveryWorker)
    worker.work(burst=True, max_jobs=max_jobs)


def scheduled_job_ids() -> list[str]:
    return ScheduledJobRegistry(queue=publish_queue()).get_job_ids()


def fast_forward() -> int:
    """Make every planned retry or deferral due now, as if the time had passed; returns how many jobs."""
    queue = publish_queue()
    registry = ScheduledJobRegistry(queue=queue)
    Post.objects.filter(status=Post.Status.SCHEDULED, next_attempt_at__gt=timezone.now()).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        job = Job.fetch(job_id, connection=queue.connection)
        registry.remove(job)
        queue.enqueue_job(job)
    return len(job_ids)
