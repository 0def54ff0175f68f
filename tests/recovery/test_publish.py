"""The publish job end to end: a real worker, the sandbox Meta over real HTTP, the post's state in Postgres."""

import socket
import socketserver
import threading
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, Post
from connections.platforms.base import get_connector
from recovery.autopause import resume_connection
from recovery.jobs import post_publish_job
from recovery.models import DeadLetter
from recovery.publish_queue import enqueue_post_publish
from recovery.sweeper import posts_sweep
from recovery.taxonomy import get_taxonomy_entry
from sandbox import faults
from sandbox.models import SandboxObject, SandboxRequest
from tests.factories import ConnectionFactory
from tests.recovery.pipeline_helpers import (
    PAGE_ID,
    due_post,
    enqueue_due,
    fast_forward,
    page_connection,
    run_publish_worker,
    scheduled_job_ids,
)
from tests.sandbox.sandbox_helpers import linked_connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(sandbox, tenant):
    return page_connection(tenant)


def partner_posts(page_id=PAGE_ID):
    return SandboxObject.objects.filter(platform="meta", account__account_id=page_id, kind="post")


def test_due_post_is_enqueued_by_the_sweeper_and_published_by_a_real_worker(page):
    post = due_post(page, content="Fresh bread at 7")
    later = due_post(page, scheduled_at=timezone.now() + timedelta(hours=1))

    assert enqueue_due() == 1  # only the post whose time has come
    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert post.attempts == 1 and post.published_at is not None
    [stored] = partner_posts()
    assert stored.object_id == post.partner_post_id and stored.data["message"] == "Fresh bread at 7"
    later.refresh_from_db()
    assert later.status == Post.Status.SCHEDULED and later.next_attempt_at is None
    assert enqueue_due() == 0  # a post with a job planned is not enqueued again


def test_a_job_that_runs_twice_publishes_once(page):
    post = due_post(page)
    enqueue_post_publish(post.pk, post.tenant_id)
    enqueue_post_publish(post.pk, post.tenant_id)
    enqueue_due()  # and the cron's own job: three jobs for one post

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.attempts == 1
    assert partner_posts().count() == 1


def test_two_jobs_for_one_post_running_at_the_same_moment_publish_it_once(page):
    """Two workers pick up two jobs of one post together: the claim lets exactly one of them call the partner."""
    faults.set_fault("meta", faults.LATENCY, account_id=PAGE_ID, ms=300)  # the partner call overlaps the other job
    post = due_post(page)
    start = threading.Barrier(4)
    outcomes = []

    def worker():
        try:
            start.wait()
            outcomes.append(post_publish_job(post.pk))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    post.refresh_from_db()
    assert sorted(outcomes) == ["published", "skipped", "skipped", "skipped"]
    assert post.status == Post.Status.PUBLISHED and post.attempts == 1
    assert partner_posts().count() == 1
    assert SandboxRequest.objects.filter(method="POST", path__contains="/feed").count() == 1


def test_partner_5xx_is_retried_after_the_classifiers_delay_then_published(page):
    faults.set_fault("meta", faults.SERVER_ERROR, status=503, count=1)
    post = due_post(page)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED
    assert post.attempts == 1 and post.last_error_code in ("PARTNER_5XX", "PARTNER_UNAVAILABLE")
    assert post.next_attempt_at > timezone.now()  # RQ's scheduler holds the retry until then
    assert len(scheduled_job_ids()) == 1

    fast_forward()
    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.attempts == 2
    assert partner_posts().count() == 1


def test_auth_error_pauses_channel_and_is_not_retried(page, autopause_on):
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id=PAGE_ID)
    post = due_post(page)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    page.refresh_from_db()
    assert post.status == Post.Status.WAITING_RECONNECT and post.last_error_code == "AUTH_EXPIRED"
    assert page.status == Connection.Status.ATTENTION and page.pause_reason == "AUTH_EXPIRED"
    assert ConnectionAudit.objects.filter(connection=page, action="auto_pause").count() == 1
    assert scheduled_job_ids() == [] and not DeadLetter.objects.exists()
    assert SandboxRequest.objects.count() == 1  # one call, never retried


