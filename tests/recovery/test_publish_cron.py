"""The periodic side of the pipeline as `manage.py rqcron config.cron` runs it: due posts in, stuck posts out."""

import django_rq
import pytest
from rq.cron import CronScheduler

from connections.models import Post
from recovery.worker import RecoveryWorker
from tests.recovery.pipeline_helpers import due_post, page_connection, run_publish_worker

PIPELINE_CRON_JOBS = {
    "recovery.jobs.posts_enqueue_due_job": "PUBLISH_DUE_INTERVAL_S",
    "recovery.jobs.posts_sweep_job": "PUBLISH_SWEEP_INTERVAL_S",
    "recovery.jobs.publish_jobs_fail_abandoned_job": "PUBLISH_ABANDONED_CHECK_INTERVAL_S",
}


def pipeline_cron_jobs(connection):
    scheduler = CronScheduler(connection=connection)
    scheduler.load_config_from_file("config.cron")
    return {job.func_name: job for job in scheduler.get_jobs() if job.func_name in PIPELINE_CRON_JOBS}


def test_the_cron_config_declares_the_due_post_enqueuer_the_sweep_and_the_abandoned_check(settings):
    jobs = pipeline_cron_jobs(django_rq.get_connection("default"))

    assert {name: job.interval for name, job in jobs.items()} == {
        name: getattr(settings, setting) for name, setting in PIPELINE_CRON_JOBS.items()
    }
    # The backstop: a killed job is recovered within two minutes, its lease ends, then the next sweep takes it over.
    assert settings.PUBLISH_JOB_TIMEOUT_S < settings.PUBLISH_LEASE_S
    assert settings.PUBLISH_LEASE_S + settings.PUBLISH_SWEEP_INTERVAL_S <= 120
    # A killed worker's jobs are failed, and their tenant's slots freed, within 30 s (docs/pipeline.md).
    assert settings.RQ_JOB_HEARTBEAT_TTL_S + settings.PUBLISH_ABANDONED_CHECK_INTERVAL_S <= 20


@pytest.mark.django_db(transaction=True)
def test_a_due_post_goes_out_through_the_cron_job_and_the_publish_queue(sandbox, tenant):
    post = due_post(page_connection(tenant), content="Out by cron")
    connection = django_rq.get_connection("default")

    pipeline_cron_jobs(connection)["recovery.jobs.posts_enqueue_due_job"].enqueue(connection)
    django_rq.get_worker("default", worker_class=RecoveryWorker).work(burst=True)  # the cron job's own queue
    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
