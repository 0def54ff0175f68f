"""One-click reconnect: a signed, single-use, expiring link into the partner's sign-in, and its callback.

The link (`reconnect_start`, made by a POST of the Reconnect button):
- is the partner's authorize URL whose OAuth `state` is signed (django.core.signing, salted)
  and carries a nonce, the tenant, the user and the connection;
- works once: the nonce is a ReconnectLink row, marked used by a conditional UPDATE when the
  callback comes back, so of two callbacks with the same state only one gets through;
- expires LINK_TTL (15 minutes) after it was made (the signature's timestamp, and the row);
- preselects the same account where the partner has a hint parameter (Google's login_hint:
  the signed-in email stored on the connection), and asks for every scope the connection
  needs: the connector's sign-in scopes for its kind of account and everything its
  capabilities need (recovery.autopause.scopes_to_request, which adds scopes recorded missing).

The callback (`reconnect_complete`), in order, each refusal leaving the connection as it was:
1. the state: forged, expired, replayed, or made for another user or tenant: refused;
2. the user's answer at the partner: a refusal (Cancel) ends here;
3. the code is exchanged for tokens (connector.exchange_code);
4. the account that came back must be the connection's (connector.account_info): otherwise
   "you connected a different account";
5. the granted scopes must cover what publishing needs and what was recorded missing
   (`missing_after_grant`): otherwise the missing ones are recorded (a `scopes_missing` audit
   row) and, with the reconnect wizard on, the user goes back to the scope-fixing page;
6. the tokens are stored through connections.services.connection_store_tokens (encrypted; a
   partner that sends no new refresh token keeps the stored one), with a `reconnect` audit row,
   and the signed-in user's partner id where the partner gives one (account_info's user_id:
   Meta's webhooks name the user, not the Page);
7. the connection is resumed (recovery.autopause.resume_connection, a `resume` audit row): with
   the wizard on, the posts that came due while it was paused keep waiting for the user's
   choice (recovery.backfill); with it off they go back to the pipeline at once.

Who may reconnect (owners and admins) is checked by the views' access function
(connections.queries.get_connection_to_reconnect) and again here, at both ends.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

import requests
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.metrics import metrics
from connections.capabilities import CAPABILITY_NAMES, granted_scope_set, missing_scopes, profile_for_connection
from connections.models import Connection, ConnectionAudit
from connections.platforms.base import PartnerError, TokenSet, get_connector_class
from connections.queries import can_reconnect, tenant_for_user
from connections.services import connection_store_tokens
from recovery.autopause import recorded_missing_scopes, resume_connection, scopes_to_request
from recovery.failures import classify_failure
from recovery.flags import RECONNECT_WIZARD_ENABLED, flag_is_on_for_tenant
from recovery.models import ReconnectLink
from recovery.posts import waiting_post_ids
from recovery.taxonomy import ErrorCode

logger = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=15)
STATE_SALT = "recovery.reconnect.state"
# Capabilities a reconnect must restore before the channel may publish again. Analytics scopes are
# asked for too, but a user who declines them still gets a working channel.
PUBLISHING_CAPABILITIES = tuple(name for name in CAPABILITY_NAMES if name != "analytics")
# What each capability is, for "this permission is needed to ...".
CAPABILITY_PURPOSES = {
    "text": "publish text posts",
    "image": "publish images",
    "video": "publish videos",
    "stories": "publish stories",
    "scheduling": "schedule posts",
    "analytics": "read your posts' statistics",
}
SIGN_IN_PURPOSE = "Lets us check which account you signed in with."


class Outcome(str, Enum):
    RECONNECTED = "reconnected"
    CANCELLED = "cancelled"  # the user said no at the partner
    FORGED = "forged"  # a state we did not sign, or for a connection that is gone
    EXPIRED = "expired"
    REPLAYED = "replayed"  # the link was used already
    NOT_YOURS = "not_yours"  # made for another user or tenant
    NOT_ALLOWED = "not_allowed"  # the user's role no longer allows it
    PARTNER_REFUSED = "partner_refused"  # the code exchange or the account check failed at the partner
    WRONG_ACCOUNT = "wrong_account"
    SCOPES_MISSING = "scopes_missing"


# Outcomes where the link itself is refused (the state), before anything is asked of the partner.
LINK_REFUSED = (Outcome.FORGED, Outcome.EXPIRED, Outcome.REPLAYED, Outcome.NOT_YOURS, Outcome.NOT_ALLOWED)


class ReconnectNotAllowed(PermissionError):
    """The user's role may not reconnect channels (docs/reconnect.md)."""


@dataclass(frozen=True)
class ReconnectStart:
    url: str  # the partner's consent page, with the signed state
    scopes: list[str]


@dataclass
class ReconnectResult:
    outcome: Outcome
    connection: Connection | None = None
    missing_scopes: list[str] = field(default_factory=list)
    came_back_as: str = ""  # WRONG_ACCOUNT: the account the partner signed in
    waiting_post_ids: list[int] = field(default_factory=list)  # RECONNECTED with the wizard: for backfill
    backfill: bool = False  # the waiting posts wait for the user's choice


