"""`manage.py chaos`: refused unless CHAOS_TESTS_ENABLED is on for the tenant and the partners are the sandbox;
each fault set and cleared on the tenant's own sandbox accounts, through the sandbox's fault API."""

from io import StringIO

import django_rq
import pytest
import redis
from django.core.management import CommandError, call_command

from connections.models import Connection
from recovery.flags import CHAOS_TESTS_ENABLED, flag_enable_for_tenant
from recovery.models import TenantFlag
from recovery.worker import RecoveryWorker
from sandbox import faults
from sandbox.chaos.faults import FAULTS
from sandbox.chaos.owned_redis import OwnedRedis
from sandbox.models import SandboxFault
from tests.connections.reconnect_helpers import linkedin_page
from tests.recovery.pipeline_helpers import OTHER_PAGE_ID, PAGE_ID, autopause, page_connection
from tests.sandbox.sandbox_helpers import linked_connection
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def chaos(*args) -> str:
    out = StringIO()
    call_command("chaos", *args, stdout=out)
    return out.getvalue()


def chaos_on(tenant) -> None:
    TenantFlag.objects.get_or_create(name=CHAOS_TESTS_ENABLED)
    flag_enable_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)


def faults_on(account_id):
    return [(f.kind, f.params) for f in SandboxFault.objects.filter(account__account_id=account_id)]


def test_every_chaos_command_is_refused_when_the_flag_is_off_for_the_tenant(sandbox, tenant):
    page = page_connection(tenant)
    for args in (("expire-tokens",), ("worker-kill", "--wait", "0"), ("redis-restart",), ("webhook-storm",)):
        with pytest.raises(CommandError, match=f"{CHAOS_TESTS_ENABLED} is off for tenant 'acme'"):
            chaos(*args, "--tenant", "acme")
    assert faults_on(page.external_account_id) == []


def test_chaos_is_refused_when_the_partners_are_not_the_sandbox(sandbox, tenant, settings):
    page = page_connection(tenant)
    chaos_on(tenant)
    settings.PARTNERS_USE_SANDBOX = False  # the connectors would call the real graph.facebook.com
    with pytest.raises(CommandError, match="not the sandbox"):
        chaos("revoke", "--tenant", "acme")
    assert faults_on(page.external_account_id) == []


def test_an_unknown_tenant_or_channel_is_refused(sandbox, tenant):
    chaos_on(tenant)
    with pytest.raises(CommandError, match="No tenant with slug 'nobody'"):
        chaos("revoke", "--tenant", "nobody")
    with pytest.raises(CommandError, match="has no tiktok connection"):
        chaos("revoke", "--tenant", "acme", "--platform", "tiktok")


@pytest.mark.parametrize("name, options, kind, params", [
    ("expire-tokens", [], faults.EXPIRE_TOKEN, {}),
    ("revoke", [], faults.REVOKE_TOKEN, {}),
    ("remove-permission", [], faults.REMOVE_SCOPE, {"scope": "pages_manage_posts"}),
    ("remove-permission", ["--scope", "pages_show_list"], faults.REMOVE_SCOPE, {"scope": "pages_show_list"}),
    ("partner-5xx", [], faults.SERVER_ERROR, {"status": 503}),
    ("partner-5xx", ["--status", "502"], faults.SERVER_ERROR, {"status": 502}),
    ("rate-limit", ["--retry-after", "7"], faults.RATE_LIMIT, {"status": 429, "retry_after": 7}),
    ("latency", ["--ms", "250"], faults.LATENCY, {"ms": 250}),
    ("delete-target", [], faults.DELETE_TARGET, {}),
])
def test_a_fault_is_set_on_the_tenants_own_sandbox_account_and_cleared(sandbox, tenant, other_tenant, name, options,
                                                                       kind, params):
    mine, theirs = page_connection(tenant), page_connection(other_tenant, page_id=OTHER_PAGE_ID)
    chaos_on(tenant)
    chaos_on(other_tenant)
    assert f"set {name} ({kind} {params}) on meta account {PAGE_ID}" in chaos(name, "--tenant", "acme", *options)
    assert faults_on(mine.external_account_id) == [(kind, params)]
    assert faults_on(theirs.external_account_id) == []  # never platform-wide: the other tenant is untouched
    assert not SandboxFault.objects.filter(account__isnull=True).exists()

    chaos("latency", "--tenant", "globex", "--ms", "5")
    assert f"cleared 1 {name} fault(s)" in chaos(name, "--tenant", "acme", "--clear")
    assert faults_on(mine.external_account_id) == []
    assert faults_on(theirs.external_account_id) == [(faults.LATENCY, {"ms": 5})]


def test_platform_and_connection_narrow_the_target(sandbox, tenant):
    page, org = page_connection(tenant), linkedin_page(tenant)
    chaos_on(tenant)
    chaos("revoke", "--tenant", "acme", "--platform", "linkedin")
    assert faults_on(page.external_account_id) == [] and len(faults_on(org.external_account_id)) == 1
    chaos("expire-tokens", "--tenant", "acme", "--connection", str(page.pk))
    assert faults_on(page.external_account_id) == [(faults.EXPIRE_TOKEN, {})]
    assert "cleared 1 revoke" in chaos("revoke", "--tenant", "acme", "--clear")
    assert faults_on(org.external_account_id) == [] and len(faults_on(page.external_account_id)) == 1


def test_every_chaos_fault_is_a_sandbox_fault():
    assert set(FAULTS.values()) <= set(faults.KINDS)


def test_redis_restart_refuses_a_redis_no_chaos_run_owns(sandbox, tenant):
    chaos_on(tenant)
    with pytest.raises(CommandError, match="was not started by a chaos run"):
        chaos("redis-restart", "--tenant", "acme")


def test_worker_kill_says_so_when_no_worker_is_publishing(sandbox, tenant):
    chaos_on(tenant)
    with pytest.raises(CommandError, match="No worker on this machine was running a publish job of tenant 'acme'"):
        chaos("worker-kill", "--tenant", "acme", "--wait", "0")


def test_webhook_storm_sends_signed_events_and_redeliveries_that_are_stored_once(sandbox, tenant):
    page = page_connection(tenant)
    tiktok = linked_connection("tiktok", tenant=tenant, external_account_id="chaos-open-id")
    chaos_on(tenant)
    autopause(tenant, True)
    said = chaos("webhook-storm", "--tenant", "acme", "--duplicates", "3", "--noise", "6")
    assert "webhook storm: 12 events sent (0 refused), 2 channels told their access was removed" in said
    # Each "access removed" was delivered three times with the same bytes: stored once.
    assert WebhookEvent.objects.filter(event_type__in=["deauthorize", "authorization.removed"]).count() == 2
    django_rq.get_worker("webhooks", worker_class=RecoveryWorker).work(burst=True)
    page.refresh_from_db()
    tiktok.refresh_from_db()
    assert page.status == Connection.Status.REVOKED and tiktok.status == Connection.Status.REVOKED


def test_redis_restart_restarts_a_redis_the_chaos_run_owns_and_it_comes_back_empty(sandbox, tenant, settings):
    chaos_on(tenant)
    owned = OwnedRedis.start()
    try:
        client = redis.Redis.from_url(owned.url)
        client.set("queued-job", "1")
        settings.REDIS_URL = owned.url
        assert "Redis restarted empty" in chaos("redis-restart", "--tenant", "acme")
        assert client.ping() and client.get("queued-job") is None
    finally:
        owned.stop()
    assert not owned.record.exists() and not owned.directory.exists()
