"""Which posts the due-post enqueuer takes next (recovery.sweeper.posts_enqueue_due), a batch at a time.

Two kinds of posts need a job from the enqueuer, each read through its own
partial index (connections.models.Post.Meta), so a batch costs the same
whether ten thousand or a million posts are waiting:

- **Unplanned and due**: `scheduled`, no job planned yet (`next_attempt_at`
  empty), time come. Fair between tenants without ranking every due post:
  a walk over the tenants that have unplanned posts, in tenant id order from
  a cursor, takes at most `share` of each tenant's oldest due posts, until
  the batch is about full. One index descent finds the next tenant, a bounded
  index range its due posts (`walk_tenants`, `take_due_posts`). The cursor
  lives in Redis, so a run that ran out of time resumes where it stopped and
  the tenants at the end of the ring are never starved.
- **Lost**: `scheduled` and due, with a job planned more than
  PUBLISH_LOST_JOB_GRACE_S ago that never ran (Redis lost it, or it was
  deleted): oldest plan first (`take_lost_posts`). A rare repair, not a
  queue, so no fair share.
- **Planned before Redis lost its data**: every `scheduled` post with a job
  planned (`next_attempt_at` set) before the current Redis epoch began, due or
  not, in (next_attempt_at, id) order from the epoch's cursor
  (`take_planned_before`). The epoch is a hash in Redis (`epoch_get`,
  `epoch_begin`): the enqueuer writes it when it first finds it missing, so
  its absence means Redis lost everything it held (a restart without
  persistence, a flush), the posts' planned jobs included. One command a run
  reads it; the re-planning, in batches, happens once an epoch.

Every row is taken with FOR UPDATE SKIP LOCKED and its conditions are
re-checked on the locked row, so two enqueuers at once split the posts and
never take one post twice; the caller plans the taken posts
(`next_attempt_at` = now, or the end of a hold) in the same transaction, so
by the time the lock is released no enqueuer looks for them any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from connections.models import Post
from recovery.policies import get_redis, run_script

CURSOR_KEY = "publish:due:tenant-cursor"
# The Redis epoch: written once by the first enqueuer that finds it missing (HSETNX), never expires.
# Fields: started (ISO time the epoch began), cursor (the last re-planned post's "next_attempt_at|id"),
# done ("1" once every post planned before `started` has a job again).
EPOCH_KEY = "publish:redis-epoch"
_EPOCH_ADVANCE_LUA = """
if redis.call('HGET', KEYS[1], 'started') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'cursor', ARGV[2]) end
redis.call('HSET', KEYS[1], 'done', ARGV[3])
return 1
"""
# A walk visits at most this many tenants, so a batch stays bounded where most tenants have
# only future posts (each costs two index descents and finds nothing due).
WALK_MAX_TENANTS = 1000
# Above any tenant id: the end of the ring.
RING_END = 2**62

# The next tenant with an unplanned scheduled post, after walk.tenant_id (one descent of
# post_unplanned_by_tenant_idx), and how many of the current tenant's posts are due (capped
# at the share, a bounded range of the same index). The due count of a row is that of the
# previous row's tenant, so the walk stops one tenant after the batch is full: a batch holds
# at most batch + 2 * share posts. Portable SQL (PostgreSQL and SQLite, the local run).
_WALK_SQL = """
WITH RECURSIVE walk(tenant_id, visited, due) AS (
    SELECT (SELECT min(tenant_id) FROM connections_post
             WHERE status = 'scheduled' AND next_attempt_at IS NULL AND tenant_id > %(after)s AND tenant_id <= %(until)s),
           1, CAST(0 AS BIGINT)
  UNION ALL
    SELECT (SELECT min(n.tenant_id) FROM connections_post n
             WHERE n.status = 'scheduled' AND n.next_attempt_at IS NULL
               AND n.tenant_id > walk.tenant_id AND n.tenant_id <= %(until)s),
           walk.visited + 1,
           walk.due + (SELECT count(*) FROM (
               SELECT 1 FROM connections_post d
                WHERE d.tenant_id = walk.tenant_id AND d.status = 'scheduled' AND d.next_attempt_at IS NULL
                  AND d.scheduled_at <= %(now)s
                LIMIT %(share)s) AS due_posts)
      FROM walk
     WHERE walk.tenant_id IS NOT NULL AND walk.visited < %(max_tenants)s AND walk.due < %(batch)s
)
SELECT tenant_id FROM walk
"""

# Each walked tenant's `share` oldest due unplanned posts, locked; a post another enqueuer
# holds is skipped, and one it planned meanwhile fails the re-check of the WHERE clause on
# the locked row. PostgreSQL: LATERAL keeps each tenant's scan to its share.
_TAKE_DUE_SQL_POSTGRES = """
SELECT p.id, p.tenant_id, p.next_attempt_at, c.platform, c.external_account_id
  FROM unnest(%(tenants)s::bigint[]) AS t(tenant_id)
  CROSS JOIN LATERAL (
      SELECT id, tenant_id, connection_id, next_attempt_at FROM connections_post
       WHERE tenant_id = t.tenant_id AND status = 'scheduled' AND next_attempt_at IS NULL
         AND scheduled_at <= %(now)s
       ORDER BY scheduled_at, id
       LIMIT %(share)s
       FOR UPDATE SKIP LOCKED
  ) AS p
  JOIN connections_connection c ON c.id = p.connection_id
