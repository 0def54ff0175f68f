"""The rollout flags: names in one place, and one way to read a flag for a tenant."""

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


def flag_is_on_for_tenant(name: str, tenant_id: int) -> bool:
    """Whether flag `name` is on for the tenant; the same in a request, a job and a command.

    Placeholder until the flags work lands: reads the flag row directly.
    """
    from waffle import get_waffle_flag_model

    flag = get_waffle_flag_model().get(name)
    if flag.pk is None:
        return False
    return bool(flag.everyone) or flag.tenants.filter(pk=tenant_id).exists()
