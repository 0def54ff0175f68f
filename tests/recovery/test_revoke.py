"""Revoking a connection: the user took the app's access away at the partner (a deauthorize webhook)."""

import pytest

from connections.models import Connection, ConnectionAudit
from recovery.autopause import ConnectionNotFound, resume_connection, revoke_connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [Connection.Status.ACTIVE, Connection.Status.ATTENTION, Connection.Status.PAUSED])
def test_revoke_marks_the_connection_revoked_with_one_audit_row(tenant, status):
    connection = ConnectionFactory(tenant=tenant, status=status)

    result = revoke_connection(tenant.pk, connection.pk, actor="partner:meta", extra_details={"webhook_event_id": 7})

    connection.refresh_from_db()
    assert result.changed and result.connection.status == Connection.Status.REVOKED
    assert (connection.status, connection.health_status, connection.pause_reason) == ("revoked", "critical", "AUTH_REVOKED")
    assert connection.paused_at is not None
    [audit] = connection.audits.all()
    assert (audit.action, audit.actor) == (ConnectionAudit.Action.REVOKE, "partner:meta")
    assert audit.details["webhook_event_id"] == 7 and audit.details["previous_status"] == status


@pytest.mark.parametrize("status", [Connection.Status.REVOKED, Connection.Status.INACTIVE])
def test_revoking_a_revoked_or_switched_off_connection_changes_nothing(tenant, status):
    connection = ConnectionFactory(tenant=tenant, status=status)

    assert revoke_connection(tenant.pk, connection.pk).changed is False
    assert not connection.audits.exists()


def test_revoke_never_touches_another_tenants_connection(tenant, other_tenant):
    theirs = ConnectionFactory(tenant=other_tenant)

    with pytest.raises(ConnectionNotFound):
        revoke_connection(tenant.pk, theirs.pk)
    theirs.refresh_from_db()
    assert theirs.status == Connection.Status.ACTIVE


def test_a_revoked_connection_comes_back_with_a_resume(tenant):
    connection = ConnectionFactory(tenant=tenant)
    revoke_connection(tenant.pk, connection.pk)

    assert resume_connection(tenant.pk, connection.pk, actor="user:1").changed

    connection.refresh_from_db()
    assert (connection.status, connection.pause_reason) == (Connection.Status.ACTIVE, "")
