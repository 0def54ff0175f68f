"""The rollout flags: names in one place, one way to read a flag for a tenant, and the rollout writes.

Reading (docs/flags.md has what each flag gates and the off behaviour):
- `flag_is_on_for_tenant(name, tenant_id)` in jobs, commands and services;
- `flag_is_on_for_request(request, name)` in views; it resolves the user's
  tenant and applies the same rule, and so do waffle's own
  `flag_is_active(request, name)` and `{% flag %}` (TenantFlag.is_active).
Both read waffle's cache, which is the shared Redis: a warm check makes no
query, and a change made anywhere is seen by every process once it commits.

Writing: the `flag_*` functions below, used by the `flags` command, the demo
seed and tests; the admin edits the same fields through its form.
"""

import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from waffle import get_waffle_flag_model

from recovery.models import TenantDecision

logger = logging.getLogger(__name__)

RECOVERY_AUTOPAUSE_ENABLED = "RECOVERY_AUTOPAUSE_ENABLED"
RECONNECT_WIZARD_ENABLED = "RECONNECT_WIZARD_ENABLED"
SYNTHETIC_PINGS_ENABLED = "SYNTHETIC_PINGS_ENABLED"
CHAOS_TESTS_ENABLED = "CHAOS_TESTS_ENABLED"
WEEKLY_SUMMARY_ENABLED = "WEEKLY_SUMMARY_ENABLED"

ALL_FLAGS = [
    RECOVERY_AUTOPAUSE_ENABLED,
    RECONNECT_WIZARD_ENABLED,
    SYNTHETIC_PINGS_ENABLED,
    CHAOS_TESTS_ENABLED,
    WEEKLY_SUMMARY_ENABLED,
]

class FlagError(ValueError):
    """A rollout change that cannot be made (unknown flag, percentage out of range)."""


# -- reading ------------------------------------------------------------------


def flag_is_on_for_tenant(name: str, tenant_id: int) -> bool:
    """Whether flag `name` is on for the tenant; the same in a request, a job and a command.

    - Rules: recovery.models.DECISION_ORDER (TenantFlag.decide_for_tenant).
    - A flag that does not exist is off (WAFFLE_FLAG_DEFAULT).
    - Cost once the cache is warm: two cache reads, no query; cheap enough per job.
    """
    return get_waffle_flag_model().get(name).is_active_for_tenant(tenant_id)


def flag_tenants_on(name: str, tenant_ids) -> set[int]:
    """The tenants among `tenant_ids` that flag `name` is on for: the same answer as flag_is_on_for_tenant
    for each, for the price of one check (the flag and its lists read once; the rest is arithmetic).
    For schedulers that decide thousands of tenants per run."""
    flag = get_waffle_flag_model().get(name)
    lists = flag.tenant_lists() if flag.pk else None
    return {int(tenant_id) for tenant_id in tenant_ids if flag.decide_for_tenant(tenant_id, lists).on}


def flag_is_on_for_request(request, name: str) -> bool:
    """Whether flag `name` is on for this request.

    - A user of a tenant: exactly flag_is_on_for_tenant(name, their tenant).
    - No tenant (anonymous, an operator without membership): waffle's own
      per-user rules, as waffle.flag_is_active would answer.
    """
    return bool(get_waffle_flag_model().get(name).is_active(request))


def flags_for_tenant(tenant_id: int) -> list[tuple[str, TenantDecision]]:
    """Every flag with its value for the tenant and the rule that decided it, by name."""
    flags = sorted(get_waffle_flag_model().get_all(), key=lambda flag: flag.name)
    return [(flag.name, flag.decide_for_tenant(tenant_id)) for flag in flags]


# -- writing ------------------------------------------------------------------


def _flag_for_update(name: str):
    model = get_waffle_flag_model()
    try:
        return model.objects.select_for_update().get(name=name)
    except model.DoesNotExist:
        raise FlagError(f"No flag named {name!r}.") from None


def flag_set_tenant_percent(name: str, percent) -> None:
    """Roll flag `name` out to `percent` (0-100, one decimal) of all tenants, or None for no percentage.

    - Raising it keeps every tenant that was on (each tenant has a fixed bucket).
    - The explicit on/off lists still win over it.
    - Caches are flushed on commit (waffle's save), so workers see it at once.
    """
    if percent is not None:
        try:
            percent = Decimal(str(percent)).quantize(Decimal("0.1"))
        except InvalidOperation:
            raise FlagError(f"Not a percentage: {percent!r}.") from None
        if not (0 <= percent <= 100):
            raise FlagError(f"A percentage is between 0 and 100, not {percent}.")
    with transaction.atomic():
        flag = _flag_for_update(name)
        flag.tenant_percent = percent
        flag.save(update_fields=["tenant_percent", "modified"])
    logger.info("flag %s tenant_percent set to %s", name, percent)


def flag_enable_for_tenant(name: str, tenant_id: int) -> None:
    """Switch flag `name` on for one tenant, whatever the percentage or `everyone` says.

    Takes the tenant off the off list. Caches are flushed on commit (recovery.receivers).
    """
    with transaction.atomic():
        flag = _flag_for_update(name)
        flag.excluded_tenants.remove(tenant_id)
        flag.tenants.add(tenant_id)
    logger.info("flag %s listed on for tenant %s", name, tenant_id)


def flag_disable_for_tenant(name: str, tenant_id: int) -> None:
    """Switch flag `name` off for one tenant, whatever anything else says (the off list wins)."""
    with transaction.atomic():
        flag = _flag_for_update(name)
        flag.tenants.remove(tenant_id)
        flag.excluded_tenants.add(tenant_id)
    logger.info("flag %s listed off for tenant %s", name, tenant_id)


def flag_clear_for_tenant(name: str, tenant_id: int) -> None:
    """Take the tenant off both lists, so `everyone` and the percentage decide again."""
    with transaction.atomic():
        flag = _flag_for_update(name)
        flag.tenants.remove(tenant_id)
        flag.excluded_tenants.remove(tenant_id)
    logger.info("flag %s cleared for tenant %s", name, tenant_id)
