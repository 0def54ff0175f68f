"""Where the sandbox partners and the product meet: dev commands, tests and benchmarks only.

The product reaches the sandbox by URL, as it would a real partner, and the
sandbox imports nothing of the product. Linking a product connection to a
sandbox account (as if its user had just authorized us) needs both sides, so
it lives here, imported only by the dev commands (seed_demo, runlocal), tests
and benchmarks.
"""

from __future__ import annotations

from connections.models import Connection, ConnectionAudit
from connections.platforms.base import TokenSet
from connections.services import connection_store_tokens
from sandbox.core import IssuedTokens, sandbox_open_account


def token_set(issued: IssuedTokens) -> TokenSet:
    """The sandbox's freshly issued tokens as the connectors' TokenSet."""
    return TokenSet(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_at=issued.expires_at,
        refresh_expires_at=issued.refresh_expires_at,
        scopes=list(issued.scopes),
    )


def link_to_sandbox(connection: Connection, scopes: list[str] | None = None, actor: str = "system",
                    extra: dict | None = None) -> IssuedTokens:
    """Make `connection` live on its sandbox partner with fresh tokens, stored through the product's service.

    `scopes`: what the tokens grant (default: the connection's granted scopes, else the partner's
    defaults). `extra`: the partner's facts about an account made here (sandbox_open_account).
    The signed-in user's partner id is recorded as the connect flow records it (Meta:
    the user /me answers, not the Page). The connection object is refreshed from the database.
    """
    issued = sandbox_open_account(
        connection.platform,
        connection.external_account_id,
        name=connection.external_account_name,
        account_type=connection.account_type,
        scopes=scopes if scopes is not None else (connection.granted_scopes or None),
        extra=extra,
    )
    connection_store_tokens(
        connection.tenant_id, connection.pk, token_set(issued), action=ConnectionAudit.Action.RECONNECT, actor=actor,
        granted_scopes=list(issued.scopes), partner_user_id=issued.user_id, details={"via": "sandbox link"},
    )
    connection.refresh_from_db()
    return issued
