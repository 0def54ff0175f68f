"""A week with known trouble, built from factories, for the weekly summary's and the Advisor's tests.

`troubled_week(acme, globex)` fills the week starting WEEK (a Monday) and a little around it, and
returns the connections it made. What it holds, and so what the summary must say:

acme (the tenant with the summary):
- TikTok: 14 video posts refused by the capability check (over 600 s), one publish deferred by
  an open breaker, and an ops pause (Monday 12:00) resumed two hours later;
- LinkedIn: 3 partner 5xx retried and one UNKNOWN dead-lettered (publishes), one 5xx on a ping,
  12 publishes deferred by the rate limit; a revoke by LinkedIn's webhook (Saturday 12:00),
  reconnected a day later; a post due at 18:00 that day ended dead;
- Instagram "ig": paused for a missing permission by a failing post (Tuesday 10:00, resumed at
  16:00: posts at 12:00 and 13:00 missed it, one published after, one skipped), then by a ping
  (Thursday 08:00, resumed Friday 08:00; its post at 20:00 still waits); paused once more two
  weeks earlier (resumed an hour later);
- Instagram "ig2": paused for a missing permission three weeks earlier and again by a failing
  post on Wednesday 09:00, not resumed; its post on Saturday waits;
- Google Business Profile: paused by token upkeep (Sunday 10:00, REFRESH_FAILED), no post due;
- dead letters: 3 MEDIA_ERROR and 1 UNKNOWN made in the week; closed in the week after 2 days
  (resolved), 1 day (requeued, then recovered) and 1 hour (discarded); one requeued not yet
  recovered and one resolved after the week, not counted;
- the week before: 5 LinkedIn 5xx.
globex (no summary of its own, counted overall): 2 Meta AUTH_EXPIRED pauses of publishes.
Overall: a new unmapped shape in the week (7 errors so far) and an older one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

from connections.models import ConnectionAudit, Post
from recovery.models import DeadLetter, FailureEvent, UnmappedError
from tests.factories import ConnectionFactory, PostFactory

WEEK = date(2025, 3, 3)  # a Monday
START = datetime(2025, 3, 3, tzinfo=dt_timezone.utc)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
A = ConnectionAudit.Action


def at(days: float, hours: float = 0) -> datetime:
    """A moment of the week: `days` after Monday 00:00 UTC, plus `hours`."""
    return START + days * DAY + hours * HOUR


def audit(connection, action, when, actor="system", **details):
    row = ConnectionAudit.objects.create(connection=connection, action=action, actor=actor, details=details)
    ConnectionAudit.objects.filter(pk=row.pk).update(created_at=when)
    return row


def failure(connection, code, decision, when, *, n=1, source="publish", partner_code="", post=None):
    for _ in range(n):
        FailureEvent.objects.create(
            tenant_id=connection.tenant_id, connection=connection, post=post, platform=connection.platform,
            source=source, code=code, partner_code=partner_code, decision=decision, created_at=when,
        )


def post(connection, when, status=Post.Status.PUBLISHED, **fields):
    return PostFactory(connection=connection, tenant=connection.tenant, scheduled_at=when, status=status, **fields)


def letter(tenant, code, created, **fields):
    row = DeadLetter.objects.create(job_kind="post_publish", tenant=tenant, error_code=code, platform="linkedin",
                                    first_failed_at=created, last_failed_at=fields.pop("last_failed_at", created), **fields)
    DeadLetter.objects.filter(pk=row.pk).update(created_at=created)
    return row


def troubled_week(acme, globex) -> dict:
    tiktok = ConnectionFactory(tenant=acme, platform="tiktok", external_account_name="acme-tt")
    linkedin = ConnectionFactory(tenant=acme, platform="linkedin", external_account_id="urn:li:organization:1")
    ig = ConnectionFactory(tenant=acme, platform="meta", account_type="instagram_business", external_account_id="17841400000000001")
    ig2 = ConnectionFactory(tenant=acme, platform="meta", account_type="instagram_business", external_account_id="17841400000000002")
    gbp = ConnectionFactory(tenant=acme, platform="gbp")
    page = ConnectionFactory(tenant=globex, platform="meta", account_type="facebook_page")

    # Failures the services recorded.
    for _ in range(14):
        video = post(tiktok, at(2), Post.Status.DEAD, kind=Post.Kind.VIDEO)
        failure(tiktok, "MEDIA_ERROR", "dead_letter", at(2, 1), partner_code="capability:video_max_s", post=video)
    failure(tiktok, "PARTNER_UNAVAILABLE", "deferred", at(2, 2), partner_code="deferred:breaker")
    failure(linkedin, "PARTNER_5XX", "retry", at(1, 3), n=3, partner_code="500")
    failure(linkedin, "UNKNOWN", "dead_letter", at(1, 4))
    failure(linkedin, "PARTNER_5XX", "retry", at(4, 5), source="ping")
    failure(linkedin, "RATE_LIMIT_429", "deferred", at(3, 9), n=12, partner_code="deferred:rate_limit")
    failure(ig, "PERMISSION_INSUFFICIENT", "pause", at(1, 10))
    failure(linkedin, "PARTNER_5XX", "retry", at(-3), n=5)  # the week before
    failure(linkedin, "PARTNER_5XX", "retry", at(7))  # the next week: not counted
    failure(page, "AUTH_EXPIRED", "pause", at(2), n=2)

    # Pauses and resumes.
    audit(ig, A.AUTO_PAUSE, at(-14, 10), reason_code="PERMISSION_INSUFFICIENT", post_id=1)
    audit(ig, A.RESUME, at(-14, 11))
    audit(ig, A.AUTO_PAUSE, at(1, 10), reason_code="PERMISSION_INSUFFICIENT", post_id=2)
    audit(ig, A.RESUME, at(1, 16), actor="user:1")
    audit(ig, A.AUTO_PAUSE, at(3, 8), reason_code="PERMISSION_INSUFFICIENT", found_by="ping")
    audit(ig, A.RESUME, at(4, 8), actor="user:1")
    audit(ig2, A.AUTO_PAUSE, at(-21), reason_code="PERMISSION_INSUFFICIENT", post_id=3)
    audit(ig2, A.RESUME, at(-20))
    audit(ig2, A.AUTO_PAUSE, at(2, 9), reason_code="PERMISSION_INSUFFICIENT", post_id=4)
    audit(linkedin, A.REVOKE, at(5, 12), actor="partner:linkedin", reason_code="AUTH_REVOKED", webhook_event_id=9)
    audit(linkedin, A.RESUME, at(6, 12), actor="user:1")
    audit(tiktok, A.PAUSE, at(0, 12), actor="ops:alice", reason_code="ACCOUNT_RESTRICTED")
    audit(tiktok, A.RESUME, at(0, 14), actor="ops:alice")
    audit(gbp, A.AUTO_PAUSE, at(6, 10), reason_code="REFRESH_FAILED", found_by="token_upkeep")
    audit(page, A.PING_OK, at(1))  # not a pause

    # Posts around the pauses.
    post(ig, at(1, 9))  # before the pause: not missed
    post(ig, at(1, 12))  # missed, published after the reconnect
    post(ig, at(1, 13), Post.Status.SKIPPED)  # missed, skipped
    post(ig, at(2))  # between the pauses
    post(ig, at(3, 20), Post.Status.WAITING_RECONNECT)  # missed, still waiting (and 12 h after the ping's pause)
    post(ig2, at(5), Post.Status.WAITING_RECONNECT)  # missed, still waiting
    post(linkedin, at(5, 18), Post.Status.DEAD)  # missed; 6 h after the webhook's revoke
    post(linkedin, at(-2), Post.Status.PUBLISHED)  # the week before

    # Dead letters.
    for _ in range(3):
        letter(acme, "MEDIA_ERROR", at(2, 1))
    letter(acme, "UNKNOWN", at(1, 4))
    letter(acme, "PARTNER_5XX", at(-1), status="resolved", resolved_at=at(1))  # 2 days
    letter(acme, "PARTNER_5XX", at(-5), last_failed_at=at(1), status="requeued", resolved_at=at(1, 1), recovered_at=at(2))  # 1 day
    letter(acme, "PARTNER_5XX", at(-5), last_failed_at=at(3), status="discarded", resolved_at=at(3, 1))  # 1 hour
    letter(acme, "PARTNER_5XX", at(-5), status="requeued", resolved_at=at(2))  # not recovered yet
    letter(acme, "PARTNER_5XX", at(-5), status="resolved", resolved_at=at(8))  # after the week

    # Unmapped error shapes.
    new = UnmappedError.objects.create(platform="tiktok", http_status=400, signature="a" * 64, count=7)
    UnmappedError.objects.filter(pk=new.pk).update(first_seen_at=at(2))
    old = UnmappedError.objects.create(platform="meta", http_status=500, signature="b" * 64, count=40)
    UnmappedError.objects.filter(pk=old.pk).update(first_seen_at=at(-30))
    return {"tiktok": tiktok, "linkedin": linkedin, "ig": ig, "ig2": ig2, "gbp": gbp, "page": page, "new_unmapped": new}
