"""Auto-pause and resume: the rules ops and the pipeline rely on."""

from dataclasses import FrozenInstanceError
from datetime import timedelta

import django_rq
import pytest
from cryptography.fernet import Fernet
from django.test import override_settings
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, Post
from recovery.autopause import (
    ConnectionNotFound,
    PauseReason,
    auto_pause_connection,
    build_pause_reason,
    get_paused_connections,
    pause_reason_codes,
    resume_connection,
)
from recovery.taxonomy import ClassifiedError, ErrorCode
from tests.factories import ConnectionFactory, PostFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _pause_fields(connection):
    connection.refresh_from_db()
    return (
        connection.status,
        connection.health_status,
        connection.pause_reason,
        connection.pause_description,
        connection.paused_at,
    )


def test_build_pause_reason_comes_from_the_taxonomy():
    reason = build_pause_reason("AUTH_EXPIRED")
    assert reason == PauseReason(
        code="AUTH_EXPIRED",
        description="The access token expired.",
        recovery_action=reason.recovery_action,
        requires_reauth=True,
    )
    assert "Reconnect" in reason.recovery_action
    assert build_pause_reason(ErrorCode.ACCOUNT_RESTRICTED).requires_reauth is False
    with pytest.raises(FrozenInstanceError):
        reason.code = "OTHER"  # frozen


def test_only_codes_that_pause_a_channel_make_a_pause_reason():
    assert set(pause_reason_codes()) == {
        ErrorCode.AUTH_EXPIRED,
        ErrorCode.AUTH_REVOKED,
        ErrorCode.AUTH_INVALID,
        ErrorCode.REFRESH_FAILED,
        ErrorCode.PERMISSION_INSUFFICIENT,
        ErrorCode.ACCOUNT_RESTRICTED,
        ErrorCode.RESOURCE_NOT_FOUND,
    }
    with pytest.raises(ValueError):
        build_pause_reason("RATE_LIMIT_429")
    with pytest.raises(ValueError):
        build_pause_reason("NOT_A_CODE")


def test_auth_error_pauses_channel_as_needs_reconnect_with_one_audit_row(tenant):
    connection = ConnectionFactory(tenant=tenant)

    result = auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")

    assert result.changed is True
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ATTENTION
    assert connection.health_status == Connection.Health.CRITICAL
    assert connection.pause_reason == "AUTH_EXPIRED"
    assert connection.pause_description == "The access token expired."
    assert connection.paused_at is not None
    assert result.connection.status == Connection.Status.ATTENTION
    audit = ConnectionAudit.objects.get(connection=connection)
    assert audit.action == ConnectionAudit.Action.AUTO_PAUSE
    assert audit.actor == "system"
    reason = build_pause_reason("AUTH_EXPIRED")
    assert audit.details == {
        "reason_code": "AUTH_EXPIRED",
        "description": reason.description,
        "recovery_action": reason.recovery_action,
        "requires_reauth": True,
    }


def test_a_pause_is_one_statement_and_returns_the_connection_as_stored(tenant, django_assert_num_queries):
    connection = ConnectionFactory(tenant=tenant, platform="tiktok", external_account_name="@acme")

    with django_assert_num_queries(1):  # one round trip: the target is a p99 under 5 ms (bench/bench_pause.py)
        result = auto_pause_connection(tenant.pk, connection.pk, "AUTH_REVOKED")

    stored = Connection.objects.get(pk=connection.pk)
    returned = result.connection
    for name in ("pk", "tenant_id", "platform", "status", "health_status", "pause_reason", "pause_description"):
        assert getattr(returned, name) == getattr(stored, name), name
    assert returned.paused_at == stored.paused_at and returned.updated_at == stored.updated_at
    assert returned.external_account_name == "@acme"  # the rest loads on access
    assert ConnectionAudit.objects.get(connection=connection).created_at == stored.paused_at


