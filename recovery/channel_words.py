"""A paused channel in the user's words: the banner, the channels page and the pause mail say it the same way.

A pause made by ops (audit action "pause", actor "ops:<name>") says so in its
own words: the reason ops chose is a taxonomy code written for failures, and
shown to the user as such it would read as if the user had withdrawn access.
The taxonomy's three parts (happened, we_did, todo) are combined whole, never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from connections.channels import channel_label
from connections.models import Connection, ConnectionAudit
from recovery.taxonomy import ErrorCode, get_taxonomy_entry

OPS_PAUSE_REASON = "Our support team paused posting to this channel."
OPS_PAUSE_RECONNECT_TODO = "They ask you to reconnect it: click Reconnect and sign in again; your scheduled posts are kept."
OPS_PAUSE_TODO = (
    "Nothing to do for now: they will resume it, and your scheduled posts are kept until then. "
    "Contact support if you need it sooner."
)
UNKNOWN_PAUSE_REASON = "Posting to this channel is paused."

@dataclass(frozen=True)
class PauseWords:
    """A pause in the user's words: the headline, what happened, what to do, and who paused it."""

    headline: str  # "LinkedIn Page: Demo Co is disconnected"
    reason: str  # what happened and what we did
    todo: str
    by_ops: bool
    reconnect_fixes_it: bool  # whether the Reconnect button is offered for it


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


def pause_words_for(connection: Connection) -> PauseWords:
    """pause_words for one connection, reading who paused it from its audit log."""
    audit = _pause_audit(connection.pk)
    return pause_words(connection, by_ops=paused_by_ops(audit.action if audit else None, audit.actor if audit else None))
