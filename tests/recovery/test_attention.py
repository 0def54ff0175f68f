"""The banner's items (recovery.attention) and the pause and back mails (recovery.notifications)."""

import django_rq
import pytest
from django.conf import settings
from django.core import mail

from connections.models import ConnectionAudit, Membership, Post
from recovery.attention import BACKFILL, PAUSED, attention_items
from recovery.autopause import auto_pause_connection, build_pause_reason, resume_connection
from recovery.channel_words import OPS_PAUSE_REASON
from recovery.notifications import tenant_admin_emails
from recovery.taxonomy import get_taxonomy_entry
from recovery.worker import RecoveryWorker
from tests.factories import ConnectionFactory, MembershipFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(tenant):
    return ConnectionFactory(tenant=tenant, platform="linkedin", account_type="organization",
                             external_account_id="10000001", external_account_name="Acme Page",
                             access_token="secret-access-token-123", refresh_token="secret-refresh-token-456")


def run_mail_jobs() -> None:
    django_rq.get_worker("default", worker_class=RecoveryWorker).work(burst=True)


# ------------------------------------------------------------------ the banner's items


def test_a_paused_channel_is_named_with_its_reason_since_when_and_its_waiting_posts(tenant, page):
    auto_pause_connection(tenant.pk, page.pk, "AUTH_EXPIRED")
    PostFactory.create_batch(2, connection=page, status=Post.Status.WAITING_RECONNECT)
    entry = get_taxonomy_entry("AUTH_EXPIRED")

    [item] = attention_items(tenant.pk)

    page.refresh_from_db()
    assert item.kind == PAUSED and item.headline == "LinkedIn Page: Acme Page is disconnected"
    assert item.reason == f"{entry.happened} {entry.we_did}" and item.todo == entry.todo
    assert item.since == page.paused_at and item.waiting_posts == 2
    assert item.offers_reconnect and not item.by_ops


def test_a_pause_by_ops_says_so_in_its_own_words_not_the_failures(tenant, page):
    auto_pause_connection(tenant.pk, page.pk, build_pause_reason("ACCOUNT_RESTRICTED"), actor="ops:alice",
                          audit_action=ConnectionAudit.Action.PAUSE)

    [item] = attention_items(tenant.pk)

    assert item.headline == "LinkedIn Page: Acme Page was paused by our support team"
    assert item.reason == OPS_PAUSE_REASON and item.by_ops
    assert get_taxonomy_entry("ACCOUNT_RESTRICTED").happened not in item.reason
    assert not item.offers_reconnect  # ops resume it; a user's reconnect must not undo their pause


def test_an_ops_pause_that_needs_a_sign_in_asks_for_a_reconnect(tenant, page):
    auto_pause_connection(tenant.pk, page.pk, build_pause_reason("AUTH_REVOKED"), actor="ops:alice",
                          audit_action=ConnectionAudit.Action.PAUSE)

    [item] = attention_items(tenant.pk)

    assert item.by_ops and item.offers_reconnect and "reconnect it" in item.todo
    assert "withdrew" not in item.reason and get_taxonomy_entry("AUTH_REVOKED").happened not in item.reason


def test_missed_posts_on_an_active_channel_are_a_backfill_item(tenant, page):
    PostFactory(connection=page, status=Post.Status.WAITING_RECONNECT)

    [item] = attention_items(tenant.pk)

    assert item.kind == BACKFILL and item.headline == "LinkedIn Page: Acme Page is back: 1 missed post waits for you"


def test_nothing_needs_the_user_and_another_tenants_pause_is_not_shown(tenant, other_tenant, page):
    elsewhere = ConnectionFactory(tenant=other_tenant)
    auto_pause_connection(other_tenant.pk, elsewhere.pk, "AUTH_EXPIRED")

    assert attention_items(tenant.pk) == []


def test_the_items_cost_the_same_queries_for_one_paused_channel_and_for_ten(tenant, django_assert_num_queries):
    def pause_one():
        connection = ConnectionFactory(tenant=tenant)
        auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")
        PostFactory(connection=connection, status=Post.Status.WAITING_RECONNECT)

    pause_one()
    with django_assert_num_queries(4):  # paused channels with who paused them, their waiting posts, missed posts, expiring sign-ins
        attention_items(tenant.pk)
    for _ in range(9):
        pause_one()
    with django_assert_num_queries(4):
        assert len(attention_items(tenant.pk)) == 10


# ------------------------------------------------------------------ the mails


# The mail jobs run in a real worker, which opens its own database connection: transactional tests.
@pytest.mark.django_db(transaction=True)
def test_the_owners_and_admins_get_one_mail_per_pause_naming_the_channel_without_secrets(tenant, owner, member, page):
    admin = MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN, user__username="admin").user
    assert auto_pause_connection(tenant.pk, page.pk, "AUTH_EXPIRED").changed
    assert not auto_pause_connection(tenant.pk, page.pk, "AUTH_EXPIRED").changed  # a second failing post

    run_mail_jobs()

    assert sorted(message.to for message in mail.outbox) == sorted([[owner.email], [admin.email]])  # one each
    sent = mail.outbox[0]
    assert sent.subject == "LinkedIn Page: Acme Page is disconnected"
    assert f"{settings.SITE_URL}/channels/" in sent.body
    assert get_taxonomy_entry("AUTH_EXPIRED").happened in sent.body
    for secret in ("secret-access-token-123", "secret-refresh-token-456", "reconnect", "state="):
        assert secret not in sent.body.replace("Reconnect", "")  # the todo names the button, never a link


@pytest.mark.django_db(transaction=True)
def test_a_pause_over_before_its_mail_goes_out_sends_none_and_the_back_mail_says_it_is_back(tenant, owner, page):
    auto_pause_connection(tenant.pk, page.pk, "AUTH_EXPIRED")
    resume_connection(tenant.pk, page.pk, actor="user:1")

    run_mail_jobs()

    [back] = mail.outbox
    assert back.subject == "LinkedIn Page: Acme Page is connected again" and back.to == [owner.email]


def test_tenant_admin_emails_are_the_active_owners_and_admins_of_that_tenant_only(tenant, owner, member, outsider):
    inactive = MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN, user__username="gone").user
    inactive.is_active = False
    inactive.save()

    assert tenant_admin_emails(tenant.pk) == [owner.email]


def test_a_channel_whose_sign_in_ends_within_7_days_is_in_the_banner_with_reconnect(tenant):
    from datetime import timedelta

    from django.utils import timezone

    from recovery.attention import EXPIRING

    page = ConnectionFactory(
        tenant=tenant, platform="meta", account_type="facebook_page", external_account_name="Acme Page",
        refresh_token="", token_expires_at=timezone.now() + timedelta(days=3),
    )
    ConnectionFactory(tenant=tenant, platform="meta", account_type="facebook_page", refresh_token="",
                      token_expires_at=timezone.now() + timedelta(days=30))  # not yet

    [item] = attention_items(tenant.pk)

    assert (item.kind, item.connection_id, item.offers_reconnect) == (EXPIRING, page.pk, True)
    assert item.headline.startswith("Facebook Page: Acme Page stops working on")
