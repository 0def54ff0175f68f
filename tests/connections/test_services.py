"""Connecting an account, storing its tokens and creating a post: the connections app's write services."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, Post
from connections.platforms.base import TokenSet
from connections.services import ConnectionNotFound, connection_create, connection_store_tokens, post_create
from tests.factories import ConnectionFactory, PostFactory

pytestmark = pytest.mark.django_db


def tokens(**fields) -> TokenSet:
    defaults = {"access_token": "access-one-123456", "refresh_token": "refresh-one-123456", "scopes": ["w_member_social"],
                "expires_at": timezone.now() + timedelta(days=60)}
    return TokenSet(**{**defaults, **fields})


def test_connecting_an_account_stores_encrypted_tokens_and_audits_without_them(tenant):
    connection, created = connection_create(
        tenant_id=tenant.pk, platform="linkedin", external_account_id="urn:li:person:1", tokens=tokens(),
        external_account_name="Ada", actor="user:1",
    )

    assert created and connection.granted_scopes == ["w_member_social"]
    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token) == ("access-one-123456", "refresh-one-123456")
    [audit] = stored.audits.all()
    assert (audit.action, audit.actor) == (ConnectionAudit.Action.CONNECT, "user:1")
    assert "access-one-123456" not in str(audit.details) and audit.details["has_refresh_token"] is True


def test_connecting_an_account_twice_returns_the_existing_connection_untouched(tenant):
    first, _ = connection_create(tenant_id=tenant.pk, platform="tiktok", external_account_id="open-1", tokens=tokens())

    again, created = connection_create(
        tenant_id=tenant.pk, platform="tiktok", external_account_id="open-1", tokens=tokens(access_token="other-123456")
    )

    assert (again.pk, created) == (first.pk, False)
    assert Connection.objects.get(pk=first.pk).access_token == "access-one-123456"
    assert ConnectionAudit.objects.count() == 1


def test_new_tokens_without_a_refresh_token_keep_the_stored_one(tenant):
    connection = ConnectionFactory(tenant=tenant, refresh_token="keep-me-123456", granted_scopes=["a", "b"])

    connection_store_tokens(
        tenant.pk, connection.pk, tokens(access_token="fresh-123456", refresh_token="", scopes=[]), action="refresh"
    )

    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token) == ("fresh-123456", "keep-me-123456")
    assert connection.granted_scopes == ["a", "b"]  # the partner reported no scopes: the grant is kept
    assert connection.audits.get().action == "refresh"


def test_the_signed_in_users_partner_id_is_recorded_and_kept_when_none_is_given(tenant):
    connection, _ = connection_create(tenant_id=tenant.pk, platform="meta", external_account_id="104857600001",
                                      partner_user_id="10158000000000001", tokens=tokens())
    assert connection.partner_user_id == "10158000000000001"

    connection_store_tokens(tenant.pk, connection.pk, tokens(access_token="fresh-123456"), action="refresh")
    connection.refresh_from_db()
    assert connection.partner_user_id == "10158000000000001"  # a refresh names no user: kept

    connection_store_tokens(tenant.pk, connection.pk, tokens(), action="reconnect", partner_user_id="10158000000000002")
    connection.refresh_from_db()
    assert connection.partner_user_id == "10158000000000002"
    unknown, _ = connection_create(tenant_id=tenant.pk, platform="meta", external_account_id="2", tokens=tokens())
    assert unknown.partner_user_id is None  # not known, never ""


def test_storing_tokens_on_another_tenants_connection_is_refused(tenant, other_tenant):
    theirs = ConnectionFactory(tenant=other_tenant, access_token="theirs-123456")

    with pytest.raises(ConnectionNotFound):
        connection_store_tokens(tenant.pk, theirs.pk, tokens(), action="refresh")

    theirs.refresh_from_db()
    assert theirs.access_token == "theirs-123456" and not theirs.audits.exists()


def test_a_post_is_created_on_the_tenants_own_connection_only(tenant, other_tenant):
    mine, theirs = ConnectionFactory(tenant=tenant), ConnectionFactory(tenant=other_tenant)
    at = timezone.now() + timedelta(hours=1)

    post = post_create(tenant_id=tenant.pk, connection_id=mine.pk, kind="text", content="Hello", scheduled_at=at)
    assert (post.status, post.tenant_id, post.scheduled_at) == (Post.Status.SCHEDULED, tenant.pk, at)

    with pytest.raises(ConnectionNotFound):
        post_create(tenant_id=tenant.pk, connection_id=theirs.pk, kind="text", content="Hello", scheduled_at=at)
    assert Post.objects.count() == 1


def test_the_database_refuses_a_post_whose_connection_is_another_tenants(tenant, other_tenant):
    theirs = ConnectionFactory(tenant=other_tenant)

    with pytest.raises(IntegrityError), transaction.atomic():
        PostFactory(connection=theirs, tenant=tenant)

    post = PostFactory(connection=ConnectionFactory(tenant=tenant), tenant=tenant)
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.filter(pk=post.pk).update(connection=theirs)
