"""A post's ways back into the pipeline, outside the publish attempt itself (recovery/publishing.py).

- `post_claim`: the claim every publish attempt starts with (scheduled ->
  publishing, attempts + 1), a conditional UPDATE fenced by the row's
  updated_at as loaded, so of two jobs for one post only one publishes.
- `posts_release_waiting`: after a resume, the connection's posts that waited
  for it go back to scheduled.
- `post_publish_again` / `post_confirm_published`: the user's answer about an
  unconfirmed post.
- `post_requeue_dead`: the dead-letter queue's requeue of a dead post.
- `post_fix_and_reschedule`: the user edited a post that failed on its content and schedules it again.

Each change is one conditional UPDATE (a post in another state is left alone),
and a job is enqueued only once the change commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connections.models import Post
from recovery.deadletter import dead_letter_resolve
from recovery.models import DeadLetter
from recovery.publish_queue import enqueue_post_publish
from recovery.taxonomy import ErrorCode

logger = logging.getLogger(__name__)

# Last errors after which the partner may have the post: look it up before sending again.
LOOKUP_FIRST_CODES = frozenset({ErrorCode.TIMEOUT.value, ErrorCode.NETWORK_ERROR.value, ErrorCode.UNKNOWN.value})


def post_claim(post: Post) -> datetime | None:
    """Claim a scheduled post for one publish attempt; the claim's time, or None if another job changed it first.

    `post` is the row as the job loaded it: the claim succeeds only if the row still
    has that updated_at. On success `post` is updated in place (publishing, attempts + 1).
    """
    claimed_at = timezone.now()
    claimed = Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED, updated_at=post.updated_at).update(
        status=Post.Status.PUBLISHING, attempts=post.attempts + 1, updated_at=claimed_at
    )
    if not claimed:
        return None
    post.status, post.attempts, post.updated_at = Post.Status.PUBLISHING, post.attempts + 1, claimed_at
    return claimed_at


def posts_release_waiting(connection_id: int) -> list[int]:
    """After a resume: the connection's waiting_reconnect posts go back to scheduled; returns their ids.

    - Posts already due are enqueued once the caller's transaction commits;
      posts whose time has not come are left for the due-post enqueuer.
    - Each gets a fresh set of retries (attempts 0); a last error that means
      "the partner may have it" is kept so the job looks it up first.
    """
    now = timezone.now()
    released = []
    with transaction.atomic():
        posts = list(
            Post.objects.select_for_update()
            .filter(connection_id=connection_id, status=Post.Status.WAITING_RECONNECT)
            .order_by("scheduled_at", "pk")
            .only("pk", "tenant_id", "scheduled_at", "last_error_code")
        )
        for post in posts:
            due = post.scheduled_at <= now
            keep_error = post.last_error_code in LOOKUP_FIRST_CODES
            Post.objects.filter(pk=post.pk).update(
                status=Post.Status.SCHEDULED,
                attempts=0,
                next_attempt_at=now if due else None,
                last_error_code=post.last_error_code if keep_error else "",
                last_error_message=F("last_error_message") if keep_error else "",
                updated_at=now,
            )
            if due:
                enqueue_post_publish(post.pk, post.tenant_id)
            released.append(post.pk)
    if released:
        logger.info("waiting posts released", extra={"connectionId": connection_id, "count": len(released)})
    return released


def waiting_post_ids(connection_id: int) -> list[int]:
    """The connection's posts waiting for a reconnect, oldest schedule first."""
    return list(
        Post.objects.filter(connection_id=connection_id, status=Post.Status.WAITING_RECONNECT)
        .order_by("scheduled_at", "pk")
        .values_list("pk", flat=True)
    )


def _send_again(post_id: int, tenant_id: int, from_status: str, *, forget_error: bool) -> bool:
    """A post in `from_status` back to scheduled with a fresh set of retries, its job enqueued on commit.

    `forget_error=False` keeps the last error, so a post that may be on the partner is looked up first.
    """
    now = timezone.now()
    changes = {"status": Post.Status.SCHEDULED, "attempts": 0, "next_attempt_at": now, "updated_at": now}
    if forget_error:
        changes.update(last_error_code="", last_error_message="")
    with transaction.atomic():
        updated = Post.objects.filter(pk=post_id, status=from_status).update(**changes)
        if updated:
            enqueue_post_publish(post_id, tenant_id)
    return bool(updated)


def post_publish_again(post: Post, actor: str) -> bool:
    """The user says an unconfirmed post did not go out: send it again (no lookup is possible). False if not unconfirmed."""
    sent = _send_again(post.pk, post.tenant_id, Post.Status.UNCONFIRMED, forget_error=True)
    if sent:
        logger.info("unconfirmed post sent again", extra={"postId": post.pk, "actor": actor})
    return sent


def post_confirm_published(post: Post, actor: str) -> bool:
    """The user says an unconfirmed post is on the partner: mark it published. False if not unconfirmed."""
    now = timezone.now()
    updated = Post.objects.filter(pk=post.pk, status=Post.Status.UNCONFIRMED).update(
        status=Post.Status.PUBLISHED,
        published_at=now,
        last_error_code="",
        last_error_message="",
        updated_at=now,
    )
    if updated:
        logger.info("unconfirmed post confirmed published", extra={"postId": post.pk, "actor": actor})
    return bool(updated)


def post_requeue_dead(letter) -> None:
    """The dead-letter queue's requeue of a post_publish letter: the dead post goes back to scheduled, fresh retries."""
    _send_again(letter.post_id, letter.tenant_id, Post.Status.DEAD, forget_error=False)


def post_fix_and_reschedule(post: Post, *, connection_id: int, kind: str, content: str, media: list, scheduled_at,
                            user) -> bool:
    """The user edited a post that failed (dead or failed) and schedules it again; False if it is no longer failed.

    - One conditional UPDATE: the new content and time, the chosen channel (its tenant's: the database
      refuses another's), a fresh set of retries, the old error cleared. The due-post enqueuer sends it.
    - Its open dead letters are resolved by the user: ops need not requeue what the user fixed.
    - Whether the channel can publish it is the caller's question first (the form's capability guard).
    """
    now = timezone.now()
    with transaction.atomic():
        updated = Post.objects.filter(pk=post.pk, status__in=[Post.Status.DEAD, Post.Status.FAILED]).update(
            connection_id=connection_id, kind=kind, content=content, media=list(media), scheduled_at=scheduled_at,
            status=Post.Status.SCHEDULED, attempts=0, next_attempt_at=None, last_error_code="", last_error_message="",
            updated_at=now,
        )
        if updated:
            letters = DeadLetter.objects.filter(post_id=post.pk, status=DeadLetter.Status.OPEN).values_list("pk", flat=True)
            dead_letter_resolve(list(letters), user)
    if updated:
        logger.info("failed post fixed and rescheduled", extra={"postId": post.pk, "actor": f"user:{user.pk}"})
    return bool(updated)
