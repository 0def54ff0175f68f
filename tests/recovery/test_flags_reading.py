"""Reading a flag: the same answer in a request and in a job, from the shared cache, fresh after a change."""

import django_rq
import pytest
from django.test import RequestFactory

from recovery.flags import (
    ALL_FLAGS,
    RECONNECT_WIZARD_ENABLED,
    SYNTHETIC_PINGS_ENABLED,
    WEEKLY_SUMMARY_ENABLED,
    flag_enable_for_tenant,
    flag_is_on_for_request,
    flag_is_on_for_tenant,
    flag_set_tenant_percent,
)
from recovery.models import TenantFlag
from recovery.worker import RecoveryWorker
from tests.factories import MembershipFactory, TenantFactory
from tests.recovery.flag_probe import read_flags_job

pytestmark = pytest.mark.django_db


def run_in_worker(func, *args):
    """Enqueue `func` and run it in a real RQ worker (burst), returning what the job returned."""
    # commit_mode="auto": the test's data is never committed, so on-commit enqueueing would never fire.
    job = django_rq.get_queue("default", commit_mode="auto").enqueue(func, *args)
    django_rq.get_worker("default", worker_class=RecoveryWorker).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    return job.return_value()


def test_a_warm_check_makes_no_query(tenant, django_assert_num_queries):
    for name in ALL_FLAGS:
        flag_is_on_for_tenant(name, tenant.pk)  # warms the flag and its tenant lists
    with django_assert_num_queries(0):
        for name in ALL_FLAGS:
            assert flag_is_on_for_tenant(name, tenant.pk) is False


def test_listing_a_tenant_is_seen_as_soon_as_it_commits(committed, tenant, other_tenant):
    assert not flag_is_on_for_tenant(SYNTHETIC_PINGS_ENABLED, tenant.pk)  # now cached as off
    flag = TenantFlag.objects.get(name=SYNTHETIC_PINGS_ENABLED)
    with committed():
        flag.tenants.add(tenant)
    assert flag_is_on_for_tenant(SYNTHETIC_PINGS_ENABLED, tenant.pk)

    # From the tenant's side of the relation too.
    with committed():
        other_tenant.flags_off.add(flag)
        tenant.flags_on.clear()
    assert not flag_is_on_for_tenant(SYNTHETIC_PINGS_ENABLED, tenant.pk)
    assert TenantFlag.objects.get(name=SYNTHETIC_PINGS_ENABLED).tenant_lists() == (
        frozenset(),
        frozenset({other_tenant.pk}),
    )


def test_a_flag_read_in_a_job_agrees_with_the_same_flag_read_in_a_request(client, committed, settings):
    settings.ROOT_URLCONF = "tests.recovery.flag_probe"
    with committed():
        for name in ALL_FLAGS:
            flag_set_tenant_percent(name, 50)
    tenants = [TenantFactory() for _ in range(8)]
    seen = set()
    for tenant in tenants:
        user = MembershipFactory(tenant=tenant).user
        client.force_login(user)
        page = client.get("/flags-probe/").json()
        in_job = run_in_worker(read_flags_job, tenant.pk)
        assert page["helper"] == page["waffle"] == page["tag"] == in_job, tenant.slug
        seen.update(in_job.values())
    assert seen == {True, False}  # at 50% over 8 tenants and 5 flags, both answers occur


def test_waffles_per_user_rules_do_not_override_the_tenant_rule(client, committed, settings, tenant):
    """A superuser member of a tenant sees what the tenant's jobs see, not waffle's "on for superusers"."""
    settings.ROOT_URLCONF = "tests.recovery.flag_probe"
    boss = MembershipFactory(tenant=tenant, user__is_superuser=True, user__is_staff=True).user
    client.force_login(boss)
    page = client.get("/flags-probe/").json()
    assert page["helper"] == page["waffle"] == page["tag"] == {name: False for name in ALL_FLAGS}


def test_a_user_without_a_tenant_gets_waffles_own_rules(client, settings, operator):
    settings.ROOT_URLCONF = "tests.recovery.flag_probe"
    client.force_login(operator)  # a superuser with no membership: waffle's "superusers" default is on
    assert client.get("/flags-probe/").json()["waffle"] == {name: True for name in ALL_FLAGS}
    client.logout()
    assert client.get("/flags-probe/").json()["helper"] == {name: False for name in ALL_FLAGS}


def test_a_request_resolves_the_tenant_once_for_many_flags(tenant, member, django_assert_max_num_queries):
    request = RequestFactory().get("/")
    request.user = member
    for name in ALL_FLAGS:
        flag_is_on_for_tenant(name, tenant.pk)  # warm the flags
    with django_assert_max_num_queries(1):  # the membership lookup
        for name in ALL_FLAGS:
            flag_is_on_for_request(request, name)


def change_form_data(flag, **changes):
    """What the flag's admin change form posts, with `changes` applied (an unticked box is absent)."""
    data = {
        "name": flag.name,
        "note": flag.note,
        "everyone": {None: "unknown", True: "true", False: "false"}[flag.everyone],
        "tenants": [t.pk for t in flag.tenants.all()],
        "excluded_tenants": [t.pk for t in flag.excluded_tenants.all()],
        "tenant_percent": "" if flag.tenant_percent is None else str(flag.tenant_percent),
        "users": "",
        "percent": "",
        "languages": "",
    }
    if flag.superusers:
        data["superusers"] = "on"
    return data | changes


def test_a_change_in_the_admin_reaches_the_worker(client, committed, operator, tenant, other_tenant):
    assert run_in_worker(read_flags_job, tenant.pk)[WEEKLY_SUMMARY_ENABLED] is False  # the worker's cache is warm

    flag = TenantFlag.objects.get(name=WEEKLY_SUMMARY_ENABLED)
    client.force_login(operator)
    with committed():
        response = client.post(
            f"/admin/recovery/tenantflag/{flag.pk}/change/", change_form_data(flag, tenants=[tenant.pk])
        )
    assert response.status_code == 302, response.content.decode()[:2000]

    assert run_in_worker(read_flags_job, tenant.pk)[WEEKLY_SUMMARY_ENABLED] is True
    assert run_in_worker(read_flags_job, other_tenant.pk)[WEEKLY_SUMMARY_ENABLED] is False

    # And a percentage set in the admin, too.
    with committed():
        client.post(f"/admin/recovery/tenantflag/{flag.pk}/change/", change_form_data(flag, tenant_percent="100"))
    assert run_in_worker(read_flags_job, other_tenant.pk)[WEEKLY_SUMMARY_ENABLED] is True


def test_the_flag_cache_lives_in_the_shared_redis(tenant):
    """Web and worker processes share it: the entries are in Redis, not in one process's memory."""
    flag_enable_for_tenant(RECONNECT_WIZARD_ENABLED, tenant.pk)
    redis = django_rq.get_connection("default")
    assert not [key for key in redis.keys("*") if b"waffle" in key]
    assert flag_is_on_for_tenant(RECONNECT_WIZARD_ENABLED, tenant.pk)
    assert len([key for key in redis.keys("*") if b"waffle" in key]) == 2  # the flag and its tenant lists
