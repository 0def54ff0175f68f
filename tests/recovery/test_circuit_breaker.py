"""The circuit breaker per connection: shared state in Redis, every change of state audited once."""

import threading
import time

import pytest
from django.db import connection as db_connection

from connections.models import ConnectionAudit, Post
from recovery.policies.circuit_breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    breaker_allow,
    breaker_record,
    breaker_state,
)
from sandbox import faults
from sandbox.models import SandboxRequest
from tests.factories import ConnectionFactory
from tests.recovery.pipeline_helpers import due_post, enqueue_due, page_connection, run_publish_worker


@pytest.fixture
def breaker(settings):
    settings.CIRCUIT_BREAKER = {"failures": 3, "window_s": 60, "cooldown_s": 0.3, "probe_timeout_s": 0.5}
    return settings.CIRCUIT_BREAKER


@pytest.fixture
def connection(db):
    return ConnectionFactory()


def audits(connection):
    """The breaker's audit rows of a connection, oldest first (not the rows of its linking or pausing)."""
    rows = ConnectionAudit.objects.filter(connection=connection, action__startswith="breaker_").order_by("id")
    return list(rows.values_list("action", flat=True))


def fail(connection, times):
    return [breaker_record(connection.pk, partner_down=True) for _ in range(times)]


def test_it_opens_after_n_partner_down_failures_and_audits_it_once(breaker, connection):
    assert fail(connection, 2) == [CLOSED, CLOSED]
    assert breaker_allow(connection.pk).allowed

    assert fail(connection, 2) == [OPEN, OPEN]  # a straggler's failure after opening changes nothing

    decision = breaker_allow(connection.pk)
    assert not decision.allowed and decision.state == OPEN and 0 < decision.wait_s <= 0.3
    assert audits(connection) == ["breaker_open"]
    details = ConnectionAudit.objects.get(connection=connection).details
    assert details["from"] == CLOSED and details["to"] == OPEN and details["failures"] == 3


def test_answers_that_are_not_partner_down_do_not_count(breaker, connection):
    fail(connection, 2)
    breaker_record(connection.pk, partner_down=False)  # e.g. a 400 or an auth error: the partner is up
    assert breaker_state(connection.pk) == CLOSED
    assert fail(connection, 1) == [OPEN]  # the window still held two failures


def test_failures_outside_the_window_are_forgotten(settings, connection):
    settings.CIRCUIT_BREAKER = {"failures": 2, "window_s": 0.2, "cooldown_s": 60, "probe_timeout_s": 60}
    fail(connection, 1)
    time.sleep(0.25)
    assert fail(connection, 1) == [CLOSED]
    assert fail(connection, 1) == [OPEN]


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes_it(breaker, connection):
    fail(connection, 3)
    time.sleep(0.35)

    probe = breaker_allow(connection.pk)
    other = breaker_allow(connection.pk)

    assert probe.allowed and probe.is_probe and probe.state == HALF_OPEN
    assert not other.allowed and other.state == HALF_OPEN
    assert breaker_record(connection.pk, partner_down=False) == CLOSED
    assert breaker_allow(connection.pk).allowed
    assert audits(connection) == ["breaker_open", "breaker_half_open", "breaker_closed"]


def test_a_failed_probe_opens_it_for_another_cool_down(breaker, connection):
    fail(connection, 3)
    time.sleep(0.35)
    assert breaker_allow(connection.pk).is_probe

    assert breaker_record(connection.pk, partner_down=True) == OPEN

    assert not breaker_allow(connection.pk).allowed
    assert audits(connection) == ["breaker_open", "breaker_half_open", "breaker_open"]


def test_a_probe_that_never_reports_frees_its_slot(breaker, connection):
    fail(connection, 3)
    time.sleep(0.35)
    assert breaker_allow(connection.pk).is_probe  # its worker dies: no record
    assert not breaker_allow(connection.pk).allowed

    time.sleep(0.55)

    assert breaker_allow(connection.pk).is_probe
    assert audits(connection).count("breaker_half_open") == 1


@pytest.mark.django_db(transaction=True)
def test_only_one_of_many_concurrent_callers_is_the_probe(breaker, connection):
    fail(connection, 3)
    time.sleep(0.35)
    results = []

    def call():
        try:
            results.append(breaker_allow(connection.pk).allowed)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 1
    assert audits(connection).count("breaker_half_open") == 1


def test_breakers_are_per_connection(breaker, connection):
    other = ConnectionFactory(tenant=connection.tenant)
    fail(connection, 3)
    assert not breaker_allow(connection.pk).allowed
    assert breaker_allow(other.pk).allowed


@pytest.mark.django_db(transaction=True)
def test_the_publish_job_defers_posts_while_the_breaker_is_open_without_counting_an_attempt(
    sandbox, tenant, settings
):
    settings.CIRCUIT_BREAKER = {"failures": 2, "window_s": 60, "cooldown_s": 60, "probe_timeout_s": 60}
    page = page_connection(tenant)
    faults.set_fault("meta", faults.SERVER_ERROR, status=500)
    failing = [due_post(page), due_post(page)]
    enqueue_due()
    run_publish_worker()
    assert breaker_state(page.pk) == OPEN
    calls = SandboxRequest.objects.count()

    held = due_post(page)
    enqueue_due()
    run_publish_worker()

    held.refresh_from_db()
    assert held.status == Post.Status.SCHEDULED and held.attempts == 0 and held.last_error_code == ""
    assert held.next_attempt_at is not None  # deferred to the end of the cool-down, by RQ's scheduler
    assert SandboxRequest.objects.count() == calls  # the partner was left alone
    for post in failing:
        post.refresh_from_db()
        assert post.status == Post.Status.SCHEDULED and post.attempts == 1
    assert audits(page) == ["breaker_open"]
