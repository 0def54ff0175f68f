"""seed_demo: the demo tenant of the local run, with real failure states, idempotent, and local-only."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse

from connections.models import Connection, ConnectionAudit, Membership, Post, Tenant
from connections.platforms.base import PartnerError, get_connector
from connections.queries import connections_for_user, tenant_for_user
from recovery.failures import classify_failure
from recovery.flags import ALL_FLAGS
from recovery.models import DeadLetter, TenantFlag
from sandbox.management.commands.seed_demo import DEMO_LOGINS
from sandbox.models import SandboxAccount, SandboxFault

pytestmark = pytest.mark.django_db


def _seed():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_demo_tenant_its_logins_connections_and_posts():
    assert "3 logins, 6 connections (1 paused), 7 posts (1 dead-lettered)" in _seed()

    tenant = Tenant.objects.get(slug="demo")
    assert tenant.name == "Demo Co"
    for username, password, role, is_superuser in DEMO_LOGINS:
        user = authenticate(RequestFactory().post("/accounts/login/"), username=username, password=password)
        assert user is not None, username
        assert (user.is_staff, user.is_superuser) == (is_superuser, is_superuser)
        if role:
            assert tenant_for_user(user) == tenant
            assert Membership.objects.get(user=user).role == role
    owner = get_user_model().objects.get(username="demo-owner")
    kinds = sorted((c.platform, c.account_type) for c in connections_for_user(owner))
    assert kinds == [
        ("gbp", ""),
        ("linkedin", ""),
        ("mailchimp", ""),
        ("meta", "facebook_page"),
        ("meta", "instagram_business"),
        ("tiktok", ""),
    ]
    for connection in Connection.objects.filter(tenant=tenant):  # each lives on its sandbox partner
        assert SandboxAccount.objects.filter(platform=connection.platform, account_id=connection.external_account_id)
        assert connection.access_token and not connection.access_token.startswith("demo-placeholder-")
    assert Post.objects.filter(tenant=tenant, status=Post.Status.SCHEDULED).count() == 5


def test_seed_demo_leaves_a_channel_paused_for_reconnect_with_its_post_waiting():
    _seed()

    linkedin = Connection.objects.get(tenant__slug="demo", platform="linkedin")
    assert (linkedin.status, linkedin.health_status, linkedin.pause_reason) == ("attention", "critical", "AUTH_EXPIRED")
    pause, connect = linkedin.audits.all()  # newest first: connected through the service, then paused by the pipeline
    assert connect.action == ConnectionAudit.Action.CONNECT and connect.actor == "system:seed_demo"
    assert pause.action == ConnectionAudit.Action.AUTO_PAUSE and pause.details["reason_code"] == "AUTH_EXPIRED"
    waiting = Post.objects.get(connection=linkedin, status=Post.Status.WAITING_RECONNECT)
    assert (waiting.last_error_code, waiting.attempts) == ("AUTH_EXPIRED", 1)
    # The sandbox agrees: LinkedIn's tokens issued so far answer as expired, until a reconnect.
    [fault] = SandboxFault.objects.filter(platform="linkedin")
    assert fault.kind == "expire_token" and fault.account.account_id == linkedin.external_account_id
    assert not DeadLetter.objects.filter(connection=linkedin).exists()  # waiting is not dead


def test_seed_demo_leaves_a_dead_lettered_post_with_its_classification():
    _seed()

    dead = Post.objects.get(tenant__slug="demo", status=Post.Status.DEAD)
    assert (dead.connection.account_type, dead.last_error_code) == ("instagram_business", "MEDIA_ERROR")
    letter = DeadLetter.objects.get(post=dead)
    assert letter.status == DeadLetter.Status.OPEN and letter.error_code == "MEDIA_ERROR"
    assert letter.classification["partner_code"].startswith("36001")
    assert dead.connection.status == Connection.Status.ACTIVE  # a content problem pauses nothing


def test_seeded_states_show_on_the_posts_page_the_paused_view_and_the_dead_letter_admin(client):
    _seed()
    linkedin = Connection.objects.get(tenant__slug="demo", platform="linkedin")
    letter = DeadLetter.objects.get()

    # Signed in through the sign-in page (as a person would; django-axes needs the request).
    assert client.post(reverse("login"), {"username": "demo-owner", "password": "demo-owner-pass"}).status_code == 302
    posts = client.get(reverse("connections:posts")).content.decode()
    assert client.post(reverse("login"), {"username": "ops", "password": "ops-admin-pass"}).status_code == 302
    paused = client.get(reverse("admin:connections_connection_paused")).content.decode()
    letters = client.get(reverse("admin:recovery_deadletter_changelist")).content.decode()

    for status in (Post.Status.WAITING_RECONNECT, Post.Status.DEAD):
        post = Post.objects.get(status=status)
        assert re.search(rf'class="post status-{status}[^"]*" id="post-{post.pk}"', posts), status
    assert linkedin.external_account_name in paused and "AUTH_EXPIRED" in paused
    assert reverse("admin:recovery_deadletter_change", args=[letter.pk]) in letters and "MEDIA_ERROR" in letters


@pytest.mark.django_db(transaction=True)
def test_the_seeded_connections_work_against_the_sandbox_and_the_paused_one_fails_as_expired(sandbox):
    for name in ALL_FLAGS:  # transactional tests lose the rows the flags' migration made
        TenantFlag.objects.get_or_create(name=name)
    _seed()
    page = Connection.objects.get(tenant__slug="demo", account_type="facebook_page")
    linkedin = Connection.objects.get(tenant__slug="demo", platform="linkedin")

    assert get_connector(page).ping()  # sandbox-issued tokens: the partner knows them
    with pytest.raises(PartnerError) as failed:
        get_connector(linkedin).ping()
    assert classify_failure(failed.value).code.value == "AUTH_EXPIRED"


def test_seed_demo_run_twice_changes_nothing_but_brings_back_a_changed_password():
    _seed()
    ops = get_user_model().objects.get(username="ops")
    ops.set_password("something-else")
    ops.save()

    _seed()

    assert Tenant.objects.filter(slug="demo").count() == 1
    assert get_user_model().objects.count() == 3
    assert Membership.objects.count() == 2
    assert Connection.objects.count() == 6
    assert Post.objects.count() == 7
    assert ConnectionAudit.objects.count() == 6 + 1  # each connection's `connect`, and LinkedIn's pause
    assert DeadLetter.objects.count() == 1
    assert SandboxFault.objects.count() == 1
    assert Connection.objects.get(platform="linkedin").status == Connection.Status.ATTENTION
    assert authenticate(RequestFactory().post("/accounts/login/"), username="ops", password="ops-admin-pass") is not None


@override_settings(SANDBOX_ENABLED=False)
def test_seed_demo_refuses_to_create_public_logins_outside_local_runs():
    with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
        _seed()
    assert not get_user_model().objects.filter(username="ops").exists()