def test_auth_error_with_autopause_off_is_dead_lettered_and_the_channel_stays_active(page, autopause_off):
    faults.set_fault("meta", faults.REVOKE_TOKEN, account_id=PAGE_ID)
    post = due_post(page)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    page.refresh_from_db()
    assert post.status == Post.Status.DEAD and post.last_error_code == "AUTH_REVOKED"
    assert page.status == Connection.Status.ACTIVE
    letter = DeadLetter.objects.get(post=post)
    assert letter.error_code == "AUTH_REVOKED" and letter.classification["pauses_channel"] is True
    assert letter.tenant_id == post.tenant_id and letter.connection_id == page.pk and letter.platform == "meta"
    assert scheduled_job_ids() == []


def test_retries_used_up_end_in_the_dead_letter_queue(page, breaker_out_of_the_way):
    faults.set_fault("meta", faults.SERVER_ERROR, status=500)
    post = due_post(page)
    enqueue_due()

    run_publish_worker()
    while fast_forward():
        run_publish_worker()

    post.refresh_from_db()
    max_retries = get_taxonomy_entry(post.last_error_code).retry_policy.max_retries
    assert post.status == Post.Status.DEAD and post.attempts == max_retries + 1
    letter = DeadLetter.objects.get(post=post)
    assert letter.status == DeadLetter.Status.OPEN and letter.attempts == max_retries + 1
    assert letter.classification["code"] in ("PARTNER_5XX", "PARTNER_UNAVAILABLE")
    assert letter.classification["retryable"] is True
    assert letter.first_failed_at == letter.last_failed_at


def test_posts_of_a_paused_connection_wait_without_a_partner_call(sandbox, tenant):
    paused = page_connection(tenant)
    Connection.objects.filter(pk=paused.pk).update(status=Connection.Status.PAUSED, pause_reason="ACCOUNT_RESTRICTED")
    post = due_post(paused)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.WAITING_RECONNECT
    assert not SandboxRequest.objects.exists()


def test_a_post_the_account_cannot_publish_fails_before_any_partner_call(sandbox, tenant):
    instagram = linked_connection(
        "meta", tenant=tenant, account_type="instagram_business", external_account_id="17841400000000001",
        extra={"page_id": "", "username": "acme"},
    )
    post = due_post(instagram, kind=Post.Kind.TEXT, content="Text only")
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.DEAD and post.last_error_code == "CAPABILITY_UNSUPPORTED"
    assert post.attempts == 0  # no call was made
    assert DeadLetter.objects.get(post=post).error_code == "CAPABILITY_UNSUPPORTED"
    assert not SandboxRequest.objects.exists()


def test_resume_releases_waiting_posts_and_they_are_published(page, autopause_on):
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id=PAGE_ID)
    waiting = due_post(page)
    enqueue_due()
    run_publish_worker()
    waiting.refresh_from_db()
    assert waiting.status == Post.Status.WAITING_RECONNECT

    faults.clear_faults()
    assert resume_connection(page.tenant_id, page.pk, actor="user:1").waiting_post_ids == [waiting.pk]
    run_publish_worker()

    waiting.refresh_from_db()
    assert waiting.status == Post.Status.PUBLISHED and waiting.last_error_code == ""
    assert partner_posts().count() == 1


def test_read_timeout_asks_the_partner_then_retries_and_publishes_once(page, settings):
    settings.PARTNER_READ_TIMEOUT_S = 1
    faults.set_fault("meta", faults.TIMEOUT, count=1)  # the first call hangs past the read timeout
    post = due_post(page)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and post.last_error_code == "TIMEOUT"
    # The partner was asked about the post (its feed) before anything was sent again.
    assert SandboxRequest.objects.filter(method="GET", path__contains=f"{PAGE_ID}/feed").count() == 1

    fast_forward()
    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert partner_posts().count() == 1


def test_a_post_the_partner_already_has_is_found_instead_of_sent_again(page):
    """After an unknown outcome the partner turned out to have the post: the retry finds it and sends nothing."""
    post = due_post(page, content="Sent once, answer lost")
    first = get_connector(page).publish(post)  # the partner got it; our side never heard back
    Post.objects.filter(pk=post.pk).update(last_error_code="TIMEOUT", attempts=1)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.partner_post_id == first.partner_post_id
    assert partner_posts().count() == 1