"""


@dataclass(frozen=True)
class TakenPost:
    """A post the enqueuer took (locked until the caller's transaction ends)."""

    post_id: int
    tenant_id: int
    planned_at: datetime | None  # set for a lost post: when its lost job was planned
    platform: str
    account_id: str


@dataclass(frozen=True)
class Walk:
    """The tenants one walk visited, in order, and whether it reached `until` (the end of its part of the ring)."""

    tenants: list[int]
    reached_end: bool


def walk_tenants(after: int, until: int, now: datetime, *, share: int, batch: int) -> Walk:
    """Tenants with unplanned posts, by id from `after` (excluded) to `until`, until about `batch` of them are due."""
    with connection.cursor() as cursor:
        cursor.execute(
            _WALK_SQL,
            {"after": after, "until": until, "now": now, "share": share, "batch": batch, "max_tenants": WALK_MAX_TENANTS},
        )
        visited = [row[0] for row in cursor.fetchall()]
    reached_end = not visited or visited[-1] is None
    return Walk(tenants=[tenant for tenant in visited if tenant is not None], reached_end=reached_end)


def take_due_posts(tenants: list[int], now: datetime, *, share: int) -> list[TakenPost]:
    """Lock and return at most `share` of each tenant's oldest due unplanned posts (call inside a transaction)."""
    if not tenants:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_DUE_SQL_POSTGRES, {"tenants": tenants, "now": now, "share": share})
            return [TakenPost(*row) for row in cursor.fetchall()]
    # The local run's SQLite has neither LATERAL nor row locks (it has one writer at a time):
    # the same share, one tenant at a time.
    taken = []
    for tenant_id in tenants:
        rows = (
            Post.objects.filter(tenant_id=tenant_id, status=Post.Status.SCHEDULED, next_attempt_at__isnull=True,
                                scheduled_at__lte=now)
            .order_by("scheduled_at", "pk")
            .values_list("pk", "tenant_id", "next_attempt_at", "connection__platform", "connection__external_account_id")
        )
        taken += [TakenPost(*row) for row in rows[:share]]
    return taken


def take_lost_posts(lost_before: datetime, now: datetime, *, batch: int) -> list[TakenPost]:
    """Lock and return up to `batch` due scheduled posts whose job was planned before `lost_before`, oldest plan first."""
    rows = (
        Post.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Post.Status.SCHEDULED, next_attempt_at__lt=lost_before, scheduled_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "tenant_id", "next_attempt_at", "connection__platform", "connection__external_account_id")
    )
    return [TakenPost(*row) for row in rows[:batch]]


def cursor_get() -> int:
    """Where the walk over tenants stopped last (0: at the start of the ring)."""
    value = get_redis().get(CURSOR_KEY)
    return int(value) if value else 0


def cursor_set(tenant_id: int) -> None:
    get_redis().set(CURSOR_KEY, tenant_id)


def take_planned_before(started: datetime, after: tuple[datetime, int] | None, *, batch: int) -> list[TakenPost]:
    """Lock and return up to `batch` scheduled posts whose job was planned before `started`, after `after`.

    In (next_attempt_at, id) order through post_planned_idx; a post planned
    since `started` (updated_at, which every plan writes) already has its job in
    this Redis and is left alone, and the re-check on the locked row keeps two
    enqueuers from taking one post twice.
    """
    rows = Post.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        status=Post.Status.SCHEDULED, next_attempt_at__isnull=False, updated_at__lt=started
    )
    if after is not None:
        at, post_id = after
        rows = rows.filter(Q(next_attempt_at__gt=at) | Q(next_attempt_at=at, pk__gt=post_id))
    rows = rows.order_by("next_attempt_at", "pk").values_list(
        "pk", "tenant_id", "next_attempt_at", "connection__platform", "connection__external_account_id"
    )
    return [TakenPost(*row) for row in rows[:batch]]


@dataclass(frozen=True)
class Epoch:
    """The Redis epoch: when it began, how far its re-planning got, whether it is over."""

    started: datetime
    cursor: tuple[datetime, int] | None
    done: bool
    new: bool = False  # this call began it (Redis had lost its data)


def epoch_get() -> Epoch:
    """The current Redis epoch, beginning a new one if Redis has none (one round trip when it has)."""
    client = get_redis()
    started, cursor, done = client.hmget(EPOCH_KEY, "started", "cursor", "done")
    new = False
    if started is None:
        # Two enqueuers may both find it missing: HSETNX lets one write `started`, both read the same.
        new = bool(client.hsetnx(EPOCH_KEY, "started", timezone.now().isoformat()))
        started, cursor, done = client.hmget(EPOCH_KEY, "started", "cursor", "done")
    position = None
    if cursor:
        at, _, post_id = cursor.decode().rpartition("|")
        position = (datetime.fromisoformat(at), int(post_id))
    return Epoch(started=datetime.fromisoformat(started.decode()), cursor=position, done=done == b"1", new=new)


def epoch_advance(epoch: Epoch, cursor: tuple[datetime, int] | None, *, done: bool) -> None:
    """Record how far the epoch's re-planning got (the last post re-planned), and whether it is over.

    Only while that epoch lasts: if Redis lost its data again meanwhile, the new
    epoch (its own `started`) must not inherit this one's progress.
    """
    position = f"{cursor[0].isoformat()}|{cursor[1]}" if cursor is not None else ""
    run_script(_EPOCH_ADVANCE_LUA, [EPOCH_KEY], [epoch.started.isoformat(), position, "1" if done else "0"])
