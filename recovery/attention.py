"""What of a tenant's channels needs the user now: the banner's items, and the words for a pause.

`attention_items(tenant_id)` is what the banner at the top of every page shows
(connections/context_processors.py) and the channels page lists first:

- each paused or needs-reconnect connection (Connection.PAUSED_STATUSES), named
  ("LinkedIn Page: Demo Co is disconnected"), with why in plain words, since
  when, how many posts wait for it, and whether Reconnect fixes it;
- each active connection with posts that came due while it was paused and wait
  for the user's choice (recovery.backfill, with the reconnect wizard on);
- each active connection that stops working within 7 days unless its user signs
  in again (recovery.token_upkeep.connections_needing_user_soon: Meta's tokens,
  LinkedIn's refresh tokens near their end), with the date and Reconnect.

Each kind of item has its own producer in ITEM_SOURCES, in order. How a pause
reads (ops' own pauses included) is recovery/channel_words.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, Subquery

from connections.channels import channel_label
from connections.models import Connection, ConnectionAudit, Post
from recovery.channel_words import pause_words, paused_by_ops
from recovery.token_upkeep import connections_needing_user_soon

PAUSED = "paused"  # a paused or needs-reconnect channel
BACKFILL = "backfill"  # a channel back from a pause, with missed posts waiting for the user's choice
EXPIRING = "expiring"  # an active channel whose sign-in ends soon: only a reconnect renews it

BACKFILL_REASON = "Some posts came due while it was paused. They were not sent: choose what to do with them."
BACKFILL_TODO = "Publish them now, pick a new time, or skip them."
EXPIRING_REASON = "The partner's sign-in for this channel ends then, and only you can renew it."
EXPIRING_TODO = "Click Reconnect and sign in again before that day; nothing is lost if you are late."


@dataclass(frozen=True)
class AttentionItem:
    """One thing the banner shows."""

    kind: str  # PAUSED or BACKFILL
    connection_id: int
    channel: str  # "LinkedIn Page: Demo Co"
    headline: str
    reason: str
    todo: str
    since: datetime | None
    waiting_posts: int
    by_ops: bool = False
    offers_reconnect: bool = False


def _paused_items(tenant_id: int) -> list[AttentionItem]:
    latest_pause = ConnectionAudit.objects.filter(
        connection_id=OuterRef("pk"),
        action__in=[ConnectionAudit.Action.AUTO_PAUSE, ConnectionAudit.Action.PAUSE],
    ).order_by("-created_at", "-id")
    connections = (
        Connection.objects.filter(tenant_id=tenant_id, status__in=Connection.PAUSED_STATUSES)
        .without_tokens()
        .annotate(
            pause_action=Subquery(latest_pause.values("action")[:1]),
            pause_actor=Subquery(latest_pause.values("actor")[:1]),
        )
        .order_by("paused_at", "pk")
    )
    connections = list(connections)
    waiting = _waiting_counts([c.pk for c in connections])
    items = []
    for connection in connections:
        words = pause_words(connection, by_ops=paused_by_ops(connection.pause_action, connection.pause_actor))
        items.append(
            AttentionItem(
                kind=PAUSED,
                connection_id=connection.pk,
                channel=channel_label(connection),
                headline=words.headline,
                reason=words.reason,
                todo=words.todo,
                since=connection.paused_at,
                waiting_posts=waiting.get(connection.pk, 0),
                by_ops=words.by_ops,
                offers_reconnect=words.reconnect_fixes_it,
            )
        )
    return items


def _waiting_counts(connection_ids: list[int]) -> dict[int, int]:
    if not connection_ids:
        return {}
    rows = (
        Post.objects.filter(connection_id__in=connection_ids, status=Post.Status.WAITING_RECONNECT)
        .order_by()
        .values("connection_id")
        .annotate(n=Count("pk"))
    )
    return {row["connection_id"]: row["n"] for row in rows}


def _backfill_items(tenant_id: int) -> list[AttentionItem]:
    rows = (
        Post.objects.filter(
            tenant_id=tenant_id, status=Post.Status.WAITING_RECONNECT, connection__status=Connection.Status.ACTIVE
        )
        .order_by()
        .values("connection_id")
        .annotate(n=Count("pk"))
    )
    counts = {row["connection_id"]: row["n"] for row in rows}
    if not counts:
        return []
    items = []
    for connection in Connection.objects.filter(pk__in=counts).without_tokens().order_by("pk"):
        label = channel_label(connection)
        n = counts[connection.pk]
        items.append(
            AttentionItem(
                kind=BACKFILL,
                connection_id=connection.pk,
                channel=label,
                headline=f"{label} is back: {n} missed post{'s' if n != 1 else ''} wait{'' if n != 1 else 's'} for you",
                reason=BACKFILL_REASON,
                todo=BACKFILL_TODO,
                since=None,
                waiting_posts=n,
            )
        )
    return items


def _expiring_items(tenant_id: int) -> list[AttentionItem]:
    items = []
    for due in connections_needing_user_soon(tenant_id):
        label = channel_label(due.connection)
        items.append(
            AttentionItem(
                kind=EXPIRING,
                connection_id=due.connection.pk,
                channel=label,
                headline=f"{label} stops working on {due.stops_at:%A %d %B} unless you reconnect it",
                reason=EXPIRING_REASON,
                todo=EXPIRING_TODO,
                since=None,
                waiting_posts=0,
                offers_reconnect=True,
            )
        )
    return items


# The producers of the banner's items, in the order they are shown.
ITEM_SOURCES: list[Callable[[int], list[AttentionItem]]] = [_paused_items, _backfill_items, _expiring_items]


def attention_items(tenant_id: int) -> list[AttentionItem]:
    """What of the tenant's channels needs the user now (empty: nothing; the banner is not shown).

    Three to five queries whatever the number of channels; tokens are never loaded.
    """
    items: list[AttentionItem] = []
    for source in ITEM_SOURCES:
        items.extend(source(tenant_id))
    return items
