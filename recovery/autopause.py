"""Pausing a connection when its partner refuses it, revoking it when the user withdrew access, and resuming it.

The pipeline, pings, webhooks and ops (the admin actions) all pause, revoke and resume
through these services, so the rules live once:

- A pause and its audit row are written in one transaction, by a conditional
  UPDATE that locks the row and changes it only if it is active, so two
  workers that pause the same connection at once write one audit row between
  them. A resume locks the row (`select_for_update`) the same way.
- Only an active connection is paused; pausing one that is not active
  (already paused, revoked, inactive) changes nothing and writes nothing.
- A reason that a reconnect fixes (requires_reauth) leaves the connection in
  ATTENTION ("Needs reconnect"); any other pausing reason in PAUSED.
- A connection is always looked up by (tenant_id, connection_id): another
  tenant's connection is never touched (ConnectionNotFound).
- A pause leaves the connection's posts alone: they wait. A resume sends the
  posts that waited for it back to the pipeline (due ones enqueued after the
  commit), unless its caller keeps them for the user to choose (backfill).

Whether a tenant gets auto-pause at all (RECOVERY_AUTOPAUSE_ENABLED) is the
caller's decision: these services do what they are asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from config.metrics import metrics
from connections.capabilities import profile_for_connection
from connections.models import Connection, ConnectionAudit, PingSchedule
from connections.services import ConnectionNotFound
from recovery.notifications import notify_connection_back, notify_connection_paused
from recovery.posts import posts_release_waiting, waiting_post_ids
from recovery.taxonomy import TAXONOMY, ErrorCode, TaxonomyEntry, get_taxonomy_entry

logger = logging.getLogger(__name__)

# Statuses resume brings back to ACTIVE (Connection.PAUSED_STATUSES and REVOKED). REVOKED is here because the way back
# from a revocation is a reconnect, which ends by resuming. INACTIVE is not:
# that is a user's own choice to switch the channel off.
RESUMABLE_STATUSES = (*Connection.PAUSED_STATUSES, Connection.Status.REVOKED)

# The fields a pause or resume writes (never the token columns), and those of a pause's audit row.
_PAUSE_FIELDS = ["status", "health_status", "pause_reason", "pause_description", "paused_at", "updated_at"]
_AUDIT_FIELDS = ["action", "details", "actor", "created_at"]


@dataclass(frozen=True)
class PauseReason:
    """Why a connection is paused: a taxonomy code and what it tells ops and the user."""

    code: str
    description: str
    recovery_action: str
    requires_reauth: bool

    def as_audit_details(self) -> dict:
        return {
            "reason_code": self.code,
            "description": self.description,
            "recovery_action": self.recovery_action,
            "requires_reauth": self.requires_reauth,
        }


@dataclass(frozen=True)
class PauseResult:
    connection: Connection
    changed: bool  # False: it was not active (already paused, revoked or inactive), nothing was written


@dataclass(frozen=True)
class ResumeResult:
    connection: Connection
    changed: bool  # False: it was not paused, nothing was written
    # The hook for re-enqueueing: posts of this connection in waiting_reconnect,
    # oldest schedule first. Resume itself does not publish them.
    waiting_post_ids: list[int] = field(default_factory=list)


def pause_reason_codes() -> list[ErrorCode]:
    """The taxonomy codes that pause a channel (the choices ops get in the admin)."""
    return [code for code, entry in TAXONOMY.items() if entry.pauses_channel]


def build_pause_reason(code: ErrorCode | str) -> PauseReason:
    """The PauseReason of a taxonomy code.

    - ValueError for a code the taxonomy does not know, or one that does not
      pause a channel (a rate limit or a content error never pauses).
    """
    try:
        entry: TaxonomyEntry = get_taxonomy_entry(code)
    except (ValueError, KeyError):
        raise ValueError(f"{code!r} is not an error code of the taxonomy.") from None
    if not entry.pauses_channel:
        raise ValueError(f"{entry.code.value} does not pause a channel.")
    return PauseReason(
        code=entry.code.value,
        description=entry.description,
        recovery_action=entry.recovery_action,
        requires_reauth=entry.requires_reauth,
    )


def _as_pause_reason(reason) -> PauseReason:
    if isinstance(reason, PauseReason):
        return reason
    # A ClassifiedError (or anything else carrying a taxonomy code).
    return build_pause_reason(getattr(reason, "code", reason))


def _tenant_connection(tenant_id: int, connection_id: int, lock: bool = False) -> Connection:
    """The connection row (locked until the transaction ends with `lock`); tokens are not loaded.

    Deferring the token columns keeps a pause working even when the tokens
    cannot be decrypted (a mis-set key is one more reason to pause, not a crash).
    """
    rows = Connection.objects.without_tokens()
    try:
        return (rows.select_for_update() if lock else rows).get(pk=connection_id, tenant_id=tenant_id)
    except Connection.DoesNotExist:
        raise ConnectionNotFound(f"No connection {connection_id} in tenant {tenant_id}.") from None


def auto_pause_connection(
    tenant_id: int,
    connection_id: int,
    reason,
    actor: str = "system",
    extra_details=None,
    *,
    audit_action: str = ConnectionAudit.Action.AUTO_PAUSE,
):
    """Pause a connection for `reason`; returns PauseResult(connection, changed).

    `reason`: an ErrorCode, its name, a PauseReason, or a ClassifiedError.
    `actor`: "system", "ops:<username>", "partner:<platform>", "user:<id>".
    `extra_details`: more JSON-safe facts for the audit row (partner code,
    missing scopes, the post that hit the error); never tokens.
    `audit_action`: `auto_pause` when the system pauses; ops' admin action
    writes `pause` ("Paused by ops"); the rules are the same.

    Rules:
    - an active connection becomes ATTENTION (reconnect fixes it) or PAUSED,
      health CRITICAL, with pause_reason, pause_description and paused_at set,
      and exactly one audit row (`audit_action`), all in one transaction;
    - a connection that is not active is left exactly as it is (changed=False);
    - ConnectionNotFound when the connection is not the tenant's;
    - its posts are not touched: they wait for the resume;
    - a pause that changed the connection mails the tenant's owners and admins once it commits
      (recovery.notifications).
    """
    pause_reason = _as_pause_reason(reason)
    now = timezone.now()
    values = {
        "status": Connection.Status.ATTENTION if pause_reason.requires_reauth else Connection.Status.PAUSED,
        "health_status": Connection.Health.CRITICAL,
        "pause_reason": pause_reason.code,
        "pause_description": pause_reason.description,
        "paused_at": now,
        "updated_at": now,
    }
    audit = {
        "action": audit_action,
        "details": {**(extra_details or {}), **pause_reason.as_audit_details()},
        "actor": actor,
        "created_at": now,
    }
    connection = _pause_if_active(tenant_id, connection_id, values, audit)
    if connection is None:
        # Nothing written: not active (paused already, maybe by another worker a moment ago), or not the tenant's.
        return PauseResult(_tenant_connection(tenant_id, connection_id), changed=False)
    notify_connection_paused(connection_id, now)  # one mail per pause, once it commits
    logger.info(
        "connection paused",
        extra={
            "tenantId": tenant_id,
            "connectionId": connection_id,
            "platform": connection.platform,
            "status": connection.status,
            "reasonCode": pause_reason.code,
            "actor": actor,
        },
    )
    metrics.increment(
        "recovery.connection.paused",
        tags={"platform": connection.platform, "code": pause_reason.code, "tenant": tenant_id},
    )
    return PauseResult(connection, changed=True)


def _pause_statements() -> tuple[str, str]:
    """The SQL of a pause: (UPDATE ... RETURNING, the whole pause as one PostgreSQL statement)."""
    table, audit_table = Connection._meta.db_table, ConnectionAudit._meta.db_table
    assignments = ", ".join(f'"{Connection._meta.get_field(name).column}" = %s' for name in _PAUSE_FIELDS)
    update = (
        f'UPDATE "{table}" SET {assignments} WHERE "id" = %s AND "tenant_id" = %s AND "status" = %s '
        'RETURNING "id", "platform"'
    )
    columns = ", ".join(f'"{ConnectionAudit._meta.get_field(name).column}"' for name in ["connection", *_AUDIT_FIELDS])
    placeholders = ", ".join(["%s"] * len(_AUDIT_FIELDS))
    whole = (
        f"WITH paused AS ({update}), "
        f'audit AS (INSERT INTO "{audit_table}" ({columns}) SELECT "id", {placeholders} FROM paused) '
        'SELECT "id", "platform" FROM paused'
    )
    return update, whole


_UPDATE_SQL, _PAUSE_SQL = _pause_statements()


def _pause_if_active(tenant_id: int, connection_id: int, values: dict, audit: dict) -> Connection | None:
    """Write `values` and the audit row if the connection is the tenant's and active; the paused row, else None.

    Why SQL by hand: a pause is on the path of every auth failure, and its
    target is a p99 under 5 ms (bench/bench_pause.py). On PostgreSQL it is ONE
    statement, so one round trip and one commit instead of five: a conditional
    UPDATE (the row lock and the "only if active" test in one; a second worker
    blocked on the lock re-reads the row, finds it no longer active and writes
    nothing) whose RETURNING feeds the audit INSERT. A statement is atomic on
    its own, and joins the caller's transaction when there is one. SQLite (the
    local run) has no INSERT inside WITH: there the same UPDATE ... RETURNING
    and the audit insert run in one transaction.

    The returned Connection holds what was written; its other fields load on access.
    """
    db = transaction.get_connection()
    update_params = [
        *(Connection._meta.get_field(name).get_db_prep_save(values[name], db) for name in _PAUSE_FIELDS),
        connection_id,
        tenant_id,
        Connection.Status.ACTIVE,
    ]
    audit_params = [ConnectionAudit._meta.get_field(name).get_db_prep_save(audit[name], db) for name in _AUDIT_FIELDS]
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(_PAUSE_SQL, [*update_params, *audit_params])
            row = cursor.fetchone()
        else:
            with transaction.atomic(using=db.alias):
                cursor.execute(_UPDATE_SQL, update_params)
                row = cursor.fetchone()
                if row is not None:
                    ConnectionAudit.objects.create(connection_id=connection_id, **audit)
    if row is None:
        return None
    known = {"id": connection_id, "tenant_id": tenant_id, "platform": row[1], **values}
    names = [f.attname for f in Connection._meta.concrete_fields if f.attname in known]
    return Connection.from_db(db.alias, names, [known[name] for name in names])


def resume_connection(
    tenant_id: int, connection_id: int, actor: str | None = None, *, release_waiting_posts: bool = True
) -> ResumeResult:
    """Make a paused (or revoked) connection active again; returns ResumeResult.

    Rules:
    - status ACTIVE, health HEALTHY, the pause fields cleared, and one `resume`
      audit row (with the reason it was paused for), in one transaction;
    - an active or inactive connection is left as it is (changed=False);
    - ConnectionNotFound when the connection is not the tenant's;
    - it is pinged at the ping scheduler's next tick (its PingSchedule due now);
    - the posts that waited for this reconnect go back to the pipeline in the
      same transaction (recovery.posts.posts_release_waiting: due ones
      are enqueued once it commits); `waiting_post_ids` lists them. With
      release_waiting_posts=False they keep waiting, for a caller that lets
      the user choose what to send (backfill);
    - the tenant's owners and admins are mailed once that it is back (recovery.notifications).
    """
    actor = actor or "system"
    with transaction.atomic():
        connection = _tenant_connection(tenant_id, connection_id, lock=True)
        if connection.status not in RESUMABLE_STATUSES:
            return ResumeResult(connection, changed=False)
        details = {
            "previous_status": connection.status,
            "reason_code": connection.pause_reason,
            "paused_at": connection.paused_at.isoformat() if connection.paused_at else None,
        }
        connection.status = Connection.Status.ACTIVE
        connection.health_status = Connection.Health.HEALTHY
        connection.pause_reason = ""
        connection.pause_description = ""
        connection.paused_at = None
        connection.save(update_fields=_PAUSE_FIELDS)
        # Checked again soon, from a clean slate: the ping scheduler (recovery/pings.py) takes it at its next tick.
        PingSchedule.objects.update_or_create(
            connection_id=connection.pk, defaults={"next_ping_at": timezone.now(), "failures": 0}
        )
        ConnectionAudit.objects.create(
            connection=connection, action=ConnectionAudit.Action.RESUME, details=details, actor=actor
        )
        waiting = posts_release_waiting(connection.pk) if release_waiting_posts else waiting_post_ids(connection.pk)
        notify_connection_back(connection.pk)  # the owners and admins are told once, when it commits
    logger.info(
        "connection resumed",
        extra={
            "tenantId": tenant_id,
            "connectionId": connection_id,
            "platform": connection.platform,
            "status": connection.status,
            "waitingPosts": len(waiting),
            "actor": actor,
        },
    )
    metrics.increment("recovery.connection.resumed", tags={"platform": connection.platform, "tenant": tenant_id})
    return ResumeResult(connection, changed=True, waiting_post_ids=waiting)


def revoke_connection(tenant_id: int, connection_id: int, actor: str = "system", extra_details=None) -> PauseResult:
    """Mark a connection REVOKED: the user took the app's access away at the partner (a deauthorize webhook).

    Rules:
    - an active, paused or needs-reconnect connection becomes REVOKED, health CRITICAL,
      with AUTH_REVOKED as its reason, and one `revoke` audit row (`extra_details` and the
      status it had), in one transaction, the row locked;
    - a revoked or inactive connection is left as it is (changed=False);
    - ConnectionNotFound when the connection is not the tenant's;
    - its posts wait, as for a pause; the way back is a reconnect, which resumes it.
    """
    reason = build_pause_reason(ErrorCode.AUTH_REVOKED)
    with transaction.atomic():
        connection = _tenant_connection(tenant_id, connection_id, lock=True)
        if connection.status not in (Connection.Status.ACTIVE, *Connection.PAUSED_STATUSES):
            return PauseResult(connection, changed=False)
        details = {**(extra_details or {}), **reason.as_audit_details(), "previous_status": connection.status}
        connection.status = Connection.Status.REVOKED
        connection.health_status = Connection.Health.CRITICAL
        connection.pause_reason = reason.code
        connection.pause_description = reason.description
        connection.paused_at = timezone.now()
        connection.save(update_fields=_PAUSE_FIELDS)
        ConnectionAudit.objects.create(
            connection=connection, action=ConnectionAudit.Action.REVOKE, details=details, actor=actor
        )
    logger.info(
        "connection revoked",
        extra={"tenantId": tenant_id, "connectionId": connection_id, "platform": connection.platform, "actor": actor},
    )
    return PauseResult(connection, changed=True)


def get_paused_connections(tenant_id: int | None = None):
    """Paused and needs-reconnect connections, oldest pause first, with their tenant; tokens not loaded."""
    queryset = (
        Connection.objects.filter(status__in=Connection.PAUSED_STATUSES)
        .select_related("tenant")
        .without_tokens()
        .order_by("paused_at", "pk")
    )
    if tenant_id is not None:
        queryset = queryset.filter(tenant_id=tenant_id)
    return queryset


def pause_for_failure(connection, classified, actor: str = "system", extra_details=None) -> PauseResult:
    """The pause a classified failure of a call on `connection` asks for (its code pauses the channel).

    - PERMISSION_INSUFFICIENT with the missing scopes known: mark_connection_needs_scopes, so the
      reconnect asks for exactly those; anything else: auto_pause_connection with `extra_details`.
    - Whether the tenant gets auto-pause (RECOVERY_AUTOPAUSE_ENABLED) is the caller's decision.
    """
    if classified.code == ErrorCode.PERMISSION_INSUFFICIENT and classified.missing_scopes:
        return mark_connection_needs_scopes(connection, classified.missing_scopes, actor=actor)
    return auto_pause_connection(connection.tenant_id, connection.pk, classified, actor=actor, extra_details=extra_details)


# -- marking a connection for a scope reconnect -------------------------------------


def mark_connection_needs_scopes(connection, missing: list[str], actor: str = "system", post_id: int | None = None):
    """Pause `connection` for PERMISSION_INSUFFICIENT and record exactly which scopes to ask for.

    Rules:
    - one transaction: auto_pause_connection (ATTENTION, the
      `auto_pause` audit row, with the missing scopes in its details) and a
      `scopes_missing` audit row {"missing_scopes": [...]} that the reconnect
      flow reads (`scopes_to_request`);
    - the `scopes_missing` row is written even when the connection was already
      paused (changed=False): the reconnect must still ask for these scopes;
    - whether the tenant gets auto-pause (RECOVERY_AUTOPAUSE_ENABLED) is the
      caller's decision, as for every pause;
    - ValueError for an empty list: there is nothing to reconnect for.
    Returns the PauseResult of auto_pause_connection.
    """
    missing = list(dict.fromkeys(scope for scope in missing if scope))
    if not missing:
        raise ValueError("mark_connection_needs_scopes needs at least one missing scope.")
    extra = {"missing_scopes": missing}
    if post_id is not None:
        extra["post_id"] = post_id
    with transaction.atomic():
        result = auto_pause_connection(
            connection.tenant_id,
            connection.pk,
            build_pause_reason(ErrorCode.PERMISSION_INSUFFICIENT),
            actor=actor,
            extra_details=extra,
        )
        ConnectionAudit.objects.create(
            connection_id=connection.pk,
            action=ConnectionAudit.Action.SCOPES_MISSING,
            details=extra,
            actor=actor,
        )
    return result


def scopes_to_request(connection) -> list[str]:
    """The scopes a reconnect of `connection` asks for.

    - everything its profile's capabilities need (so a reconnect never drops a
      scope the account had), with the scopes recorded by the latest
      `scopes_missing` audit row since the last resume or reconnect added;
    - the connection's current grants are not removed (Google adds them back
      with include_granted_scopes; other partners replace the grant).
    """
    profile = profile_for_connection(connection)
    wanted = profile.all_scopes() if profile else []
    for scope in recorded_missing_scopes(connection):
        if scope not in wanted:
            wanted.append(scope)
    return wanted


def recorded_missing_scopes(connection) -> list[str]:
    """The scopes the latest `scopes_missing` audit row recorded, unless a resume or reconnect came after it."""
    latest = (
        ConnectionAudit.objects.filter(
            connection_id=connection.pk,
            action__in=[
                ConnectionAudit.Action.SCOPES_MISSING,
                ConnectionAudit.Action.RESUME,
                ConnectionAudit.Action.RECONNECT,
            ],
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if latest is not None and latest.action == ConnectionAudit.Action.SCOPES_MISSING:
        return list(latest.details.get("missing_scopes", []))
    return []
