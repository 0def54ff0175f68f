"""The chaos faults, set and cleared on the sandbox partner accounts of a tenant's connections.

One chaos fault is one sandbox fault (sandbox/faults.py, the one way faults are set) on the sandbox
account each targeted connection names (its external_account_id, which sandbox/bridge.py linked):
never platform-wide, so another tenant's channels on the same partner are untouched.

    expire-tokens      expire_token        the tokens issued so far answer as expired (a reconnect heals)
    revoke             revoke_token        the user withdrew access
    remove-permission  remove_scope        the tokens lose a publishing scope (--scope, else the channel's own)
    partner-5xx        server_error        the partner answers --status (503) in its own shape
    rate-limit         rate_limit          429 with Retry-After --retry-after (10) seconds
    latency            latency             every answer --ms (2000) later
    delete-target      delete_target       the page, location or list is gone
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connections.models import Connection
from sandbox import faults as sandbox_faults

logger = logging.getLogger(__name__)

FAULTS = {
    "expire-tokens": sandbox_faults.EXPIRE_TOKEN,
    "revoke": sandbox_faults.REVOKE_TOKEN,
    "remove-permission": sandbox_faults.REMOVE_SCOPE,
    "partner-5xx": sandbox_faults.SERVER_ERROR,
    "rate-limit": sandbox_faults.RATE_LIMIT,
    "latency": sandbox_faults.LATENCY,
    "delete-target": sandbox_faults.DELETE_TARGET,
}
DEFAULT_5XX_STATUS = 503
DEFAULT_RETRY_AFTER_S = 10
DEFAULT_LATENCY_MS = 2000
# The scope remove-permission takes by default: the one each kind of account publishes with
# (connections/capabilities.yaml's publishing requirements), when the channel was granted it.
PUBLISHING_SCOPES = {
    ("meta", "facebook_page"): "pages_manage_posts",
    ("meta", "instagram_business"): "instagram_content_publish",
    ("linkedin", "organization"): "w_organization_social",
    ("linkedin", "member"): "w_member_social",
    ("tiktok", ""): "video.publish",
    ("gbp", ""): "https://www.googleapis.com/auth/business.manage",
}


@dataclass(frozen=True)
class FaultSet:
    connection_id: int
    platform: str
    account_id: str
    kind: str
    params: dict


def sandbox_params(name: str, connection: Connection, *, status: int | None = None, retry_after: int | None = None,
                   ms: int | None = None, scope: str | None = None) -> dict:
    """The sandbox fault params of chaos fault `name` on `connection` (defaults above)."""
    if name == "partner-5xx":
        return {"status": status or DEFAULT_5XX_STATUS}
    if name == "rate-limit":
        return {"status": 429, "retry_after": DEFAULT_RETRY_AFTER_S if retry_after is None else retry_after}
    if name == "latency":
        return {"ms": DEFAULT_LATENCY_MS if ms is None else ms}
    if name == "remove-permission":
        scope = scope or PUBLISHING_SCOPES.get((connection.platform, connection.account_type or ""))
        if not scope:
            raise sandbox_faults.FaultError(f"{connection.platform} connection {connection.pk}: name the --scope to remove.")
        return {"scope": scope}
    return {}


def fault_set(name: str, connections: list[Connection], **options) -> list[FaultSet]:
    """Set chaos fault `name` on each connection's sandbox account; what was set, one per connection."""
    done = []
    for connection in connections:
        kind, params = FAULTS[name], sandbox_params(name, connection, **options)
        sandbox_faults.set_fault(connection.platform, kind, connection.external_account_id, **params)
        done.append(FaultSet(connection.pk, connection.platform, connection.external_account_id, kind, params))
        logger.info("chaos fault set", extra={"tenantId": connection.tenant_id, "connectionId": connection.pk,
                                                 "platform": connection.platform, "fault": name, "params": params})
    return done


def fault_clear(connections: list[Connection], name: str | None = None) -> int:
    """Clear the faults on the connections' sandbox accounts (only `name`'s kind when given); how many."""
    kind = FAULTS[name] if name else None
    cleared = sum(sandbox_faults.clear_faults(c.platform, c.external_account_id, kind=kind) for c in connections)
    logger.info("chaos faults cleared", extra={"tenantId": connections[0].tenant_id if connections else None,
                                                  "fault": name or "all", "cleared": cleared})
    return cleared
