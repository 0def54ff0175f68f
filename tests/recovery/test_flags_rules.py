"""The per-tenant rule: explicit lists, everyone, and a stable percentage of tenants."""

import pytest
from django.core.exceptions import ValidationError

from connections.models import Tenant
from recovery.flags import (
    ALL_FLAGS,
    CHAOS_TESTS_ENABLED,
    RECOVERY_AUTOPAUSE_ENABLED,
    SYNTHETIC_PINGS_ENABLED,
    FlagError,
    flag_clear_for_tenant,
    flag_disable_for_tenant,
    flag_enable_for_tenant,
    flag_is_on_for_tenant,
    flag_set_tenant_percent,
)
from recovery.models import TenantFlag

pytestmark = pytest.mark.django_db


def tenants_on(name, tenant_ids):
    return {tenant_id for tenant_id in tenant_ids if flag_is_on_for_tenant(name, tenant_id)}


def test_the_five_flags_exist_and_are_off_for_every_tenant(tenant, other_tenant):
    flags = TenantFlag.objects.order_by("name")
    assert sorted(flag.name for flag in flags) == sorted(ALL_FLAGS)
    assert all(flag.everyone is None and flag.tenant_percent is None for flag in flags)
    for name in ALL_FLAGS:
        assert not flag_is_on_for_tenant(name, tenant.pk)
        assert not flag_is_on_for_tenant(name, other_tenant.pk)


def test_a_flag_that_does_not_exist_is_off(tenant):
    assert flag_is_on_for_tenant("NO_SUCH_FLAG", tenant.pk) is False


def test_raising_the_percentage_from_10_to_50_to_100_keeps_every_tenant_that_was_on(committed):
    tenants = Tenant.objects.bulk_create(Tenant(name=f"T{i}", slug=f"t-{i}") for i in range(1000))
    ids = [tenant.pk for tenant in tenants]
    previous = set()
    for percent in (10, 50, 100):
        with committed():
            flag_set_tenant_percent(RECOVERY_AUTOPAUSE_ENABLED, percent)
        now_on = tenants_on(RECOVERY_AUTOPAUSE_ENABLED, ids)
        assert previous <= now_on, f"{len(previous - now_on)} tenants turned off at {percent}%"
        assert len(now_on) > len(previous)
        previous = now_on
    assert previous == set(ids)


@pytest.mark.parametrize("name", ALL_FLAGS)
def test_the_share_of_tenants_on_is_within_a_few_points_of_the_percentage(committed, name):
    for percent in (10, 50, 90):
        with committed():
            flag_set_tenant_percent(name, percent)
        flag = TenantFlag.get(name)
        # Fixed ids, so the figure is the same on every run: the bucket depends only on flag name and id.
        # The percentage rule alone (no lists are set): 5,000 full checks would cost seconds of Redis reads.
        share = sum(flag.tenant_in_percent(tenant_id) for tenant_id in range(1, 1001)) / 10
        assert abs(share - percent) <= 3, f"{share}% on at {percent}%"


def test_each_flag_picks_a_different_first_tenants(committed):
    with committed():
        flag_set_tenant_percent(RECOVERY_AUTOPAUSE_ENABLED, 10)
        flag_set_tenant_percent(SYNTHETIC_PINGS_ENABLED, 10)
    autopause = tenants_on(RECOVERY_AUTOPAUSE_ENABLED, range(1, 501))
    pings = tenants_on(SYNTHETIC_PINGS_ENABLED, range(1, 501))
    # Independent 10% samples of 500 share about 5 tenants; one order for every flag would share all ~50.
    assert len(autopause) > 30 and len(autopause & pings) < 20


def test_the_on_list_wins_over_the_percentage_but_everyone_no_kills_it(committed, tenant, other_tenant):
    with committed():
        flag_set_tenant_percent(CHAOS_TESTS_ENABLED, 0)
        flag_enable_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, other_tenant.pk)

    with committed():
        flag = TenantFlag.objects.get(name=CHAOS_TESTS_ENABLED)
        flag.everyone = False
        flag.save()
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, other_tenant.pk)


def test_the_off_list_wins_over_the_percentage_and_everyone_yes(committed, tenant, other_tenant):
    with committed():
        flag_set_tenant_percent(CHAOS_TESTS_ENABLED, 100)
        flag_disable_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, other_tenant.pk)

    with committed():
        flag = TenantFlag.objects.get(name=CHAOS_TESTS_ENABLED)
        flag.everyone = True
        flag.save()
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)


def test_a_tenant_in_both_lists_is_off(committed, tenant):
    flag = TenantFlag.objects.get(name=CHAOS_TESTS_ENABLED)
    with committed():
        flag.tenants.add(tenant)
        flag.excluded_tenants.add(tenant)
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)


def test_switching_a_tenant_on_takes_it_off_the_off_list_and_clear_hands_back_to_the_percentage(committed, tenant):
    with committed():
        flag_disable_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
        flag_enable_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    flag = TenantFlag.objects.get(name=CHAOS_TESTS_ENABLED)
    assert list(flag.tenants.all()) == [tenant] and not flag.excluded_tenants.exists()
    assert flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)

    with committed():
        flag_clear_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert not flag.tenants.exists() and not flag.excluded_tenants.exists()
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)


def test_everyone_yes_turns_an_unlisted_tenant_on_and_everyone_no_beats_the_percentage(committed, tenant):
    flag = TenantFlag.objects.get(name=CHAOS_TESTS_ENABLED)
    with committed():
        flag.everyone = True
        flag.save()
    assert flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    with committed():
        flag.everyone = False
        flag.tenant_percent = 100
        flag.save()
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)


@pytest.mark.parametrize("percent", [-1, 100.1, 250, "lots"])
def test_a_percentage_outside_0_to_100_is_refused(percent):
    with pytest.raises(FlagError):
        flag_set_tenant_percent(CHAOS_TESTS_ENABLED, percent)
    assert TenantFlag.objects.get(name=CHAOS_TESTS_ENABLED).tenant_percent is None


def test_the_model_refuses_a_percentage_over_100():
    flag = TenantFlag.objects.get(name=CHAOS_TESTS_ENABLED)
    flag.tenant_percent = 150
    with pytest.raises(ValidationError) as error:
        flag.full_clean()
    assert "tenant_percent" in error.value.message_dict


def test_changing_an_unknown_flag_is_refused(tenant):
    with pytest.raises(FlagError):
        flag_enable_for_tenant("NO_SUCH_FLAG", tenant.pk)
