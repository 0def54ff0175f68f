"""The periodic side of the pipeline (scheduled in config/cron.py): due posts in, stuck posts out.

- posts_enqueue_due: every scheduled post whose time has come and that has no
  job planned (next_attempt_at empty) gets one, enqueued after commit, in
  batches until none is left (which posts, and in what order:
  recovery.due_posts). It also re-enqueues a post whose planned run is more
  than PUBLISH_LOST_JOB_GRACE_S in the past: its job was lost (Redis lost it,
  or it was deleted by hand). A second job for a post is harmless (the
  claim), so erring towards re-enqueueing is safe.
  When Redis lost its data (a restart without persistence, a flush: the
  Redis epoch marker is gone, recovery.due_posts), the first run gives every
  post whose job was planned before then its job again at once, due ones now
  and the others at their planned time, in batches, once per epoch, instead
  of waiting out the grace.
- posts_sweep: the backstop for posts left `publishing` past the lease
  (their worker died); each is taken over by post_recover_abandoned. The
  fast path is RQ's: a dead worker's jobs stop renewing their heartbeat, and
  within seconds recovery.publish_queue.publish_jobs_fail_abandoned (cron,
  every PUBLISH_ABANDONED_CHECK_INTERVAL_S) fails them, and their failure
  callback calls the same idempotent service (docs/pipeline.md, "When a
  worker dies").

Why a sweep besides RQ's registries: the post's state lives in Postgres,
which also knows about posts whose job never reached Redis (or whose Redis
entry was lost with its heartbeat).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.metrics import metrics
from connections.models import Post
from recovery.due_posts import (
    RING_END,
    TakenPost,
    cursor_get,
    cursor_set,
    epoch_advance,
    epoch_get,
    take_due_posts,
    take_lost_posts,
    take_planned_before,
    walk_tenants,
)
from recovery.policies.usage_throttle import held_accounts
from recovery.publish_queue import enqueue_posts_publish
from recovery.publishing import post_recover_abandoned

logger = logging.getLogger(__name__)

BATCH = 500  # abandoned posts recovered per sweep


def posts_enqueue_due(budget_s: float | None = None) -> int:
    """Give every post that came due (or lost its job) a publish job; returns how many got one.

    - No ceiling: batches of about PUBLISH_ENQUEUE_BATCH posts, each taken,
      planned and committed in one transaction and then enqueued in one Redis
      round trip, until nothing is left or the time budget
      (PUBLISH_ENQUEUE_BUDGET_S) is spent; a run cut short resumes at the
      next tenant (recovery.due_posts).
    - Fair between tenants: one run walks the ring of tenants once and takes
      at most PUBLISH_ENQUEUE_PER_TENANT of each tenant's due posts, oldest
      first, so one tenant's backlog neither fills a run nor floods Redis; the
      rest come in the next runs.
    - A post whose partner account is held (usage throttle, a recent 429) is
      not queued now: its job is planned for when the hold ends, so a tenant in
      a 429 storm costs the workers nothing.
    - Two runs at once (cron's and the sweep's) split the posts between them
      and never enqueue one post twice (SKIP LOCKED, and the plan is written in
      the same transaction).
    - Redis lost its data (no epoch marker): every post planned before the new
      epoch is planned again first (_replan_epoch); in steady state this costs
      one Redis command a run.
    """
    budget_s = settings.PUBLISH_ENQUEUE_BUDGET_S if budget_s is None else budget_s
    deadline = time.monotonic() + budget_s
    counts = {"enqueued": 0, "held": 0, "planned": 0, "lost": 0, "replanned": 0, "batches": 0}
    # Jobs Redis lost first (these posts are the latest of all), then the ring of tenants once:
    # from the cursor to its end, then from its start to the cursor.
    start = cursor_get()
    caught_up = (
        _replan_epoch(deadline, counts)
        and _drain_lost(deadline, counts)
        and all(_drain_tenants(after, until, deadline, counts) for after, until in ((start, RING_END), (0, start)))
    )
    if counts["batches"]:
        logger.info("due posts enqueued", extra={**counts, "caught_up": caught_up})
    return counts["enqueued"] + counts["held"] + counts["planned"]


def _replan_epoch(deadline: float, counts: dict) -> bool:
    """Give every post planned before Redis lost its data its job again, a batch at a time; False if time ran out.

    - Once per epoch (recovery.due_posts.epoch_get): nothing to do, and one
      Redis command, once the epoch's re-planning is done.
    - A post whose planned time has come is enqueued now (as a lost post is);
      one planned for later keeps its time and its job is planned for it again.
    - Two enqueuers at once split the batches (SKIP LOCKED, and a re-planned
      post's updated_at leaves the epoch's selection); a run cut short by its
      budget leaves the epoch's cursor where it stopped.
    """
    epoch = epoch_get()
    if epoch.done:
        return True
    if epoch.new:
        logger.warning("redis lost its data: re-planning the posts whose jobs it held",
                       extra={"epochStarted": epoch.started.isoformat()})
    cursor = epoch.cursor
    while time.monotonic() < deadline:
        with transaction.atomic():
            taken = take_planned_before(epoch.started, cursor, batch=settings.PUBLISH_ENQUEUE_BATCH)
            now = timezone.now()
            later = [post for post in taken if post.planned_at > now]
            _plan([post for post in taken if post.planned_at <= now], counts)
            if later:
                # updated_at marks them re-planned in this epoch; next_attempt_at (their time) is kept.
                Post.objects.filter(pk__in=[post.post_id for post in later]).update(updated_at=now)
                enqueue_posts_publish([(post.post_id, post.tenant_id, post.planned_at) for post in later])
                counts["planned"] += len(later)
                if len(later) == len(taken):
                    counts["batches"] += 1  # else _plan counted it
            counts["replanned"] += len(taken)
        done = len(taken) < settings.PUBLISH_ENQUEUE_BATCH
        if taken:
            cursor = (taken[-1].planned_at, taken[-1].post_id)
        epoch_advance(epoch, cursor, done=done)
        if done:
            logger.info("redis epoch re-planned", extra={"epochStarted": epoch.started.isoformat()})
            return True
    return False


def _drain_lost(deadline: float, counts: dict) -> bool:
    """Enqueue again the posts whose job was lost, a batch at a time; False if time ran out first."""
    now = timezone.now()
    lost_before = now - timedelta(seconds=settings.PUBLISH_LOST_JOB_GRACE_S)
    while time.monotonic() < deadline:
        with transaction.atomic():
            taken = take_lost_posts(lost_before, now, batch=settings.PUBLISH_ENQUEUE_BATCH)
            _plan(taken, counts)
        if len(taken) < settings.PUBLISH_ENQUEUE_BATCH:
            return True
    return False


def _drain_tenants(after: int, until: int, deadline: float, counts: dict) -> bool:
    """Enqueue the due posts of the tenants in (after, until], a batch at a time; False if time ran out first."""
    share = settings.PUBLISH_ENQUEUE_PER_TENANT
    while after < until:
        if time.monotonic() >= deadline:
            return False  # the next run resumes at the cursor
        now = timezone.now()
        walk = walk_tenants(after, until, now, share=share, batch=settings.PUBLISH_ENQUEUE_BATCH)
        with transaction.atomic():
            _plan(take_due_posts(walk.tenants, now, share=share), counts)
        if walk.tenants:
            after = walk.tenants[-1]
            cursor_set(after)
        if walk.reached_end:
            break
    return True


def _plan(taken: list[TakenPost], counts: dict) -> None:
    """Plan the taken posts (next_attempt_at) and enqueue their jobs on commit; inside the taking transaction."""
    if not taken:
        return
    now = timezone.now()
    holds = held_accounts({(post.platform, post.account_id) for post in taken})
    entries = []
    by_time: dict = {}
    for post in taken:
        hold_s = holds.get((post.platform, post.account_id))
        # Held posts are spread over a few seconds past the hold, not all at its last millisecond;
        # whole seconds (RQ's scheduler runs jobs to the second), so a batch needs few UPDATEs.
        at = None
        if hold_s:
            at = (now + timedelta(seconds=hold_s + random.uniform(0, max(1.0, hold_s * 0.1)))).replace(microsecond=0)
        entries.append((post.post_id, post.tenant_id, at))
        by_time.setdefault(at or now, []).append(post.post_id)
    for at, post_ids in by_time.items():
        Post.objects.filter(pk__in=post_ids).update(next_attempt_at=at, updated_at=now)
    enqueue_posts_publish(entries)
    held = sum(1 for _, _, at in entries if at is not None)
    held_by_platform: dict[str, int] = {}
    for post, (_, _, at) in zip(taken, entries):
        if at is not None:
            held_by_platform[post.platform] = held_by_platform.get(post.platform, 0) + 1
    for platform, count in held_by_platform.items():
        metrics.increment("recovery.ratelimit.deferred", count, tags={"platform": platform, "reason": "rate_limit"})
    counts["enqueued"] += len(entries) - held
    counts["held"] += held
    counts["lost"] += sum(1 for post in taken if post.planned_at is not None)
    counts["batches"] += 1


def posts_sweep(limit: int = BATCH) -> dict:
    """Recover posts abandoned mid-publish and re-enqueue posts whose job was lost."""
    cutoff = timezone.now() - timedelta(seconds=settings.PUBLISH_LEASE_S)
    stuck = list(
        Post.objects.filter(status=Post.Status.PUBLISHING, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    recovered = {}
    for post_id in stuck:
        outcome = post_recover_abandoned(post_id)
        if outcome is not None:
            recovered[outcome.value] = recovered.get(outcome.value, 0) + 1
    return {"abandoned": recovered, "enqueued": posts_enqueue_due()}
