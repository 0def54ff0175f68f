"""The dead-letter queue: jobs that failed for good, kept with their classification for ops.

Rules (taxonomy.md, "Rules that never bend"):
- Only classified, unrecoverable jobs land here: not retryable and not
  pausing their channel, or retryable with their retries used up (or a
  pausing failure for a tenant without auto-pause). The callers decide that
  (recovery/publishing.py); these services keep the record.
- One letter per failing thing: a job that fails again after a requeue
  reopens its letter (first failure kept, last failure, attempts and
  classification updated) instead of adding a second one.
- Payloads hold ids, never tokens.
- Requeue sends the job through the same pipeline again (for a post: back to
  scheduled with a fresh set of retries, enqueued after commit); discard and
  resolve close the letter and record who did it and when.
- Only an open letter can be requeued, discarded or resolved; anything else is
  left as it is (bulk admin actions may include letters already handled).
- Resolution time (DeadLetter.resolution_time): from the letter's last
  dead-lettering to its discard or resolve, or, for a requeued letter, to the
  moment its job then succeeded (`dead_letters_mark_recovered`, called by the
  pipeline when the post publishes). Sent as recovery.dlq.resolution_time with
  recovery.dlq.resolved; each dead-lettering counts in recovery.dlq.created.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.metrics import metrics
from recovery.models import DeadLetter
from recovery.taxonomy import ClassifiedError

logger = logging.getLogger(__name__)

JOB_KIND_POST_PUBLISH = "post_publish"

# job_kind -> function(letter) that sends the job through its pipeline again, inside
# the caller's transaction (it must enqueue on commit). Each app registers the handlers
# of its job kinds when it starts (AppConfig.ready): this module knows no pipeline.
_REQUEUE_HANDLERS: dict[str, Callable[[DeadLetter], None]] = {}


class DeadLetterNotRequeueable(ValueError):
    """No pipeline knows how to run this letter's job kind again."""


def register_requeue_handler(job_kind: str, handler: Callable[[DeadLetter], None]) -> None:
    """Let `dead_letter_requeue` run jobs of `job_kind` again (called by the owning app's AppConfig.ready)."""
    _REQUEUE_HANDLERS[job_kind] = handler


def requeueable_kinds() -> set[str]:
    return set(_REQUEUE_HANDLERS)


def dead_letter_create(
    *,
    job_kind: str,
    tenant_id: int,
    classification: ClassifiedError | dict,
    attempts: int,
    payload: dict | None = None,
    connection_id: int | None = None,
    post_id: int | None = None,
    platform: str = "",
    failed_at: datetime | None = None,
) -> DeadLetter:
    """Record a job that failed for good; returns its letter (reopened if it had one).

    Call it inside the transaction that marks the job's object dead, so the
    letter and the object's state commit together.
    """
    failed_at = failed_at or timezone.now()
    details = classification.to_dict() if isinstance(classification, ClassifiedError) else dict(classification)
    code = details.get("code", "UNKNOWN")
    platform = platform or details.get("platform", "")
    with transaction.atomic():
        existing = None
        if post_id is not None:
            existing = (
                DeadLetter.objects.select_for_update()
                .filter(job_kind=job_kind, post_id=post_id, status__in=[DeadLetter.Status.OPEN, DeadLetter.Status.REQUEUED])
                .order_by("-created_at")
                .first()
            )
        if existing is not None:
            existing.status = DeadLetter.Status.OPEN
            existing.error_code = code
            existing.classification = details
            existing.attempts = existing.attempts + attempts
            existing.last_failed_at = failed_at
            existing.payload = payload or existing.payload
            existing.resolved_by = None
            existing.resolved_at = None
            existing.recovered_at = None
            existing.save()
            letter = existing
        else:
            letter = DeadLetter.objects.create(
                job_kind=job_kind,
                payload=payload or {},
                tenant_id=tenant_id,
                connection_id=connection_id,
                post_id=post_id,
                platform=platform,
                error_code=code,
                classification=details,
                attempts=attempts,
                first_failed_at=failed_at,
                last_failed_at=failed_at,
            )
    logger.warning(
        "dead-lettered",
        extra={
            "tenantId": tenant_id,
            "platform": platform,
            "jobKind": job_kind,
            "errorCode": code,
            "deadLetterId": letter.pk,
            "postId": post_id,
            "attempts": letter.attempts,
        },
    )
    metrics.increment("recovery.dlq.created", tags={"platform": platform or "none", "code": code})
    return letter


