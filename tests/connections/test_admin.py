"""Ops in the Django admin: connections, their audit log, pause and resume, and the paused view."""

import re
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connections.admin import format_age
from connections.models import Connection, ConnectionAudit, Post
from connections.platforms.base import PartnerError
from recovery.autopause import auto_pause_connection
from recovery.classifier import classify_partner_error
from recovery.failures import classify_failure
from recovery.models import DeadLetter, UnmappedError
from recovery.publishing import post_apply_failure
from tests.factories import ConnectionFactory, PostFactory, TenantFactory

pytestmark = pytest.mark.django_db

ACCESS = "plain-ACCESS-token-0f9a8b7c6d"
REFRESH = "plain-REFRESH-token-1e2d3c4b5a"
CHANGELIST = reverse("admin:connections_connection_changelist")
PAUSED = reverse("admin:connections_connection_paused")


@pytest.fixture
def ops(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def secret_connection(tenant):
    return ConnectionFactory(
        tenant=tenant, platform="meta", account_type="facebook_page", access_token=ACCESS, refresh_token=REFRESH
    )


def _changelist_queries(client):
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


def test_connection_changelist_queries_do_not_grow_with_rows(ops, tenant, other_tenant, django_assert_max_num_queries):
    ConnectionFactory.create_batch(2, tenant=tenant)
    few = _changelist_queries(ops)
    ConnectionFactory.create_batch(10, tenant=other_tenant, paused=True)

    with django_assert_max_num_queries(12):
        many_response = ops.get(CHANGELIST)

    assert _changelist_queries(ops) == few
    assert many_response.context["cl"].result_count == 12


def test_changelist_lists_pause_state_and_links_the_paused_view(ops, tenant):
    ConnectionFactory(tenant=tenant, external_account_name="Acme Page", paused=True)

    response = ops.get(CHANGELIST)

    html = response.content.decode()
    assert "Acme Page" in html
    assert "AUTH_EXPIRED" in html
    assert "Needs reconnect" in html
    assert PAUSED in html


def test_token_values_never_appear_in_admin_pages(ops, secret_connection):
    # A partner that echoes the token back: in a dead letter's classification and in an unmapped error.
    failed = PostFactory(connection=secret_connection, status=Post.Status.PUBLISHING, attempts=1)
    echoed = {"error": {"message": f"(#100) Invalid parameter access_token={ACCESS}", "type": "OAuthException", "code": 100}}
    post_apply_failure(failed.pk, classify_partner_error("meta", 400, echoed))
    classify_failure(PartnerError("meta", 418, f"I'm a teapot; token={ACCESS}, refresh_token={REFRESH}"))
    letter = DeadLetter.objects.get()
    unmapped = UnmappedError.objects.get()
    auto_pause_connection(secret_connection.tenant_id, secret_connection.pk, "AUTH_EXPIRED")
    post = PostFactory(connection=secret_connection)
    audit = secret_connection.audits.get()
    pages = [
        CHANGELIST,
        f"{CHANGELIST}?q=acct",
        reverse("admin:connections_connection_change", args=[secret_connection.pk]),
        reverse("admin:connections_connection_history", args=[secret_connection.pk]),
        reverse("admin:connections_connection_delete", args=[secret_connection.pk]),
        PAUSED,
        reverse("admin:connections_connectionaudit_changelist"),
        reverse("admin:connections_connectionaudit_change", args=[audit.pk]),
        reverse("admin:connections_post_changelist"),
        reverse("admin:connections_post_change", args=[post.pk]),
        reverse("admin:connections_post_history", args=[post.pk]),
        reverse("admin:recovery_deadletter_changelist"),
        reverse("admin:recovery_deadletter_change", args=[letter.pk]),
        reverse("admin:recovery_unmappederror_changelist"),
        reverse("admin:recovery_unmappederror_change", args=[unmapped.pk]),
        reverse("admin:connections_tenant_change", args=[secret_connection.tenant_id]),
    ]
    for url in pages:
        response = ops.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert ACCESS not in html, url
        assert REFRESH not in html, url
        assert "gAAAAA" not in html, url  # nor the ciphertext

    change_form = ops.get(pages[2]).context["adminform"].form
    assert "access_token" not in change_form.fields
    assert "refresh_token" not in change_form.fields


def test_saving_the_change_form_leaves_the_tokens_and_the_audit_log_alone(ops, secret_connection):
    auto_pause_connection(secret_connection.tenant_id, secret_connection.pk, "AUTH_EXPIRED")
    url = reverse("admin:connections_connection_change", args=[secret_connection.pk])
    page = ops.get(url).content.decode()
    # What the browser sends back for the read-only audit inline: its hidden inputs.
    inline_inputs = dict(re.findall(r'<input type="hidden" name="(audits-[^"]+)" value="([^"]*)"', page))
    assert inline_inputs["audits-INITIAL_FORMS"] == "1"
    data = {
        **inline_inputs,
        "tenant": secret_connection.tenant_id,
        "platform": "meta",
        "account_type": "facebook_page",
        "external_account_id": secret_connection.external_account_id,
        "external_account_name": "Renamed by ops",
        "granted_scopes": "[]",
    }

    response = ops.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    secret_connection.refresh_from_db()
    assert secret_connection.external_account_name == "Renamed by ops"
    assert (secret_connection.access_token, secret_connection.refresh_token) == (ACCESS, REFRESH)
    assert secret_connection.status == Connection.Status.ATTENTION  # read-only here: only the actions change it
    assert list(secret_connection.audits.values_list("action", flat=True)) == [ConnectionAudit.Action.AUTO_PAUSE]


def test_ops_pause_action_pauses_with_the_chosen_reason_and_audits(ops, tenant):
    first, second = ConnectionFactory.create_batch(2, tenant=tenant)
    already = ConnectionFactory(tenant=tenant, paused=True)

    response = ops.post(
        CHANGELIST,
        {"action": "pause_ops", "reason": "AUTH_REVOKED", "_selected_action": [first.pk, second.pk, already.pk]},
        follow=True,
    )

    assert "Paused 2 connections. 1 left as it was (was not active)." in response.content.decode()
    for connection in (first, second):
        connection.refresh_from_db()
        assert connection.status == Connection.Status.ATTENTION
        assert connection.pause_reason == "AUTH_REVOKED"
        audit = connection.audits.get()
        assert (audit.action, audit.actor) == (ConnectionAudit.Action.PAUSE, "ops:operator")
        assert audit.details["reason_code"] == "AUTH_REVOKED"
    assert not already.audits.exists()


def test_ops_cannot_edit_what_the_pipeline_reads_only_the_display_name(ops, tenant, other_tenant):
    connection = ConnectionFactory(tenant=tenant, platform="meta", account_type="facebook_page", paused=True,
                                   granted_scopes=["pages_manage_posts"])
    url = reverse("admin:connections_connection_change", args=[connection.pk])
    page = ops.get(url).content.decode()
    inline_inputs = dict(re.findall(r'<input type="hidden" name="(audits-[^"]+)" value="([^"]*)"', page))

    ops.post(url, {
        **inline_inputs,
        "external_account_name": "Renamed",
        # What a hand-made request could try: none of it is a form field any more.
        "tenant": other_tenant.pk, "status": "active", "pause_reason": "", "granted_scopes": '["everything"]',
        "platform": "tiktok", "external_account_id": "someone-else", "health_status": "healthy",
    })

    connection.refresh_from_db()
    assert connection.external_account_name == "Renamed"
    assert (connection.tenant, connection.status, connection.pause_reason) == (tenant, "attention", "AUTH_EXPIRED")
    assert (connection.platform, connection.granted_scopes) == ("meta", ["pages_manage_posts"])
    assert ops.get(reverse("admin:connections_connection_add")).status_code == 403


def test_posts_are_read_only_for_ops(ops, tenant):
    post = PostFactory(connection=ConnectionFactory(tenant=tenant), status=Post.Status.DEAD, attempts=3)
    url = reverse("admin:connections_post_change", args=[post.pk])

    assert ops.get(url).status_code == 200  # shown, with no form to save
    ops.post(url, {"status": "scheduled", "attempts": "0", "tenant": tenant.pk, "connection": post.connection_id})

    post.refresh_from_db()
    assert (post.status, post.attempts) == (Post.Status.DEAD, 3)
    assert ops.get(reverse("admin:connections_post_add")).status_code == 403


def test_the_resume_message_counts_the_selection_made_before_the_change(ops, tenant):
    paused = ConnectionFactory.create_batch(2, tenant=tenant, paused=True)

    # Selected from a changelist filtered on the paused status: afterwards none of them match the filter.
    response = ops.post(
        f"{CHANGELIST}?status__exact=attention",
        {"action": "resume_ops", "_selected_action": [c.pk for c in paused]},
        follow=True,
    )

    page = response.content.decode()
    assert "Resumed 2 connections." in page
    assert "left as" not in page


def test_ops_pause_action_without_a_reason_pauses_nothing(ops, tenant):
    connection = ConnectionFactory(tenant=tenant)

    response = ops.post(CHANGELIST, {"action": "pause_ops", "reason": "", "_selected_action": [connection.pk]}, follow=True)

    assert "Choose a pause reason" in response.content.decode()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert not ConnectionAudit.objects.exists()


def test_ops_resume_action_resumes_and_audits(ops, tenant):
    paused = ConnectionFactory(tenant=tenant, paused=True)
    active = ConnectionFactory(tenant=tenant)

    response = ops.post(CHANGELIST, {"action": "resume_ops", "_selected_action": [paused.pk, active.pk]}, follow=True)

    assert "Resumed 1 connection. 1 left as it was (was not paused)." in response.content.decode()
    paused.refresh_from_db()
    assert (paused.status, paused.health_status, paused.pause_reason) == ("active", "healthy", "")
    audit = paused.audits.get()
    assert (audit.action, audit.actor) == (ConnectionAudit.Action.RESUME, "ops:operator")
    assert not active.audits.exists()


def test_audit_rows_show_inline_newest_first_and_cannot_be_added_or_deleted(ops, tenant):
    connection = ConnectionFactory(tenant=tenant)
    auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")
    ConnectionAudit.objects.create(connection=connection, action=ConnectionAudit.Action.PING_FAILED, actor="system")

    response = ops.get(reverse("admin:connections_connection_change", args=[connection.pk]))

    html = response.content.decode()
    assert html.index("Ping failed") < html.index("Auto-paused")
    (audit_inline,) = response.context["inline_admin_formsets"]
    assert (audit_inline.has_add_permission, audit_inline.has_change_permission) == (False, False)
    assert audit_inline.has_delete_permission is False
    audit = connection.audits.first()
    assert ops.get(reverse("admin:connections_connectionaudit_add")).status_code == 403
    assert ops.post(reverse("admin:connections_connectionaudit_delete", args=[audit.pk]), {"post": "yes"}).status_code == 403
    assert connection.audits.count() == 2


def test_paused_view_lists_paused_connections_oldest_first_with_reason_and_age(ops):
    now = timezone.now()
    recent = ConnectionFactory(
        tenant=TenantFactory(name="Recent Co"), external_account_name="Recent Page", paused=True,
        paused_at=now - timedelta(minutes=5),
    )
    old = ConnectionFactory(
        tenant=TenantFactory(name="Old Co"),
        external_account_name="Old Location",
        platform="gbp",
        status=Connection.Status.PAUSED,
        health_status=Connection.Health.CRITICAL,
        pause_reason="RESOURCE_NOT_FOUND",
        pause_description="The page, location, list or post is gone.",
        paused_at=now - timedelta(hours=3, minutes=12, seconds=20),
    )
    ConnectionFactory(external_account_name="Fine Account")

    response = ops.get(PAUSED)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Fine Account" not in html
    assert html.index("Old Location") < html.index("Recent Page")
    assert "3 h 12 min" in html
    assert "5 min" in html
    assert "RESOURCE_NOT_FOUND" in html
    assert "The page, location, list or post is gone." in html
    assert reverse("admin:connections_connection_change", args=[old.pk]) in html
    assert [row["connection"] for row in response.context["rows"]] == [old, recent]


@pytest.mark.parametrize(
    "url",
    [CHANGELIST, PAUSED, reverse("admin:connections_connectionaudit_changelist"), reverse("admin:connections_post_changelist")],
)
def test_non_staff_users_are_sent_to_the_admin_login(client, owner, url):
    client.force_login(owner)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_anonymous_ops_actions_change_nothing(client, tenant):
    connection = ConnectionFactory(tenant=tenant)

    response = client.post(CHANGELIST, {"action": "pause_ops", "reason": "AUTH_REVOKED", "_selected_action": [connection.pk]})

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


@pytest.mark.parametrize(
    "delta, text",
    [
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=12, seconds=5), "12 min"),
        (timedelta(hours=3, minutes=12), "3 h 12 min"),
        (timedelta(days=2, hours=4, minutes=30), "2 d 4 h"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_format_age(delta, text):
    assert format_age(delta) == text


def test_the_change_page_shows_the_newest_audit_rows_and_links_the_full_log(ops, tenant):
    from connections.admin import INLINE_AUDIT_LIMIT

    connection = ConnectionFactory(tenant=tenant)
    ConnectionAudit.objects.bulk_create(
        ConnectionAudit(connection=connection, action=ConnectionAudit.Action.PING_OK) for _ in range(INLINE_AUDIT_LIMIT + 5)
    )
    newest = ConnectionAudit.objects.create(connection=connection, action=ConnectionAudit.Action.PING_FAILED)

    response = ops.get(reverse("admin:connections_connection_change", args=[connection.pk]))

    (audit_inline,) = response.context["inline_admin_formsets"]
    shown = [form.instance for form in audit_inline.formset.forms]
    assert len(shown) == INLINE_AUDIT_LIMIT
    assert shown[0] == newest
    full_log = f"{reverse('admin:connections_connectionaudit_changelist')}?connection__id__exact={connection.pk}"
    assert full_log in response.content.decode()
    assert ops.get(full_log).context["cl"].result_count == INLINE_AUDIT_LIMIT + 6