def test_read_timeout_without_a_partner_lookup_leaves_the_post_for_the_user_to_decide(sandbox, tenant, settings):
    settings.PARTNER_READ_TIMEOUT_S = 1
    member = linked_connection("linkedin", tenant=tenant, external_account_id="782bbtaQ", external_account_name="Ada")
    faults.set_fault("linkedin", faults.TIMEOUT, count=1)
    post = due_post(member, content="Did it go out?")
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.UNCONFIRMED and post.last_error_code == "TIMEOUT"
    assert scheduled_job_ids() == [] and not DeadLetter.objects.exists()  # never sent again on its own
    assert SandboxRequest.objects.filter(method="POST").count() == 1


class HangUpAfterReading(socketserver.BaseRequestHandler):
    """A partner that reads the whole request, then drops the connection without a word."""

    requests_read = 0

    def handle(self):
        self.request.settimeout(2)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.request.recv(65536)
        type(self).requests_read += 1


@pytest.fixture
def partner_that_hangs_up(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), HangUpAfterReading)
    HangUpAfterReading.requests_read = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SANDBOX_ENABLED = settings.PARTNERS_USE_SANDBOX = True
    settings.SITE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield HangUpAfterReading
    server.shutdown()
    server.server_close()


def test_a_connection_dropped_after_sending_is_an_unknown_outcome_not_a_blind_retry(tenant, partner_that_hangs_up):
    member = ConnectionFactory(tenant=tenant, platform="linkedin", external_account_id="782bbtaQ",
                               granted_scopes=["openid", "profile", "w_member_social"])
    post = due_post(member)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert partner_that_hangs_up.requests_read == 1
    assert post.status == Post.Status.UNCONFIRMED and post.last_error_code == "NETWORK_ERROR"
    assert scheduled_job_ids() == []


def test_a_refused_connection_was_never_sent_and_is_retried(tenant, settings):
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as closed:
        port = closed.server_address[1]  # free now, and nobody listens on it
    settings.SANDBOX_ENABLED = settings.PARTNERS_USE_SANDBOX = True
    settings.SITE_URL = f"http://127.0.0.1:{port}"
    member = ConnectionFactory(tenant=tenant, platform="linkedin", external_account_id="782bbtaQ",
                               granted_scopes=["openid", "profile", "w_member_social"])
    post = due_post(member)
    enqueue_due()

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and post.last_error_code == "NETWORK_ERROR"
    assert len(scheduled_job_ids()) == 1


def test_a_post_abandoned_on_a_partner_without_lookup_is_left_for_the_user(sandbox, tenant, settings):
    settings.PUBLISH_LEASE_S = 60
    member = linked_connection("linkedin", tenant=tenant, external_account_id="782bbtaQ", external_account_name="Ada")
    stuck = due_post(member, status=Post.Status.PUBLISHING, attempts=1)
    fresh = due_post(member, status=Post.Status.PUBLISHING, attempts=1)
    Post.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(seconds=61))

    assert posts_sweep()["abandoned"] == {"unconfirmed": 1}

    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == Post.Status.UNCONFIRMED and stuck.last_error_code == "TIMEOUT"
    assert fresh.status == Post.Status.PUBLISHING  # its job may still be running: within the lease
    assert scheduled_job_ids() == []


def test_a_post_whose_jobs_keep_dying_stops_once_timeouts_retries_are_used_up(page, settings):
    """A post that takes its worker down every time (say, it runs it out of memory) is not retried for ever."""
    settings.PUBLISH_LEASE_S = 60
    max_retries = get_taxonomy_entry("TIMEOUT").retry_policy.max_retries
    long_ago = timezone.now() - timedelta(seconds=61)
    again = due_post(page, status=Post.Status.PUBLISHING, attempts=max_retries)
    spent = due_post(page, status=Post.Status.PUBLISHING, attempts=max_retries + 1)
    Post.objects.filter(pk__in=[again.pk, spent.pk]).update(updated_at=long_ago)

    assert posts_sweep()["abandoned"] == {"retry_scheduled": 1, "unconfirmed": 1}

    again.refresh_from_db()
    spent.refresh_from_db()
    assert again.status == Post.Status.SCHEDULED and again.last_error_code == "TIMEOUT"  # looked up first
    assert spent.status == Post.Status.UNCONFIRMED and "stopped trying" in spent.last_error_message
    assert not SandboxRequest.objects.exists()


