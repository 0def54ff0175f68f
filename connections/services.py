"""Writes of the connections app that are not the pipeline's: connecting an account, storing its tokens, creating a post.

The OAuth connect and reconnect flows, token upkeep, the demo seed and ops all
create and update connections and posts through these, so the rules live once:

- A connection belongs to exactly one tenant; a post's connection is its own
  tenant's (checked here, and by the database: Post (connection, tenant)
  references Connection (id, tenant)).
- Tokens are encrypted by their column (connections.fields); a partner that
  sends no new refresh token keeps the stored one (an empty value never
  overwrites it), and a partner that reports no scopes keeps the recorded grant.
- Every change to a connection writes one ConnectionAudit row in the same
  transaction; audit rows never hold a token.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from connections.models import Connection, ConnectionAudit, PingSchedule, Post
from connections.platforms.base import TokenSet


class ConnectionNotFound(LookupError):
    """No connection with this id in this tenant (it may exist in another one)."""


def _token_facts(tokens: TokenSet) -> dict:
    """What an audit row says about new tokens: expiries and scopes, never the tokens."""
    return {
        "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
        "refresh_expires_at": tokens.refresh_expires_at.isoformat() if tokens.refresh_expires_at else None,
        "has_refresh_token": bool(tokens.refresh_token),
        "scopes": list(tokens.scopes),
    }


def connection_create(
    *,
    tenant_id: int,
    platform: str,
    external_account_id: str,
    tokens: TokenSet,
    external_account_name: str = "",
    account_type: str = "",
    account_email: str = "",
    partner_user_id: str = "",
    actor: str = "system",
) -> tuple[Connection, bool]:
    """Connect the tenant to a partner account with the tokens the partner issued; returns (connection, created).

    - An account the tenant has connected already is returned untouched (created=False):
      bringing an existing connection back is the reconnect flow's job.
    - One transaction: the row (tokens encrypted, scopes as granted), a `connect` audit row, and its
      ping schedule, due at once (recovery/pings.py).
    - `account_email`: the signed-in account's email where the partner gives it (Google), the
      account hint of a later reconnect.
    - `partner_user_id`: the partner's id of the user who signed in, where its webhooks name the
      user (Meta: `AccountInfo.user_id`); empty: not known.
    """
    with transaction.atomic():
        connection, created = Connection.objects.get_or_create(
            tenant_id=tenant_id,
            platform=platform,
            external_account_id=external_account_id,
            defaults={
                "account_type": account_type,
                "account_email": account_email,
                "partner_user_id": partner_user_id or None,
                "external_account_name": external_account_name,
                "granted_scopes": list(tokens.scopes),
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "token_expires_at": tokens.expires_at,
                "refresh_token_expires_at": tokens.refresh_expires_at,
            },
        )
        if created:
            ConnectionAudit.objects.create(
                connection=connection, action=ConnectionAudit.Action.CONNECT, details=_token_facts(tokens), actor=actor
            )
            PingSchedule.objects.create(connection=connection)  # pinged at the scheduler's next tick
    return connection, created


def connection_store_tokens(
    tenant_id: int,
    connection_id: int,
    tokens: TokenSet,
    *,
    action: str,
    actor: str = "system",
    granted_scopes: list[str] | None = None,
    account_email: str = "",
    partner_user_id: str = "",
    details: dict | None = None,
) -> Connection:
    """Store new tokens on the tenant's connection and audit it (`action`: refresh, reconnect...).

    - An empty refresh token in `tokens` keeps the stored one, and so does its expiry.
    - The recorded grant becomes `granted_scopes` when given (what the caller checked the partner
      granted), else `tokens.scopes` when the partner reported any, else it is kept.
    - `account_email` (the signed-in account's email, where the partner gives one) and
      `partner_user_id` (the signed-in user's id, where the partner's webhooks name users) replace
      the stored ones; empty keeps them.
    - One transaction, the row locked: one writer at a time, and the audit row with it.
    - ConnectionNotFound when the connection is not the tenant's.
    """
    with transaction.atomic():
        try:
            connection = Connection.objects.select_for_update().get(pk=connection_id, tenant_id=tenant_id)
        except Connection.DoesNotExist:
            raise ConnectionNotFound(f"No connection {connection_id} in tenant {tenant_id}.") from None
        connection.access_token = tokens.access_token
        connection.token_expires_at = tokens.expires_at
        fields = ["access_token", "token_expires_at", "updated_at"]
        if tokens.refresh_token:
            connection.refresh_token = tokens.refresh_token
            connection.refresh_token_expires_at = tokens.refresh_expires_at
            fields += ["refresh_token", "refresh_token_expires_at"]
        scopes = granted_scopes if granted_scopes is not None else (tokens.scopes or None)
        if scopes is not None:
            connection.granted_scopes = list(scopes)
            fields.append("granted_scopes")
        if account_email:
            connection.account_email = account_email
            fields.append("account_email")
        if partner_user_id:
            connection.partner_user_id = partner_user_id
            fields.append("partner_user_id")
        connection.save(update_fields=fields)
        ConnectionAudit.objects.create(
            connection=connection, action=action, details={**_token_facts(tokens), **(details or {})}, actor=actor
        )
    return connection


def post_create(
    *,
    tenant_id: int,
    connection_id: int,
    kind: str,
    content: str,
    scheduled_at: datetime,
    media: list | None = None,
) -> Post:
    """Schedule a post on one of the tenant's connections; the due-post enqueuer sends it when its time comes.

    - ConnectionNotFound when the connection is not the tenant's (the database refuses it too).
    - Whether the account can publish it is the caller's question first (connections.capabilities.check_post:
      a form says what to fix before saving); the publish job asks again before any call.
    """
    if not Connection.objects.filter(pk=connection_id, tenant_id=tenant_id).exists():
        raise ConnectionNotFound(f"No connection {connection_id} in tenant {tenant_id}.")
    return Post.objects.create(
        tenant_id=tenant_id,
        connection_id=connection_id,
        kind=kind,
        content=content,
        media=list(media or []),
        scheduled_at=scheduled_at,
    )
