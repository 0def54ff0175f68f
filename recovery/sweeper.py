"""The periodic side of the pipeline (scheduled in config/cron.py): due posts in, stuck posts out.

- posts_enqueue_due: every scheduled post whose time has come and that has no
  job planned (next_attempt_at empty) gets one, enqueued after commit. The
  same query re-enqueues a post whose planned run is more than
  PUBLISH_LOST_JOB_GRACE_S in the past: its job was lost (Redis lost it, or
  it was deleted by hand). A second job for a post is harmless (the claim),
  so erring towards re-enqueueing is safe.
- posts_sweep: posts left `publishing` past the lease lost their worker
  (SIGKILL, OOM, a machine gone); each is taken over by
  post_recover_abandoned. RQ's own StartedJobRegistry cleanup reaches the
  same jobs later (a SimpleWorker's job is declared abandoned only
  job_timeout + 60 s after it started, then at the next maintenance run), and
  its failure callback calls the same idempotent service; this sweep is what
  keeps recovery within two minutes.

Why our own sweep instead of only RQ's registries: the post's state lives in
Postgres, which also knows about posts whose job never reached Redis; and
RQ's abandoned-job timing cannot be shortened below job_timeout + 60 s.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from config.metrics import metrics
from connections.models import Post
from recovery.policies.usage_throttle import held_accounts
from recovery.publish_queue import enqueue_post_publish
from recovery.publishing import post_recover_abandoned

logger = logging.getLogger(__name__)

BATCH = 500


def posts_enqueue_due(limit: int = BATCH) -> int:
    """Enqueue publish jobs for posts that came due (or lost their job); returns how many got a job.

    - Fair between tenants: at most PUBLISH_ENQUEUE_PER_TENANT posts of one
      tenant per run, oldest first, so one tenant's backlog neither fills the
      batch nor floods the queue; the rest come in the next runs.
    - A post whose partner account is held (usage throttle, a recent 429) is
      not queued now: its job is planned for when the hold ends, so a tenant in
      a 429 storm costs the workers nothing.
    - Rows are locked with SKIP LOCKED, so two runs at once split the work
      instead of enqueueing a post twice.
    """
    now = timezone.now()
    lost_before = now - timedelta(seconds=settings.PUBLISH_LOST_JOB_GRACE_S)
    candidates = (
        Post.objects.filter(status=Post.Status.SCHEDULED, scheduled_at__lte=now)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=lost_before))
        .annotate(
            tenant_rank=Window(
                RowNumber(), partition_by=[F("tenant_id")], order_by=[F("scheduled_at").asc(), F("pk").asc()]
            )
        )
        .filter(tenant_rank__lte=settings.PUBLISH_ENQUEUE_PER_TENANT)
    )
    with transaction.atomic():
        due = list(
            Post.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=candidates.values("pk"))
            .order_by("scheduled_at", "pk")
            .values_list("pk", "tenant_id", "next_attempt_at", "connection__platform",
                         "connection__external_account_id")[:limit]
        )
        if not due:
            return 0
        holds = held_accounts({(platform, account) for _, _, _, platform, account in due})
        by_time: dict = {}
        held_by_platform: dict[str, int] = {}
        for pk, tenant_id, _, platform, account in due:
            hold_s = holds.get((platform, account))
            if hold_s:
                held_by_platform[platform] = held_by_platform.get(platform, 0) + 1
            # Held posts are spread over a few seconds past the hold, not all at its last millisecond.
            at = now + timedelta(seconds=hold_s + random.uniform(0, max(1.0, hold_s * 0.1))) if hold_s else None
            by_time.setdefault(at, []).append((pk, tenant_id))
        for at, posts in by_time.items():
            Post.objects.filter(pk__in=[pk for pk, _ in posts]).update(next_attempt_at=at or now, updated_at=now)
            for pk, tenant_id in posts:
                enqueue_post_publish(pk, tenant_id, at=at)
    held = sum(len(posts) for at, posts in by_time.items() if at is not None)
    lost = sum(1 for _, _, planned, _, _ in due if planned is not None)
    logger.info("due posts enqueued", extra={"count": len(due) - held, "held": held, "lost": lost})
    for platform, count in held_by_platform.items():
        metrics.increment("recovery.ratelimit.deferred", count, tags={"platform": platform, "reason": "rate_limit"})
    return len(due)


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
    return {"abandoned": recovered, "enqueued": posts_enqueue_due(limit)}
