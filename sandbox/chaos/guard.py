"""Who the chaos commands may hit: a tenant with CHAOS_TESTS_ENABLED on, on partners that are the sandbox.

Every chaos command checks both before it changes anything; a refusal is a ChaosRefused with the reason,
which the command turns into a non-zero exit. Never a real partner: the product must be configured to
reach the sandbox (SANDBOX_ENABLED and PARTNERS_USE_SANDBOX), and each connection's partner base URLs
(connections.platforms.base.partner_base_url, the URLs its connector calls) must be the sandbox's.
"""

from __future__ import annotations

from django.conf import settings

from connections.models import Connection, Tenant
from connections.platforms.base import partner_base_url
from recovery.flags import CHAOS_TESTS_ENABLED, flag_is_on_for_tenant

# The kinds of partner URL a connector calls (settings <PLATFORM>_<KIND>_BASE): all must be the sandbox.
URL_KINDS = ("api", "oauth")


class ChaosRefused(Exception):
    """The chaos command will not run: the reason is the message."""


def sandbox_prefix() -> str:
    return f"{settings.SITE_URL.rstrip('/')}/sandbox/"


def check_sandbox() -> None:
    """Refuse unless the product reaches the partners through the sandbox."""
    if not (settings.SANDBOX_ENABLED and settings.PARTNERS_USE_SANDBOX):
        raise ChaosRefused(
            "Refused: the partners are not the sandbox (SANDBOX_ENABLED and PARTNERS_USE_SANDBOX must both be on). "
            "Chaos never touches a real partner."
        )


def check_connection_on_sandbox(connection: Connection) -> None:
    """Refuse unless every partner URL the connection's connector calls is the sandbox's."""
    for kind in URL_KINDS:
        url = partner_base_url(connection.platform, kind)
        if not url.startswith(sandbox_prefix()):
            raise ChaosRefused(
                f"Refused: connection {connection.pk} ({connection.platform}) reaches {url}, not the sandbox "
                f"({sandbox_prefix()}). Chaos never touches a real partner."
            )


def tenant_for_chaos(slug: str) -> Tenant:
    """The tenant with this slug, if CHAOS_TESTS_ENABLED is on for it and the partners are the sandbox."""
    check_sandbox()
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise ChaosRefused(f"No tenant with slug {slug!r}.")
    if not flag_is_on_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk):
        raise ChaosRefused(
            f"Refused: {CHAOS_TESTS_ENABLED} is off for tenant {slug!r} "
            f"(turn it on with `manage.py flags on {CHAOS_TESTS_ENABLED} --tenant {slug}`)."
        )
    return tenant


def target_connections(tenant: Tenant, platform: str | None = None, connection_id: int | None = None) -> list[Connection]:
    """The tenant's connections a fault aims at (all, one platform's, or one), each checked to be on the sandbox."""
    connections = Connection.objects.without_tokens().filter(tenant=tenant).order_by("pk")
    if platform:
        connections = connections.filter(platform=platform)
    if connection_id is not None:
        connections = connections.filter(pk=connection_id)
    found = list(connections)
    if not found:
        what = f"connection {connection_id}" if connection_id is not None else f"{platform or 'any'} connection"
        raise ChaosRefused(f"Tenant {tenant.slug!r} has no {what}.")
    for connection in found:
        check_connection_on_sandbox(connection)
    return found