@dataclass(frozen=True)
class Permission:
    """A permission the scope-fixing page names, and what it is needed for."""

    scope: str
    purpose: str


def callback_url() -> str:
    """The redirect_uri every partner sends the user back to (registered with each partner)."""
    return f"{settings.SITE_URL.rstrip('/')}{reverse('connections:reconnect_callback')}"


def wizard_is_on(tenant_id: int) -> bool:
    return flag_is_on_for_tenant(RECONNECT_WIZARD_ENABLED, tenant_id)


def _dedupe(scopes) -> list[str]:
    return list(dict.fromkeys(scope for scope in scopes if scope))


def scopes_for_reconnect(connection: Connection) -> list[str]:
    """What the partner is asked for: its sign-in scopes for this kind of account, then what the capabilities need."""
    sign_in = get_connector_class(connection.platform).default_scopes(connection.account_type or "")
    return _dedupe([*sign_in, *scopes_to_request(connection)])


def _publishing_requirements(connection: Connection) -> list:
    profile = profile_for_connection(connection)
    if profile is None:
        return []
    requirements: list = []
    for capability in PUBLISHING_CAPABILITIES:
        if profile.supports(capability):
            requirements.extend(r for r in profile.scope_requirements(capability) if r not in requirements)
    return requirements


def missing_after_grant(connection: Connection, granted) -> list[str]:
    """What a grant lacks: a scope publishing needs (the preferred one of a choice), or one recorded missing."""
    granted = set(granted)
    lacking = missing_scopes(_publishing_requirements(connection), granted)
    return _dedupe([*lacking, *(s for s in recorded_missing_scopes(connection) if s not in granted)])


def missing_permissions(connection: Connection) -> list[Permission]:
    """The scope-fixing page's list: each permission the connection lacks, and what it is needed for.

    The scopes recorded missing, then those the reconnect asks for that the connection's grant
    does not hold. Empty when the partner did not say which (a 403 without a scope name): the page
    then asks the user to approve everything.
    """
    granted = granted_scope_set(connection)
    recorded = recorded_missing_scopes(connection)  # the partner refused them, whatever the grant says
    wanted = _dedupe([*recorded, *(s for s in scopes_for_reconnect(connection) if s not in granted)])
    profile = profile_for_connection(connection)
    permissions = []
    for scope in wanted:
        uses = []
        if profile is not None:
            for capability in CAPABILITY_NAMES:
                requirements = profile.scope_requirements(capability) if profile.supports(capability) else []
                if any(scope == r or (isinstance(r, list) and scope in r) for r in requirements):
                    uses.append(CAPABILITY_PURPOSES[capability])
        purpose = f"Needed to {_join(uses)}." if uses else SIGN_IN_PURPOSE
        permissions.append(Permission(scope, purpose))
    return permissions


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def needs_scope_fixing(connection: Connection) -> bool:
    """Whether the Reconnect button first shows which permissions are missing (the wizard's scope fixing)."""
    if not wizard_is_on(connection.tenant_id):
        return False
    return connection.pause_reason == ErrorCode.PERMISSION_INSUFFICIENT.value or bool(
        recorded_missing_scopes(connection)
    )


# -- the link ---------------------------------------------------------------------------


def reconnect_start(user, connection: Connection) -> ReconnectStart:
    """Make the user's single-use, 15-minute link into the partner's sign-in for `connection`.

    - ReconnectNotAllowed when the user may not reconnect, or the connection is not their tenant's.
    - One ReconnectLink row (the nonce); the state signs {nonce, tenant, user, connection}.
    """
    tenant = tenant_for_user(user)
    if tenant is None or tenant.pk != connection.tenant_id or not can_reconnect(user):
        raise ReconnectNotAllowed("This user may not reconnect this channel.")
    scopes = scopes_for_reconnect(connection)
    link = ReconnectLink.objects.create(
        nonce=secrets.token_urlsafe(24),
        tenant_id=tenant.pk,
        user_id=user.pk,
        connection_id=connection.pk,
        scopes=scopes,
        expires_at=timezone.now() + LINK_TTL,
    )
    state = signing.dumps(
        {"n": link.nonce, "t": tenant.pk, "u": user.pk, "c": connection.pk}, salt=STATE_SALT, compress=True
    )
    url = get_connector_class(connection.platform).authorize_url(
        state=state, redirect_uri=callback_url(), scopes=scopes, account_hint=connection.account_email or ""
    )
    logger.info(
        "reconnect link made",
        extra={"tenantId": tenant.pk, "connectionId": connection.pk, "platform": connection.platform, "userId": user.pk},
    )
    return ReconnectStart(url=url, scopes=scopes)


