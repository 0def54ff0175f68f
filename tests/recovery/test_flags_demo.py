"""The local run's demo tenant has every rollout flag on."""

import pytest
from django.core.management import call_command

from connections.models import Tenant
from recovery.flags import ALL_FLAGS, flag_is_on_for_tenant, flags_for_tenant

pytestmark = pytest.mark.django_db


def test_seed_demo_turns_every_flag_on_for_the_demo_tenant_only(other_tenant):
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # idempotent
    demo = Tenant.objects.get(slug="demo")
    assert flags_for_tenant(demo.pk) == [(name, (True, "listed on")) for name in sorted(ALL_FLAGS)]
    assert not any(flag_is_on_for_tenant(name, other_tenant.pk) for name in ALL_FLAGS)
