"""`manage.py flags`: rollouts from a shell, the same changes the admin makes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recovery.flags import ALL_FLAGS, CHAOS_TESTS_ENABLED, SYNTHETIC_PINGS_ENABLED, flag_is_on_for_tenant
from recovery.models import TenantFlag

pytestmark = pytest.mark.django_db


def flags(*args):
    out = StringIO()
    call_command("flags", *args, stdout=out)
    return out.getvalue()


def test_list_shows_every_flags_rollout():
    out = flags("list")
    assert [line.split()[0] for line in out.splitlines()] == sorted(ALL_FLAGS)
    assert "everyone=-   percent=-      listed_on=0 listed_off=0" in out


def test_set_percent_rolls_a_flag_out_and_none_takes_it_back(committed, tenant):
    with committed():
        out = flags("set", SYNTHETIC_PINGS_ENABLED, "--percent", "100")
    assert "percent=100.0%" in out
    assert flag_is_on_for_tenant(SYNTHETIC_PINGS_ENABLED, tenant.pk)
    with committed():
        flags("set", SYNTHETIC_PINGS_ENABLED, "--percent", "none")
    assert TenantFlag.objects.get(name=SYNTHETIC_PINGS_ENABLED).tenant_percent is None
    assert not flag_is_on_for_tenant(SYNTHETIC_PINGS_ENABLED, tenant.pk)


def test_on_off_and_clear_switch_one_tenant(committed, tenant, other_tenant):
    with committed():
        assert flags("on", CHAOS_TESTS_ENABLED, "--tenant", "acme") == f"{CHAOS_TESTS_ENABLED} for acme: on (listed on)\n"
    assert flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, other_tenant.pk)

    with committed():
        flags("set", CHAOS_TESTS_ENABLED, "--percent", "100")
    with committed():
        assert "off (listed off)" in flags("off", CHAOS_TESTS_ENABLED, "--tenant", "acme")
    assert not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, other_tenant.pk)

    with committed():
        flags("clear", CHAOS_TESTS_ENABLED, "--tenant", "acme")
    assert flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    assert "on   percent: bucket" in flags("list", "--tenant", "acme")


def test_list_for_a_tenant_says_why_each_flag_is_on_or_off(tenant):
    flags("on", CHAOS_TESTS_ENABLED, "--tenant", "acme")
    lines = dict(line.split(None, 1) for line in flags("list", "--tenant", "acme").splitlines())
    assert lines[CHAOS_TESTS_ENABLED].split() == ["on", "listed", "on"]
    assert lines[SYNTHETIC_PINGS_ENABLED].split() == ["off", "no", "rule:", "off"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("set", "NO_SUCH_FLAG", "--percent", "10"), "No flag named 'NO_SUCH_FLAG'"),
        (("set", CHAOS_TESTS_ENABLED, "--percent", "120"), "between 0 and 100"),
        (("on", CHAOS_TESTS_ENABLED, "--tenant", "nobody"), "No tenant with slug 'nobody'"),
    ],
)
def test_mistakes_are_refused_with_a_message(tenant, args, message):
    with pytest.raises(CommandError, match=message):
        flags(*args)