def _close(letter_ids, status: str, user) -> int:
    now = timezone.now()
    with transaction.atomic():
        open_letters = list(
            DeadLetter.objects.select_for_update()
            .filter(pk__in=list(letter_ids), status=DeadLetter.Status.OPEN)
            .values_list("pk", "last_failed_at")
        )
        changed = DeadLetter.objects.filter(pk__in=[pk for pk, _ in open_letters]).update(
            status=status, resolved_by=user if getattr(user, "pk", None) else None, resolved_at=now
        )
    for _, failed_at in open_letters:
        _count_resolution(status, now - failed_at)
    return changed


def _count_resolution(resolution: str, waited) -> None:
    metrics.increment("recovery.dlq.resolved", tags={"resolution": resolution})
    metrics.timing("recovery.dlq.resolution_time", max(waited.total_seconds() * 1000, 0.0), tags={"resolution": resolution})


def dead_letters_mark_recovered(post_id: int, at: datetime | None = None) -> int:
    """The post of a requeued letter published: its letter is recovered (resolution time ends). Returns how many."""
    at = at or timezone.now()
    letters = list(
        DeadLetter.objects.filter(post_id=post_id, status=DeadLetter.Status.REQUEUED, recovered_at__isnull=True)
        .values_list("pk", "last_failed_at")
    )
    if not letters:
        return 0
    changed = DeadLetter.objects.filter(pk__in=[pk for pk, _ in letters], recovered_at__isnull=True).update(recovered_at=at)
    for _, failed_at in letters:
        _count_resolution("recovered", at - failed_at)
    logger.info("dead letter recovered", extra={"postId": post_id, "count": changed})
    return changed


def dead_letter_discard(letter_ids, user=None) -> int:
    """Close open letters without running them again (the job is not wanted). Returns how many changed."""
    changed = _close(letter_ids, DeadLetter.Status.DISCARDED, user)
    logger.info("dead letters discarded", extra={"count": changed, "actor": getattr(user, "username", "system")})
    return changed


def dead_letter_resolve(letter_ids, user=None) -> int:
    """Close open letters whose problem was fixed some other way. Returns how many changed."""
    changed = _close(letter_ids, DeadLetter.Status.RESOLVED, user)
    logger.info("dead letters resolved", extra={"count": changed, "actor": getattr(user, "username", "system")})
    return changed


def dead_letter_requeue(letter_ids, user=None) -> int:
    """Send open letters' jobs through their pipeline again; returns how many were requeued.

    - Each letter becomes `requeued` (with who and when) in the same transaction
      as its job's own reset; the job is enqueued once that commits.
    - A letter whose job kind has no requeue handler raises DeadLetterNotRequeueable
      and nothing is changed.
    """
    requeued = 0
    with transaction.atomic():
        letters = list(
            DeadLetter.objects.select_for_update().filter(pk__in=list(letter_ids), status=DeadLetter.Status.OPEN)
        )
        unknown = sorted({letter.job_kind for letter in letters} - set(_REQUEUE_HANDLERS))
        if unknown:
            raise DeadLetterNotRequeueable(f"No pipeline requeues {', '.join(unknown)} jobs.")
        now = timezone.now()
        for letter in letters:
            _REQUEUE_HANDLERS[letter.job_kind](letter)
            letter.status = DeadLetter.Status.REQUEUED
            letter.requeues += 1
            letter.resolved_by = user if getattr(user, "pk", None) else None
            letter.resolved_at = now
            letter.save(update_fields=["status", "requeues", "resolved_by", "resolved_at"])
            requeued += 1
    if requeued:  # their resolution time ends when the job succeeds (dead_letters_mark_recovered)
        metrics.increment("recovery.dlq.resolved", requeued, tags={"resolution": DeadLetter.Status.REQUEUED})
    logger.info("dead letters requeued", extra={"count": requeued, "actor": getattr(user, "username", "system")})
    return requeued
