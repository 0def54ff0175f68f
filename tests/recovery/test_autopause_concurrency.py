"""Auto-pause under contention, on PostgreSQL with real threads and connections.

Each thread has its own database connection (Django's connections are per
thread) and its own transaction, so the row lock of `select_for_update` is
what keeps the outcome consistent.
"""

import threading

import pytest
from django.db import connections

from connections.models import Connection, ConnectionAudit
from recovery.autopause import auto_pause_connection, resume_connection
from tests.factories import ConnectionFactory, TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(*calls):
    """Run each call in its own thread, released at once by a barrier; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = []

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


def test_two_workers_pausing_the_same_connection_write_one_audit_row():
    connection = ConnectionFactory(tenant=TenantFactory())
    tenant_id = connection.tenant_id

    for _ in range(3):
        results = _run_together(
            lambda: auto_pause_connection(tenant_id, connection.pk, "AUTH_EXPIRED"),
            lambda: auto_pause_connection(tenant_id, connection.pk, "AUTH_REVOKED"),
        )

        assert sorted(result.changed for result in results) == [False, True]
        winner = next(result for result in results if result.changed)
        connection.refresh_from_db()
        assert connection.status == Connection.Status.ATTENTION
        assert connection.pause_reason == winner.connection.pause_reason
        audit = ConnectionAudit.objects.get(connection=connection)
        assert audit.action == ConnectionAudit.Action.AUTO_PAUSE
        assert audit.details["reason_code"] == connection.pause_reason

        ConnectionAudit.objects.all().delete()  # the next round starts from an active connection
        Connection.objects.filter(pk=connection.pk).update(
            status=Connection.Status.ACTIVE, pause_reason="", pause_description="", paused_at=None
        )


def test_pause_racing_resume_leaves_state_that_matches_the_audit_log():
    connection = ConnectionFactory(tenant=TenantFactory())
    tenant_id = connection.tenant_id

    for round_number in range(6):
        # Alternate the starting state so both "pause wins" and "resume wins" orders can happen.
        start_paused = round_number % 2 == 1
        if start_paused:
            auto_pause_connection(tenant_id, connection.pk, "ACCOUNT_RESTRICTED")
        audits_before = ConnectionAudit.objects.filter(connection=connection).count()

        pause, resume = _run_together(
            lambda: auto_pause_connection(tenant_id, connection.pk, "ACCOUNT_RESTRICTED"),
            lambda: resume_connection(tenant_id, connection.pk),
        )

        connection.refresh_from_db()
        new_audits = list(ConnectionAudit.objects.filter(connection=connection).order_by("-id"))
        assert len(new_audits) - audits_before == pause.changed + resume.changed
        latest = new_audits[0] if new_audits else None
        if latest is not None and latest.action == ConnectionAudit.Action.AUTO_PAUSE:
            assert connection.status == Connection.Status.PAUSED
            assert connection.health_status == Connection.Health.CRITICAL
            assert connection.pause_reason == "ACCOUNT_RESTRICTED"
            assert connection.paused_at is not None
        else:
            assert connection.status == Connection.Status.ACTIVE
            assert connection.health_status == Connection.Health.HEALTHY
            assert (connection.pause_reason, connection.pause_description, connection.paused_at) == ("", "", None)

        resume_connection(tenant_id, connection.pk)  # the next round starts active