def test_restriction_that_a_reconnect_does_not_fix_pauses_without_asking_for_reconnect(tenant):
    connection = ConnectionFactory(tenant=tenant)

    auto_pause_connection(tenant.pk, connection.pk, ErrorCode.ACCOUNT_RESTRICTED, actor="ops:alice")

    connection.refresh_from_db()
    assert connection.status == Connection.Status.PAUSED
    assert connection.health_status == Connection.Health.CRITICAL
    audit = connection.audits.get()
    assert audit.actor == "ops:alice"
    assert audit.details["requires_reauth"] is False


def test_a_classified_error_pauses_with_its_code_and_extra_details_reach_the_audit(tenant):
    connection = ConnectionFactory(tenant=tenant, platform="meta")
    classified = ClassifiedError(code=ErrorCode.PERMISSION_INSUFFICIENT, platform="meta", partner_code="200")

    auto_pause_connection(
        tenant.pk, connection.pk, classified, extra_details={"partner_code": "200", "reason_code": "IGNORED"}
    )

    audit = connection.audits.get()
    assert audit.details["reason_code"] == "PERMISSION_INSUFFICIENT"
    assert audit.details["partner_code"] == "200"


def test_pausing_a_paused_connection_adds_nothing(tenant):
    connection = ConnectionFactory(tenant=tenant)
    auto_pause_connection(tenant.pk, connection.pk, "AUTH_REVOKED")
    before = _pause_fields(connection)
    updated_at = connection.updated_at

    result = auto_pause_connection(tenant.pk, connection.pk, "ACCOUNT_RESTRICTED")

    assert result.changed is False
    assert _pause_fields(connection) == before
    assert connection.updated_at == updated_at
    assert connection.audits.count() == 1


@pytest.mark.parametrize("status", [Connection.Status.REVOKED, Connection.Status.INACTIVE])
def test_a_connection_that_is_not_active_is_not_paused(tenant, status):
    connection = ConnectionFactory(tenant=tenant, status=status)

    result = auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")

    assert result.changed is False
    connection.refresh_from_db()
    assert connection.status == status
    assert not connection.audits.exists()


def test_pause_leaves_the_connections_posts_as_they_are(tenant):
    connection = ConnectionFactory(tenant=tenant)
    scheduled = PostFactory(connection=connection)
    waiting = PostFactory(connection=connection, status=Post.Status.WAITING_RECONNECT)

    auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")

    assert Post.objects.get(pk=scheduled.pk).status == Post.Status.SCHEDULED
    assert Post.objects.get(pk=waiting.pk).status == Post.Status.WAITING_RECONNECT


def test_resume_restores_active_and_healthy_clears_the_pause_and_audits(tenant):
    connection = ConnectionFactory(tenant=tenant)
    auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")

    result = resume_connection(tenant.pk, connection.pk, actor="user:7")

    assert result.changed is True
    assert _pause_fields(connection) == (Connection.Status.ACTIVE, Connection.Health.HEALTHY, "", "", None)
    latest = connection.audits.first()  # newest first
    assert latest.action == ConnectionAudit.Action.RESUME
    assert latest.actor == "user:7"
    assert latest.details["reason_code"] == "AUTH_EXPIRED"
    assert latest.details["previous_status"] == Connection.Status.ATTENTION
    assert connection.audits.count() == 2


def _paused_connection_with_waiting_posts(tenant):
    connection = ConnectionFactory(tenant=tenant)
    auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")
    now = timezone.now()
    later = PostFactory(
        connection=connection, status=Post.Status.WAITING_RECONNECT, scheduled_at=now + timedelta(hours=1)
    )
    earlier = PostFactory(
        connection=connection, status=Post.Status.WAITING_RECONNECT, scheduled_at=now - timedelta(hours=2)
    )
    scheduled = PostFactory(connection=connection, scheduled_at=now + timedelta(hours=3))
    PostFactory(status=Post.Status.WAITING_RECONNECT)  # another connection's
    return connection, earlier, later, scheduled


