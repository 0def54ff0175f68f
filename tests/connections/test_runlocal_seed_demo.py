"""seed_demo: the demo tenant of the local run, idempotent, and local-only."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings

from connections.management.commands.seed_demo import DEMO_LOGINS
from connections.models import Connection, Membership, Post, Tenant
from connections.queries import connections_for_user, tenant_for_user

pytestmark = pytest.mark.django_db


def _seed():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_demo_tenant_its_logins_connections_and_posts():
    assert "3 logins, 6 connections, 5 posts" in _seed()

    tenant = Tenant.objects.get(slug="demo")
    assert tenant.name == "Demo Co"
    for username, password, role, is_superuser in DEMO_LOGINS:
        user = authenticate(username=username, password=password)
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
    assert all(c.access_token.startswith("demo-placeholder-") for c in Connection.objects.filter(tenant=tenant))
    assert Post.objects.filter(tenant=tenant, status=Post.Status.SCHEDULED).count() == 5


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
    assert Post.objects.count() == 5
    assert authenticate(username="ops", password="ops-admin-pass") is not None


@override_settings(SANDBOX_ENABLED=False)
def test_seed_demo_refuses_to_create_public_logins_outside_local_runs():
    with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
        _seed()
    assert not get_user_model().objects.filter(username="ops").exists()
