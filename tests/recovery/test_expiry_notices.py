"""Telling the user ahead: one mail per connection and date, 7 days before it needs them, to the owners and admins."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from connections.models import ConnectionAudit, Membership
from connections.platforms.base import TokenSet
from connections.services import connection_store_tokens
from recovery.notifications import tenant_admin_emails
from recovery.token_upkeep import tokens_notify_expiring
from tests.factories import ConnectionFactory, MembershipFactory

DAY = timedelta(days=1)


@pytest.fixture
def admins(tenant, owner, member):
    """The owner (owner@example.com), an admin, the member, and an admin whose account is switched off."""
    MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN, user__username="admin")
    MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN, user__username="gone", user__is_active=False)
    return ["admin@example.com", "owner@example.com"]


@pytest.fixture
def meta_soon(tenant):
    """A Facebook Page whose long-lived token ends in 5 days (Meta has no refresh token)."""
    return ConnectionFactory(tenant=tenant, platform="meta", account_type="facebook_page", refresh_token="",
                             external_account_name="Acme Page", token_expires_at=timezone.now() + 5 * DAY)


def test_tenant_admin_emails_are_the_owners_and_admins_only(tenant, admins, outsider):
    assert tenant_admin_emails(tenant.pk) == admins


@pytest.mark.django_db
def test_a_connection_that_needs_its_user_within_seven_days_is_mailed_once(tenant, admins, meta_soon, settings):
    assert tokens_notify_expiring() == 1

    assert sorted(message.to[0] for message in mail.outbox) == admins
    message = mail.outbox[0]
    assert "Acme Page" in message.subject and "Reconnect" in message.subject
    assert f"{settings.SITE_URL}/channels/" in message.body
    meta_soon.refresh_from_db()
    assert meta_soon.reconnect_notice_for == meta_soon.token_expires_at
    notice = ConnectionAudit.objects.get(connection=meta_soon, action=ConnectionAudit.Action.EXPIRY_NOTICE)
    assert notice.details == {"stops_at": meta_soon.token_expires_at.isoformat(), "recipients": 2}

    assert tokens_notify_expiring() == 0  # once
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_mail_holds_no_token_and_no_secret_link(tenant, admins, meta_soon):
    tokens_notify_expiring()

    for message in mail.outbox:
        assert meta_soon.access_token not in message.body and meta_soon.access_token not in message.subject
        assert "token=" not in message.body and "code=" not in message.body and "?" not in message.body


@pytest.mark.django_db
def test_a_reconnect_brings_a_new_date_and_so_a_new_notice_seven_days_before_it(tenant, admins, meta_soon):
    tokens_notify_expiring()
    later = timezone.now() + 60 * DAY
    connection_store_tokens(tenant.pk, meta_soon.pk, TokenSet(access_token="new", expires_at=later), action="reconnect")

    assert tokens_notify_expiring() == 0  # 60 days away

    meta_soon.__class__.objects.filter(pk=meta_soon.pk).update(token_expires_at=timezone.now() + 6 * DAY)
    assert tokens_notify_expiring() == 1
    assert len(mail.outbox) == 4


@pytest.mark.django_db
def test_linkedin_is_told_seven_days_before_its_refresh_token_ends(tenant, admins):
    linkedin = ConnectionFactory(tenant=tenant, platform="linkedin", token_expires_at=timezone.now() + 50 * DAY,
                                 refresh_token_expires_at=timezone.now() + 3 * DAY)

    assert tokens_notify_expiring() == 1
    linkedin.refresh_from_db()
    assert linkedin.reconnect_notice_for == linkedin.refresh_token_expires_at


@pytest.mark.django_db
def test_connections_upkeep_keeps_alive_or_not_yet_due_are_not_mailed(tenant, admins):
    now = timezone.now()
    ConnectionFactory(tenant=tenant, platform="gbp", token_expires_at=now + timedelta(hours=1))
    ConnectionFactory(tenant=tenant, platform="tiktok", token_expires_at=now + timedelta(hours=2),
                      refresh_token_expires_at=now + 2 * DAY)  # renewed by every refresh
    ConnectionFactory(tenant=tenant, platform="mailchimp", refresh_token="", token_expires_at=None)
    ConnectionFactory(tenant=tenant, platform="meta", refresh_token="", token_expires_at=now + 8 * DAY)
    ConnectionFactory(tenant=tenant, platform="meta", refresh_token="", token_expires_at=now + 2 * DAY, paused=True)

    assert tokens_notify_expiring() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_mail_that_fails_is_not_recorded_and_is_tried_again(tenant, admins, meta_soon, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens there

    assert tokens_notify_expiring() == 0
    meta_soon.refresh_from_db()
    assert meta_soon.reconnect_notice_for is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tokens_notify_expiring() == 1
