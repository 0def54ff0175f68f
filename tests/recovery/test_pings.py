"""Synthetic pings: the scheduler's tick (due rows in bounded batches, oldest first, never twice), and each
ping against the sandbox through a real worker (revoked token, removed scope, partner outage, recovery)."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, PingSchedule
from connections.platforms.base import TokenSet
from connections.services import connection_create
from recovery.autopause import auto_pause_connection, resume_connection, scopes_to_request
from recovery.jobs import connection_ping_job
from recovery.pings import pings_enqueue_due
from recovery.policies.rate_limit import take_token
from sandbox import faults
from tests.factories import ConnectionFactory
from tests.recovery.ping_helpers import (
    GBP_LOCATION,
    audit_actions,
    gbp_connection,
    linkedin_connection,
    make_due,
    next_ping_at,
    partner_calls,
    pings_on,
    queued_ids,
    run_worker,
    schedule_at,
    scheduled_count,
)
from tests.recovery.pipeline_helpers import PAGE_ID, page_connection

pytestmark = pytest.mark.django_db(transaction=True)

GBP_SCOPE = "https://www.googleapis.com/auth/business.manage"


def in_interval(connection, since) -> bool:
    low = since + timedelta(seconds=django_settings.PING_MIN_INTERVAL_S)
    high = timezone.now() + timedelta(seconds=django_settings.PING_MAX_INTERVAL_S)
    return low <= next_ping_at(connection) <= high


def ping_now(*connections_to_ping) -> None:
    """What cron and a worker do once these connections are due."""
    make_due(*connections_to_ping)
    pings_enqueue_due()
    run_worker("pings")


# -- the tick -------------------------------------------------------------------------------


def test_a_tick_enqueues_each_due_connection_oldest_first_and_moves_its_next_ping_into_the_interval(tenant, other_tenant):
    pings_on(tenant)
    pings_on(other_tenant, on=False)
    due = ConnectionFactory(tenant=tenant)
    overdue = ConnectionFactory(tenant=tenant)
    later = ConnectionFactory(tenant=tenant)
    schedule_at(timezone.now() + timedelta(hours=1), later)
    paused = ConnectionFactory(tenant=tenant, paused=True)
    revoked = ConnectionFactory(tenant=tenant, status=Connection.Status.REVOKED)
    pings_off = ConnectionFactory(tenant=other_tenant)
    make_due(due, paused, revoked, pings_off, ago=timedelta(minutes=1))
    make_due(overdue, ago=timedelta(hours=2))
    started = timezone.now()

    assert pings_enqueue_due() == 2

    assert queued_ids("pings") == [overdue.pk, due.pk]
    assert in_interval(due, started) and in_interval(overdue, started)
    assert not in_interval(later, started)
    # Paused, revoked and pings-off connections get no job; their schedules are looked at again an
    # interval later, not at every tick.
    assert in_interval(paused, started) and in_interval(revoked, started) and in_interval(pings_off, started)
    assert pings_enqueue_due() == 0


def test_a_tick_takes_bounded_batches_and_leaves_the_rest_oldest_first_for_the_next(tenant):
    pings_on(tenant)
    rows = [ConnectionFactory(tenant=tenant) for _ in range(7)]
    for age, connection in enumerate(rows):
        make_due(connection, ago=timedelta(minutes=10 - age))  # rows[0] is the oldest due

    assert pings_enqueue_due(batch=3, limit=5) == 5
    assert queued_ids("pings") == [c.pk for c in rows[:5]]
    assert pings_enqueue_due(batch=3, limit=5) == 2
    assert queued_ids("pings")[5:] == [c.pk for c in rows[5:]]


def test_pings_are_spread_across_the_interval_not_sent_in_waves(tenant):
    pings_on(tenant)
    ConnectionFactory.create_batch(400, tenant=tenant)
    started = timezone.now()
    make_due(*Connection.objects.all())

    assert pings_enqueue_due() == 400

    low, high = django_settings.PING_MIN_INTERVAL_S, django_settings.PING_MAX_INTERVAL_S
    offsets = [(s.next_ping_at - started).total_seconds() for s in PingSchedule.objects.all()]
    assert all(low - 5 <= offset <= high + 5 for offset in offsets)
    tenths = {min(int((offset - low) / (high - low) * 10), 9) for offset in offsets}
    assert tenths == set(range(10))  # every tenth of the interval gets some


def test_overlapping_ticks_never_enqueue_a_connection_twice(tenant):
    pings_on(tenant)
    ConnectionFactory.create_batch(300, tenant=tenant)
    make_due(*Connection.objects.all())
    barrier = threading.Barrier(3)
    counts, errors = [], []

    def tick():
        try:
            barrier.wait(timeout=10)
            counts.append(pings_enqueue_due(batch=7))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    ids = queued_ids("pings")
    assert sum(counts) == len(ids) == len(set(ids)) == 300


def test_a_new_connection_is_due_at_once_and_a_resumed_one_at_the_next_tick(tenant):
    connection, _ = connection_create(tenant_id=tenant.pk, platform="linkedin", external_account_id="m-1",
                                      tokens=TokenSet(access_token="a"))
    assert next_ping_at(connection) <= timezone.now()

    paused = ConnectionFactory(tenant=tenant, ping_schedule__failures=2)
    schedule_at(timezone.now() + timedelta(hours=5), paused)
    auto_pause_connection(tenant.pk, paused.pk, "AUTH_REVOKED")
    resume_connection(tenant.pk, paused.pk)
    paused.refresh_from_db()
    assert next_ping_at(paused) <= timezone.now() and paused.ping_schedule.failures == 0


# -- one ping, through a real worker --------------------------------------------------------------


def test_a_ping_records_the_time_and_the_connection_stays_healthy(sandbox, tenant):
    pings_on(tenant)
    connection = linkedin_connection(tenant)
    before = audit_actions(connection)

    ping_now(connection)

    connection.refresh_from_db()
    assert connection.last_ping_at is not None and connection.health_status == Connection.Health.HEALTHY
    assert audit_actions(connection) == before  # a routine success writes no audit row
    assert partner_calls("linkedin", "/v2/userinfo") == 1


def test_a_revoked_token_is_found_by_a_ping_and_the_channel_paused(sandbox, tenant, autopause_on):
    pings_on(tenant)
    page = page_connection(tenant)
    faults.set_fault("meta", faults.REVOKE_TOKEN, account_id=PAGE_ID)

    ping_now(page)

    page.refresh_from_db()
    assert page.status == Connection.Status.ATTENTION and page.pause_reason == "AUTH_REVOKED"
    paused = ConnectionAudit.objects.get(connection=page, action=ConnectionAudit.Action.AUTO_PAUSE)
    assert paused.details["found_by"] == "ping" and paused.details["partner_code"] == "190/460"
    make_due(page)
    assert pings_enqueue_due() == 0  # paused: not pinged again


def test_a_removed_scope_is_found_by_a_ping_and_the_reconnect_asks_for_it(sandbox, tenant, autopause_on):
    pings_on(tenant)
    location = gbp_connection(tenant)
    faults.set_fault("gbp", faults.REMOVE_SCOPE, account_id=GBP_LOCATION, scope=GBP_SCOPE)

    ping_now(location)

    location.refresh_from_db()
    assert location.status == Connection.Status.ATTENTION and location.pause_reason == "PERMISSION_INSUFFICIENT"
    assert audit_actions(location)[-2:] == ["auto_pause", "scopes_missing"]
    assert GBP_SCOPE in scopes_to_request(location)


def test_a_partner_outage_is_a_warning_then_critical_and_its_end_is_recorded(sandbox, tenant, autopause_on):
    pings_on(tenant)
    page = page_connection(tenant)
    faults.set_fault("meta", faults.SERVER_ERROR, status=503)

    seen = []
    for _ in range(django_settings.PING_CRITICAL_AFTER):
        ping_now(page)
        page.refresh_from_db()
        seen.append((page.status, page.health_status, page.ping_schedule.failures))
    assert seen == [
        ("active", "warning", 1),
        ("active", "warning", 2),
        ("active", "critical", 3),
    ]
    failed = ConnectionAudit.objects.filter(connection=page, action=ConnectionAudit.Action.PING_FAILED).last()
    assert failed.details["code"] == "PARTNER_5XX"

    faults.clear_faults("meta")
    ping_now(page)

    page.refresh_from_db()
    assert (page.health_status, page.ping_schedule.failures) == ("healthy", 0) and page.last_ping_at is not None
    recovered = ConnectionAudit.objects.get(connection=page, action=ConnectionAudit.Action.PING_OK)
    assert recovered.details == {"previous_health": "critical", "failed_pings": 3}


def test_an_expired_token_found_by_a_ping_is_refreshed_not_paused(sandbox, tenant, autopause_on):
    pings_on(tenant)
    location = gbp_connection(tenant)
    faults.set_fault("gbp", faults.EXPIRE_TOKEN, account_id=GBP_LOCATION)

    ping_now(location)

    location.refresh_from_db()
    assert location.status == Connection.Status.ACTIVE and location.health_status == Connection.Health.HEALTHY
    assert location.last_ping_at is not None
    assert audit_actions(location)[-1] == "refresh"


def test_with_auto_pause_off_a_broken_channel_found_by_a_ping_stays_active_and_critical(sandbox, tenant, autopause_off):
    pings_on(tenant)
    page = page_connection(tenant)
    faults.set_fault("meta", faults.REVOKE_TOKEN, account_id=PAGE_ID)

    ping_now(page)

    page.refresh_from_db()
    assert page.status == Connection.Status.ACTIVE and page.health_status == Connection.Health.CRITICAL
    assert audit_actions(page)[-1] == "ping_failed"


def test_pings_off_for_the_tenant_mean_no_job_no_partner_call_no_audit_row(sandbox, tenant):
    pings_on(tenant, on=False)
    page = page_connection(tenant)
    before = audit_actions(page)

    ping_now(page)
    assert connection_ping_job(page.pk) == "skipped"  # a job enqueued before the flag went off

    page.refresh_from_db()
    assert page.last_ping_at is None and audit_actions(page) == before
    assert partner_calls("meta", PAGE_ID) == 0


def test_a_paused_connection_is_not_pinged_even_by_a_job_already_queued(sandbox, tenant):
    pings_on(tenant)
    page = page_connection(tenant)
    auto_pause_connection(tenant.pk, page.pk, "AUTH_REVOKED")

    assert connection_ping_job(page.pk) == "skipped"
    assert partner_calls("meta", PAGE_ID) == 0


def test_an_empty_bucket_defers_the_ping_without_calling_the_partner(sandbox, tenant):
    pings_on(tenant)
    page = page_connection(tenant)
    while take_token(tenant.pk, "meta").allowed:  # the tenant's Meta bucket, emptied by its publishes
        pass

    ping_now(page)

    page.refresh_from_db()
    assert page.last_ping_at is None and partner_calls("meta", PAGE_ID) == 0
    assert scheduled_count("pings") == 1  # the same ping, planned for when the bucket has a token