def test_a_post_whose_job_was_lost_is_enqueued_again_and_published_once(page, settings):
    settings.PUBLISH_LOST_JOB_GRACE_S = 600
    enqueue_due()  # Redis kept its data all along (its epoch began before these plans): one job went missing
    lost = due_post(page, next_attempt_at=timezone.now() - timedelta(seconds=601))  # its job never ran
    planned = due_post(page, next_attempt_at=timezone.now() - timedelta(seconds=30))  # its job is on its way

    assert enqueue_due() == 1
    run_publish_worker()

    lost.refresh_from_db()
    planned.refresh_from_db()
    assert lost.status == Post.Status.PUBLISHED
    assert planned.status == Post.Status.SCHEDULED
    assert partner_posts().count() == 1


def test_an_empty_bucket_defers_the_post_without_counting_an_attempt(page, settings):
    settings.PUBLISH_RATE_LIMITS = {
        **settings.PUBLISH_RATE_LIMITS,
        "meta": {"tenant": {"capacity": 1, "per_second": 0.5}, "app": {"capacity": 100, "per_second": 100.0}},
    }
    first, second = due_post(page), due_post(page)
    enqueue_due()

    run_publish_worker()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Post.Status.PUBLISHED
    assert second.status == Post.Status.SCHEDULED and second.attempts == 0 and second.last_error_code == ""
    assert timezone.now() < second.next_attempt_at < timezone.now() + timedelta(seconds=5)  # ~2 s, plus jitter
    assert len(scheduled_job_ids()) == 1
    assert partner_posts().count() == 1


def test_meta_app_usage_past_the_threshold_holds_every_page_of_the_app(sandbox, tenant, other_tenant, settings):
    """Throttle before the 429: the usage header on one answer holds the whole app's next calls."""
    page = page_connection(tenant)
    other_page = page_connection(other_tenant, "104857600002")
    faults.set_fault("meta", faults.RATE_LIMIT, account_id=PAGE_ID, usage="app", count=1)
    throttled = due_post(page, scheduled_at=timezone.now() - timedelta(minutes=1))
    elsewhere = due_post(other_page)
    enqueue_due()

    run_publish_worker()

    throttled.refresh_from_db()
    elsewhere.refresh_from_db()
    assert throttled.status == Post.Status.SCHEDULED and throttled.last_error_code == "RATE_LIMIT_429"
    # The other tenant's page was not called: its post waits out the app's hold, not an attempt.
    assert elsewhere.status == Post.Status.SCHEDULED and elsewhere.attempts == 0
    hold = settings.USAGE_THROTTLE["app_backoff_s"]
    assert elsewhere.next_attempt_at > timezone.now() + timedelta(seconds=hold - 10)
    assert not SandboxRequest.objects.filter(path__contains="104857600002").exists()


def test_a_published_post_reports_how_late_it_went_out(page, settings):
    """Lateness, the user's measure: scheduled time to publication, sent to the metrics agent (DogStatsD over UDP)."""
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.bind(("127.0.0.1", 0))
    agent.settimeout(5)
    settings.STATSD_HOST, settings.STATSD_PORT = agent.getsockname()
    post = due_post(page, scheduled_at=timezone.now() - timedelta(seconds=90))
    enqueue_due()
    run_publish_worker()

    post.refresh_from_db()
    datagrams = []
    while not any(d.startswith("recovery.publish.lateness:") for d in datagrams):
        datagrams += agent.recv(65535).decode().splitlines()
    agent.close()
    [lateness] = [d for d in datagrams if d.startswith("recovery.publish.lateness:")]
    value, kind, tags = lateness.split(":", 1)[1].split("|", 2)
    assert kind == "ms" and "platform:meta" in tags
    assert 90_000 <= float(value) <= (post.published_at - post.scheduled_at).total_seconds() * 1000 + 1