def test_resume_sends_the_waiting_posts_back_to_the_pipeline(tenant, django_capture_on_commit_callbacks):
    connection, earlier, later, scheduled = _paused_connection_with_waiting_posts(tenant)

    with django_capture_on_commit_callbacks(execute=True):
        result = resume_connection(tenant.pk, connection.pk)

    assert result.waiting_post_ids == [earlier.pk, later.pk]
    statuses = dict(Post.objects.filter(connection=connection).values_list("pk", "status"))
    assert statuses == {
        later.pk: Post.Status.SCHEDULED,
        earlier.pk: Post.Status.SCHEDULED,
        scheduled.pk: Post.Status.SCHEDULED,
    }
    # The one already due is on the publish queue now; the later one waits for its time.
    queued = [job.args for job in django_rq.get_queue("publish").get_jobs()]
    assert queued == [(earlier.pk,)]


def test_resume_can_leave_the_waiting_posts_for_the_user_to_choose(tenant, django_capture_on_commit_callbacks):
    connection, earlier, later, scheduled = _paused_connection_with_waiting_posts(tenant)

    with django_capture_on_commit_callbacks(execute=True):
        result = resume_connection(tenant.pk, connection.pk, release_waiting_posts=False)

    assert result.waiting_post_ids == [earlier.pk, later.pk]
    assert Post.objects.get(pk=earlier.pk).status == Post.Status.WAITING_RECONNECT
    assert Post.objects.get(pk=later.pk).status == Post.Status.WAITING_RECONNECT
    assert django_rq.get_queue("publish").count == 0


def test_resuming_an_active_connection_is_a_no_op(tenant):
    connection = ConnectionFactory(tenant=tenant)
    PostFactory(connection=connection, status=Post.Status.WAITING_RECONNECT)

    result = resume_connection(tenant.pk, connection.pk)

    assert result.changed is False
    assert result.waiting_post_ids == []
    assert not connection.audits.exists()


def test_resume_brings_back_a_revoked_connection(tenant):
    connection = ConnectionFactory(tenant=tenant, status=Connection.Status.REVOKED)

    assert resume_connection(tenant.pk, connection.pk).changed is True
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_another_tenants_connection_is_never_touched(tenant, other_tenant):
    theirs = ConnectionFactory(tenant=other_tenant)
    paused_theirs = ConnectionFactory(tenant=other_tenant, paused=True)
    before = _pause_fields(paused_theirs)

    with pytest.raises(ConnectionNotFound):
        auto_pause_connection(tenant.pk, theirs.pk, "AUTH_EXPIRED")
    with pytest.raises(LookupError):
        resume_connection(tenant.pk, paused_theirs.pk)

    theirs.refresh_from_db()
    assert theirs.status == Connection.Status.ACTIVE
    assert _pause_fields(paused_theirs) == before
    assert not ConnectionAudit.objects.exists()


def test_a_missing_connection_raises_connection_not_found(tenant):
    with pytest.raises(ConnectionNotFound):
        auto_pause_connection(tenant.pk, 987654, "AUTH_EXPIRED")


def test_a_connection_whose_tokens_no_key_decrypts_can_still_be_paused(tenant):
    connection = ConnectionFactory(tenant=tenant)

    with override_settings(TOKEN_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        result = auto_pause_connection(tenant.pk, connection.pk, "AUTH_INVALID")

    assert result.changed is True
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ATTENTION
    assert connection.access_token.startswith("access-token-")  # untouched by the pause


def test_paused_connections_are_listed_oldest_pause_first():
    now = timezone.now()
    first_tenant, second_tenant = TenantFactory(), TenantFactory()
    newest = ConnectionFactory(tenant=first_tenant, paused=True, paused_at=now)
    oldest = ConnectionFactory(tenant=second_tenant, paused=True, paused_at=now - timedelta(days=2))
    middle = ConnectionFactory(
        tenant=first_tenant,
        status=Connection.Status.PAUSED,
        pause_reason="ACCOUNT_RESTRICTED",
        paused_at=now - timedelta(hours=3),
    )
    ConnectionFactory(tenant=first_tenant)  # active
    ConnectionFactory(tenant=first_tenant, status=Connection.Status.REVOKED)

    assert list(get_paused_connections()) == [oldest, middle, newest]
    assert list(get_paused_connections(tenant_id=first_tenant.pk)) == [middle, newest]
