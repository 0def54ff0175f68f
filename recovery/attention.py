"""What of a tenant's channels needs the user now: the banner's items, and the words for a pause.

`attention_items(tenant_id)` is what the banner at the top of every page shows
(connections/context_processors.py) and the channels page lists first:

- each paused or needs-reconnect connection (Connection.PAUSED_STATUSES), named
  ("LinkedIn Page: Demo Co is disconnected"), with why in plain words, since
  when, how many posts wait for it, and whether Reconnect fixes it;
- each active connection with posts that came due while it was paused and wait
  for the user's choice (recovery.backfill, with the reconnect wizard on).

Each kind of item has its own producer in ITEM_SOURCES, in order; another kind
(a token that expires soon) is one more producer there.

A pause made by ops (audit action "pause", actor "ops:<name>") says so in its
own words: the reason ops chose is a taxonomy code written for failures, and
shown to the user as such it would read as if the user had withdrawn access.
The taxonomy's three parts (happened, we_did, todo) are combined whole, never cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, Subquery

from connections.channels import channel_label
from connections.models import Connection, ConnectionAudit, Post
from recovery.taxonomy import ErrorCode, get_taxonomy_entry

PAUSED = "paused"  # a paused or needs-reconnect channel
BACKFILL = "backfill"  # a channel back from a pause, with missed posts waiting for the user's choice

OPS_PAUSE_REASON = "Our support team paused posting to this channel."
OPS_PAUSE_RECONNECT_TODO = "They ask you to reconnect it: click Reconnect and sign in again; your scheduled posts are kept."
OPS_PAUSE_TODO = (
    "Nothing to do for now: they will resume it, and your scheduled posts are kept until then. "
    "Contact support if you need it sooner."
)
UNKNOWN_PAUSE_REASON = "Posting to this channel is paused."
BACKFILL_REASON = "Some posts came due while it was paused. They were not sent: choose what to do with them."
BACKFILL_TODO = "Publish them now, pick a new time, or skip them."


@dataclass(frozen=True)
class PauseWords:
    """A pause in the user's words: the headline, what happened, what to do, and who paused it."""

    headline: str  # "LinkedIn Page: Demo Co is disconnected"
    reason: str  # what happened and what we did
    todo: str
    by_ops: bool
    reconnect_fixes_it: bool  # whether the Reconnect button is offered for it


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


def _pause_audit(connection_id: int):
    """The audit row of the connection's latest pause (auto_pause or ops' pause), or None."""
    return (
        ConnectionAudit.objects.filter(
            connection_id=connection_id, action__in=[ConnectionAudit.Action.AUTO_PAUSE, ConnectionAudit.Action.PAUSE]
        )
        .order_by("-created_at", "-id")
        .only("action", "actor")
        .first()
    )


def paused_by_ops(action: str | None, actor: str | None) -> bool:
    """Whether a pause audit row is ops' own pause."""
    return action == ConnectionAudit.Action.PAUSE and (actor or "").startswith("ops:")


def pause_words(connection: Connection, *, by_ops: bool) -> PauseWords:
    """How a paused connection is told to the user (banner, channels page, the pause mail)."""
    label = channel_label(connection)
    needs_sign_in = connection.status == Connection.Status.ATTENTION
    if by_ops:
        return PauseWords(
            headline=f"{label} was paused by our support team",
            reason=OPS_PAUSE_REASON,
            todo=OPS_PAUSE_RECONNECT_TODO if needs_sign_in else OPS_PAUSE_TODO,
            by_ops=True,
            reconnect_fixes_it=needs_sign_in,
        )
    headline = f"{label} is disconnected" if needs_sign_in else f"{label} is paused"
    try:
        entry = get_taxonomy_entry(connection.pause_reason)
    except (ValueError, KeyError):
        return PauseWords(headline, UNKNOWN_PAUSE_REASON, get_taxonomy_entry(ErrorCode.AUTH_INVALID).todo, False, True)
    return PauseWords(headline, f"{entry.happened} {entry.we_did}", entry.todo, False, True)


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


# The producers of the banner's items, in the order they are shown.
ITEM_SOURCES: list[Callable[[int], list[AttentionItem]]] = [_paused_items, _backfill_items]


def attention_items(tenant_id: int) -> list[AttentionItem]:
    """What of the tenant's channels needs the user now (empty: nothing; the banner is not shown).

    Two to four queries whatever the number of channels; tokens are never loaded.
    """
    items: list[AttentionItem] = []
    for source in ITEM_SOURCES:
        items.extend(source(tenant_id))
    return items


def pause_words_for(connection: Connection) -> PauseWords:
    """pause_words for one connection, reading who paused it from its audit log."""
    audit = _pause_audit(connection.pk)
    return pause_words(connection, by_ops=paused_by_ops(audit.action if audit else None, audit.actor if audit else None))
