"""A connection as the user reads it: the network's own name, the account, and its status in plain words.

Pages, the banner and the mails name a channel the same way, through these:
"LinkedIn Page: Demo Co", "Instagram: democo", "Mailchimp audience: Newsletter".
"""

from __future__ import annotations

from connections.capabilities import resolve_account_type
from connections.models import Connection

# (platform, account type as connections.capabilities resolves it) -> the network's own name for it.
NETWORK_NAMES = {
    ("meta", "facebook_page"): "Facebook Page",
    ("meta", "instagram_business"): "Instagram",
    ("linkedin", "organization"): "LinkedIn Page",
    ("linkedin", "member"): "LinkedIn",
    ("tiktok", ""): "TikTok",
    ("gbp", ""): "Google Business Profile",
    ("mailchimp", ""): "Mailchimp audience",
}

# A connection's status in the user's words (Connection.Status labels are ops' words).
STATUS_WORDS = {
    Connection.Status.ACTIVE: "Connected",
    Connection.Status.ATTENTION: "Disconnected",
    Connection.Status.PAUSED: "Paused",
    Connection.Status.REVOKED: "Access removed",
    Connection.Status.INACTIVE: "Switched off",
}
HEALTH_WORDS = {
    Connection.Health.HEALTHY: "Working",
    Connection.Health.WARNING: "Warning",
    Connection.Health.CRITICAL: "Not working",
}
# Statuses a reconnect brings back (the Reconnect button is offered on these).
RECONNECTABLE_STATUSES = (*Connection.PAUSED_STATUSES, Connection.Status.REVOKED)


def network_name(connection: Connection) -> str:
    """The network's own name for this kind of account ("LinkedIn Page", "Instagram", ...)."""
    account_type = resolve_account_type(
        connection.platform, connection.account_type or "", connection.external_account_id or ""
    )
    return NETWORK_NAMES.get((connection.platform, account_type)) or connection.get_platform_display()


def account_name(connection: Connection) -> str:
    """The account as the partner names it (its id when we have no name)."""
    return connection.external_account_name or connection.external_account_id


def channel_label(connection: Connection) -> str:
    """"LinkedIn Page: Demo Co"."""
    return f"{network_name(connection)}: {account_name(connection)}"


def status_words(connection: Connection) -> str:
    return STATUS_WORDS.get(connection.status, connection.get_status_display())


def health_words(connection: Connection) -> str:
    return HEALTH_WORDS.get(connection.health_status, connection.get_health_status_display())


def needs_reconnect(connection: Connection) -> bool:
    """Whether the channel offers Reconnect: it is paused, needs a reconnect, or its access was removed."""
    return connection.status in RECONNECTABLE_STATUSES
