"""Which partner events change a connection, and how: the table of docs/webhooks.md, in code.

`intents_for(platform, event_type, payload)` reads a stored event and returns what it
asks of the connections of the partner accounts it names (an empty list: the event
changes nothing here and is stored as ignored). Pure: no database, so the table is
tested case by case and a stored event can be replayed after a rule changes.

- revoke: the user took the app's access away at the partner (Meta's Deauthorize
  callback and Data Deletion request, Meta's permissions "connected" turned
  "disconnected", TikTok's authorization.removed because the user disconnected);
- pause with a taxonomy code: access ended another way (AUTH_REVOKED), the account
  is restricted (ACCOUNT_RESTRICTED), the location is lost (RESOURCE_NOT_FOUND);
- needs_scopes: a permission the app had was revoked (Meta's permissions webhook):
  a scope-fixing reconnect asks for it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum

from recovery.taxonomy import ErrorCode


class Action(str, Enum):
    REVOKE = "revoke"
    PAUSE = "pause"
    NEEDS_SCOPES = "needs_scopes"


@dataclass(frozen=True)
class Intent:
    """What an event asks of the connections of one partner account."""

    account_id: str
    action: Action
    code: ErrorCode | None = None  # the pause's reason
    scopes: tuple[str, ...] = ()  # the permissions to ask for again
    why: str = ""  # the partner's signal, for the audit row and ops


def _account(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value).strip()[:200]


# -- Meta ---------------------------------------------------------------------------------------
# Permission fields of Meta's permissions webhook that are not a permission.
_META_NOT_PERMISSIONS = {"connected", "bookmarked"}


def _meta(event_type: str, payload: dict) -> list[Intent]:
    if event_type in ("deauthorize", "data_deletion"):
        user = _account(payload.get("user_id"))
        why = "Meta Deauthorize callback" if event_type == "deauthorize" else "Meta Data Deletion request"
        return [Intent(user, Action.REVOKE, why=why)] if user else []
    if payload.get("object") != "permissions":
        return []
    intents = []
    entries = payload.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        user = _account(entry.get("id") or entry.get("uid"))
        changes = entry.get("changes")
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict) or not user:
                continue
            field, value = change.get("field"), change.get("value")
            verb = value.get("verb") if isinstance(value, dict) else value
            if field == "connected" and verb == "disconnected":
                intents.append(Intent(user, Action.REVOKE, why="Meta permissions: connected -> disconnected"))
            elif isinstance(field, str) and field not in _META_NOT_PERMISSIONS and verb == "revoked":
                intents.append(Intent(user, Action.NEEDS_SCOPES, ErrorCode.PERMISSION_INSUFFICIENT, (field,),
                                      why=f"Meta permissions: {field} revoked"))
    return intents


# -- TikTok -------------------------------------------------------------------------------------
# authorization.removed's content.reason (TikTok's webhook events page).
_TIKTOK_REASONS = {
    0: "unknown",
    1: "the user disconnected the app",
    2: "the account was deleted",
    3: "the user's age changed",
    4: "the account was banned",
    5: "the developer revoked the authorization",
}


def _tiktok_content(payload: dict) -> dict:
    content = payload.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except (ValueError, RecursionError):
            return {}
    return content if isinstance(content, dict) else {}


def _tiktok(event_type: str, payload: dict) -> list[Intent]:
    user = _account(payload.get("user_openid"))
    if not user:
        return []
    content = _tiktok_content(payload)
    if event_type == "authorization.removed":
        reason = content.get("reason")
        reason = reason if isinstance(reason, int) and not isinstance(reason, bool) else 0
        why = f"TikTok authorization.removed, reason {reason} ({_TIKTOK_REASONS.get(reason, 'unknown')})"
        if reason == 1:
            return [Intent(user, Action.REVOKE, why=why)]
        if reason == 4:
            return [Intent(user, Action.PAUSE, ErrorCode.ACCOUNT_RESTRICTED, why=why)]
        return [Intent(user, Action.PAUSE, ErrorCode.AUTH_REVOKED, why=why)]
    if event_type == "post.publish.failed" and content.get("reason") == "auth_removed":
        return [Intent(user, Action.PAUSE, ErrorCode.AUTH_REVOKED, why="TikTok post.publish.failed, reason auth_removed")]
    return []


# -- Google Business Profile ---------------------------------------------------------------------


def _gbp(event_type: str, payload: dict) -> list[Intent]:
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    location = _account(data.get("location_name") or data.get("locationName") or data.get("location"))
    if not location:
        return []
    lost = event_type == "LOSS_OF_VOICE_OF_MERCHANT" or (
        event_type == "VOICE_OF_MERCHANT_UPDATED" and data.get("hasVoiceOfMerchant") in (False, "false")
    )
    if lost:
        return [Intent(location, Action.PAUSE, ErrorCode.RESOURCE_NOT_FOUND, why=f"GBP {event_type}: voice of merchant lost")]
    return []


_BY_PLATFORM = {"meta": _meta, "tiktok": _tiktok, "gbp": _gbp}


def intents_for(platform: str, event_type: str, payload) -> list[Intent]:
    """What the event asks of which accounts (rules in the module docstring); [] for everything else.

    LinkedIn (social-action notifications) and Mailchimp (audience member events) send nothing
    about access: their events are always []. Several revoked permissions of one account
    are asked for in one reconnect.
    """
    rule = _BY_PLATFORM.get(platform)
    if rule is None or not isinstance(payload, dict):
        return []
    merged: dict[tuple[str, Action], Intent] = {}
    for intent in rule(event_type, payload):
        key = (intent.account_id, intent.action)
        if key in merged and intent.action is Action.NEEDS_SCOPES:
            earlier = merged[key]
            scopes = tuple(dict.fromkeys((*earlier.scopes, *intent.scopes)))
            merged[key] = Intent(intent.account_id, intent.action, intent.code, scopes, f"{earlier.why}; {intent.why}")
        else:
            merged.setdefault(key, intent)
    return list(merged.values())