def _check_state(user, state: str) -> tuple[Outcome | None, ReconnectLink | None]:
    """(None, the link, now used) for a good state; else (why it is refused, None). Nothing else is written."""
    try:
        payload = signing.loads(state or "", salt=STATE_SALT, max_age=LINK_TTL)
    except signing.SignatureExpired:
        return Outcome.EXPIRED, None
    except signing.BadSignature:
        return Outcome.FORGED, None
    if not isinstance(payload, dict) or not {"n", "t", "u", "c"} <= set(payload):
        return Outcome.FORGED, None
    tenant = tenant_for_user(user)
    if payload["u"] != user.pk or tenant is None or payload["t"] != tenant.pk:
        return Outcome.NOT_YOURS, None
    if not can_reconnect(user):
        return Outcome.NOT_ALLOWED, None
    now = timezone.now()
    rows = ReconnectLink.objects.filter(
        nonce=payload["n"], tenant_id=payload["t"], user_id=payload["u"], connection_id=payload["c"]
    )
    if not rows.filter(used_at__isnull=True, expires_at__gt=now).update(used_at=now):
        link = rows.first()
        if link is None:
            return Outcome.FORGED, None
        return (Outcome.REPLAYED if link.used_at else Outcome.EXPIRED), None
    return None, rows.get()


def _probe(connection: Connection, tokens: TokenSet) -> Connection:
    """An unsaved copy of the connection holding the new tokens: what account_info asks the partner with."""
    return Connection(
        pk=connection.pk,
        tenant_id=connection.tenant_id,
        platform=connection.platform,
        account_type=connection.account_type,
        external_account_id=connection.external_account_id,
        external_account_name=connection.external_account_name,
        granted_scopes=list(tokens.scopes),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
    )


def _finish(result: ReconnectResult, platform: str) -> ReconnectResult:
    metrics.increment("recovery.reconnect.completed", tags={"platform": platform, "outcome": result.outcome.value})
    return result


def reconnect_complete(user, state: str, code: str = "", error: str = "") -> ReconnectResult:
    """The partner sent the user back (`code`, or `error` when they refused): check, store, resume.

    Returns a ReconnectResult; only RECONNECTED changed anything (besides marking the link used
    and, for SCOPES_MISSING, recording the scopes still missing). See the module docstring.
    """
    refused, link = _check_state(user, state)
    if refused is not None:
        logger.warning("reconnect link refused", extra={"userId": getattr(user, "pk", None), "outcome": refused.value})
        return _finish(ReconnectResult(refused), "unknown")
    connection = Connection.objects.filter(pk=link.connection_id, tenant_id=link.tenant_id).without_tokens().first()
    if connection is None:
        return _finish(ReconnectResult(Outcome.FORGED), "unknown")
    platform = connection.platform
    if error or not code:
        return _finish(ReconnectResult(Outcome.CANCELLED, connection), platform)

    connector_class = get_connector_class(platform)
    try:
        tokens = connector_class.exchange_code(code=code, redirect_uri=callback_url())
        info = connector_class(_probe(connection, tokens)).account_info()
    except (PartnerError, requests.RequestException) as exc:
        classified = classify_failure(exc, platform)
        logger.warning(
            "reconnect refused by the partner",
            extra={"connectionId": connection.pk, "platform": platform, "code": classified.code.value},
        )
        return _finish(ReconnectResult(Outcome.PARTNER_REFUSED, connection), platform)

    if info.account_id != connection.external_account_id:
        return _finish(ReconnectResult(Outcome.WRONG_ACCOUNT, connection, came_back_as=info.name or info.account_id),
                       platform)

    granted = _dedupe(info.scopes or tokens.scopes)
    lacking = missing_after_grant(connection, granted)
    actor = f"user:{user.pk}"
    if lacking:
        ConnectionAudit.objects.create(
            connection=connection,
            action=ConnectionAudit.Action.SCOPES_MISSING,
            details={"missing_scopes": lacking, "via": "reconnect", "granted": granted},
            actor=actor,
        )
        return _finish(ReconnectResult(Outcome.SCOPES_MISSING, connection, missing_scopes=lacking), platform)

    wizard = wizard_is_on(connection.tenant_id)
    paused_at = connection.paused_at
    with transaction.atomic():
        connection_store_tokens(
            connection.tenant_id,
            connection.pk,
            tokens,
            action=ConnectionAudit.Action.RECONNECT,
            actor=actor,
            granted_scopes=granted or None,
            account_email=info.email,
            partner_user_id=info.user_id,
            details={"account_checked": info.account_id, "link_id": link.pk, "wizard": wizard},
        )
        resumed = resume_connection(connection.tenant_id, connection.pk, actor=actor, release_waiting_posts=not wizard)
    waiting = resumed.waiting_post_ids if resumed.changed else (waiting_post_ids(connection.pk) if wizard else [])
    if paused_at is not None:
        metrics.timing(
            "recovery.reconnect.duration", (timezone.now() - paused_at).total_seconds() * 1000, tags={"platform": platform}
        )
    logger.info(
        "connection reconnected",
        extra={"tenantId": connection.tenant_id, "connectionId": connection.pk, "platform": platform,
               "waitingPosts": len(waiting), "wizard": wizard, "actor": actor},
    )
    return _finish(
        ReconnectResult(
            Outcome.RECONNECTED,
            resumed.connection,
            waiting_post_ids=list(waiting) if wizard else [],
            backfill=wizard and bool(waiting),
        ),
        platform,
    )
