"""Backfill: after a reconnect with the wizard on, the user chooses what happens to the posts missed while paused.

With RECONNECT_WIZARD_ENABLED the reconnect resumes the connection without releasing
its waiting posts (recovery.autopause.resume_connection(release_waiting_posts=False)):
they stay `waiting_reconnect` on an active connection until the user chooses, for
each post or for all of them:

- PUBLISH_NOW: back to `scheduled`, due now, with a fresh set of retries, and its
  publish job enqueued once the choice commits: the normal pipeline (claim, guards,
  retries). A last error after which the partner may have the post is kept, so the
  job looks it up before sending (recovery.posts.LOOKUP_FIRST_CODES).
- RESCHEDULE: back to `scheduled` at the new time (which must be in the future); the
  due-post enqueuer sends it then.
- SKIP: `skipped`, with who chose it and when. It is never sent.

Rules:
- each choice is one conditional UPDATE (the post is this connection's, still
  `waiting_reconnect`, and the connection is active): a post already chosen (another
  tab, another admin) is left as it is and reported unchanged, and the pipeline's claim
  keeps any post from being published twice;
- nothing happens to a post the user did not choose: it keeps waiting, and the banner
  keeps saying so (recovery.attention);
- who may choose (owners and admins) is the views' access function's rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connections.models import Connection, Post
from recovery.posts import LOOKUP_FIRST_CODES
from recovery.publish_queue import enqueue_post_publish

logger = logging.getLogger(__name__)


class Choice(str, Enum):
    PUBLISH_NOW = "publish"
    RESCHEDULE = "reschedule"
    SKIP = "skip"


class BackfillError(ValueError):
    """A choice that cannot be made as asked (a new time that is not in the future)."""


@dataclass
class BackfillResult:
    published: list[int] = field(default_factory=list)  # sent to the pipeline now
    rescheduled: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # no longer waiting (chosen elsewhere), or not this channel's

    @property
    def changed(self) -> int:
        return len(self.published) + len(self.rescheduled) + len(self.skipped)


def backfill_posts(connection: Connection):
    """The connection's posts that wait for the user's choice (none while it is paused), oldest schedule first."""
    if connection.status != Connection.Status.ACTIVE:
        return Post.objects.none()
    return Post.objects.filter(
        connection_id=connection.pk, tenant_id=connection.tenant_id, status=Post.Status.WAITING_RECONNECT
    ).order_by("scheduled_at", "pk")


def _waiting_rows(connection: Connection, post_id: int):
    return Post.objects.filter(
        pk=post_id,
        connection_id=connection.pk,
        tenant_id=connection.tenant_id,
        status=Post.Status.WAITING_RECONNECT,
        connection__status=Connection.Status.ACTIVE,
    )


def backfill_choose(user, connection: Connection, choices: list[tuple[int, Choice, datetime | None]]) -> BackfillResult:
    """Apply the user's choices [(post id, choice, new time for RESCHEDULE)]; returns what changed.

    BackfillError (nothing changed) when a RESCHEDULE's time is missing or not in the future.
    """
    now = timezone.now()
    for _, choice, when in choices:
        if choice is Choice.RESCHEDULE and (when is None or when <= now):
            raise BackfillError("Choose a new time in the future to reschedule a post.")
    result = BackfillResult()
    with transaction.atomic():
        for post_id, choice, when in choices:
            rows = _waiting_rows(connection, post_id)
            if choice is Choice.PUBLISH_NOW:
                post = rows.only("pk", "last_error_code").first()
                keep_error = post is not None and post.last_error_code in LOOKUP_FIRST_CODES
                updated = rows.update(
                    status=Post.Status.SCHEDULED,
                    attempts=0,
                    next_attempt_at=now,
                    last_error_code=F("last_error_code") if keep_error else "",
                    last_error_message=F("last_error_message") if keep_error else "",
                    updated_at=now,
                )
                if updated:
                    enqueue_post_publish(post_id, connection.tenant_id)
                    result.published.append(post_id)
            elif choice is Choice.RESCHEDULE:
                updated = rows.update(
                    status=Post.Status.SCHEDULED,
                    scheduled_at=when,
                    attempts=0,
                    next_attempt_at=None,
                    last_error_code="",
                    last_error_message="",
                    updated_at=now,
                )
                if updated:
                    result.rescheduled.append(post_id)
            else:
                updated = rows.update(status=Post.Status.SKIPPED, skipped_by=user, skipped_at=now, updated_at=now)
                if updated:
                    result.skipped.append(post_id)
            if not updated:
                result.unchanged.append(post_id)
    logger.info(
        "backfill chosen",
        extra={
            "connectionId": connection.pk,
            "published": len(result.published),
            "rescheduled": len(result.rescheduled),
            "skipped": len(result.skipped),
            "unchanged": len(result.unchanged),
            "actor": f"user:{user.pk}",
        },
    )
    return result


def backfill_choose_all(user, connection: Connection, choice: Choice, when: datetime | None = None) -> BackfillResult:
    """The same choice for every post that waits for one on this connection."""
    ids = list(backfill_posts(connection).values_list("pk", flat=True))
    return backfill_choose(user, connection, [(post_id, choice, when) for post_id in ids])
