"""What the criteria read: the posts, the connections, the dead letters, and the sandbox's own record.

Each function returns a report Row (sandbox/chaos/report.py) with the measured figure and the evidence.
"""

from __future__ import annotations

import time
from datetime import datetime

from connections.models import Connection, Post
from recovery.channel_words import pause_words_for
from recovery.models import DeadLetter
from recovery.taxonomy import ErrorCode, get_taxonomy_entry
from sandbox.chaos.report import Row, within
from sandbox.models import SandboxObject, SandboxRequest

# What each partner holds once a post is published on it (sandbox/<partner>.py).
PUBLISHED_KINDS = ("post", "local_post", "campaign", "photo", "video", "media", "publish")
RATE_LIMIT_CODES = {ErrorCode.RATE_LIMIT_429.value, ErrorCode.QUOTA_EXCEEDED.value}


def wait_until(predicate, timeout: float, step: float = 0.25) -> float | None:
    """Seconds until `predicate()` held, or None when it did not within `timeout`."""
    began = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            return None
        time.sleep(step)


def fresh(posts: list[Post]) -> list[Post]:
    return list(Post.objects.filter(pk__in=[p.pk for p in posts]).select_related("connection").order_by("pk"))


def all_published(posts: list[Post]) -> bool:
    return not Post.objects.filter(pk__in=[p.pk for p in posts]).exclude(status=Post.Status.PUBLISHED).exists()


def connection_row(connection: Connection) -> Connection:
    return Connection.objects.without_tokens().get(pk=connection.pk)


def max_lag_s(posts: list[Post]) -> float | None:
    """The latest any of the posts went out after its scheduled time (None if one is not published)."""
    rows = fresh(posts)
    if any(p.status != Post.Status.PUBLISHED for p in rows):
        return None
    return max((p.published_at - p.scheduled_at).total_seconds() for p in rows) if rows else 0.0


def accounting(scenario: str, posts: list[Post], connections: list[Connection]) -> Row:
    """Every post published, waiting_reconnect, dead with a reason, unconfirmed or scheduled with a known retry; and
    the partners hold exactly the published ones (their own record: SandboxObject), none twice."""
    lost = []
    for post in fresh(posts):
        status = post.status
        ok = (
            (status == Post.Status.PUBLISHED and bool(post.partner_post_id))
            or (status == Post.Status.WAITING_RECONNECT and post.connection.status != Connection.Status.ACTIVE)
            or (status == Post.Status.DEAD and DeadLetter.objects.filter(post=post).exclude(error_code="").exists())
            or status == Post.Status.UNCONFIRMED
            or (status == Post.Status.SCHEDULED and post.next_attempt_at is not None)
        )
        if not ok:
            lost.append(f"{post.pk}:{status}")
    published = {p.partner_post_id for p in fresh(posts) if p.status == Post.Status.PUBLISHED}
    held = list(SandboxObject.objects.filter(
        account__account_id__in=[c.external_account_id for c in connections], kind__in=PUBLISHED_KINDS,
    ).values_list("object_id", flat=True))
    twice = len(held) - len(set(held) & published)
    missing = len(published - set(held))
    passed = not lost and twice == 0 and missing == 0
    return Row(scenario, "nothing lost or published twice", passed,
               f"{len(lost)} lost, {twice} extra, {missing} missing", "0, 0, 0",
               f"{len(posts)} posts; partner holds {len(held)}; unaccounted {lost[:5]}", float(len(lost) + twice + missing))


def dead_letters_classified(scenario: str, tenants) -> Row:
    """The dead-letter queue of the scenario's tenants holds only classified, unrecoverable jobs."""
    letters = list(DeadLetter.objects.filter(tenant__in=tenants))
    wrong = []
    for letter in letters:
        code = letter.error_code
        known = code and code != ErrorCode.UNKNOWN.value
        entry = get_taxonomy_entry(code) if known else None
        unrecoverable = entry is not None and (not entry.retryable or letter.attempts >= entry.retry_policy.max_retries)
        if not (known and unrecoverable):
            wrong.append(f"{letter.pk}:{code}:{letter.attempts}")
    return within(scenario, "DLQ holds only classified, unrecoverable jobs", len(wrong), 0,
                  evidence=f"{len(letters)} letters; wrong: {wrong[:5]}")


def rate_limit_dead_letters(scenario: str, tenants) -> Row:
    count = DeadLetter.objects.filter(tenant__in=tenants, error_code__in=RATE_LIMIT_CODES).count()
    return within(scenario, "nothing dead-lettered for rate limits", count, 0)


def faulted_calls(connection: Connection, after: datetime | None = None) -> list[SandboxRequest]:
    rows = SandboxRequest.objects.filter(platform=connection.platform, account__account_id=connection.external_account_id)
    rows = rows.exclude(fault="")
    if after is not None:
        rows = rows.filter(created_at__gt=after)
    return list(rows.order_by("created_at"))


def paused_with_reconnect_path(scenario: str, connections: list[Connection], limit_s: float) -> Row:
    """Each channel paused, within `limit_s` of the partner's first faulted answer, and a Reconnect fixes it."""
    worst, notes = 0.0, []
    for connection in connections:
        row = connection_row(connection)
        calls = faulted_calls(row)
        if not row.is_paused and row.status != Connection.Status.REVOKED or row.paused_at is None or not calls:
            return within(scenario, "affected channels paused with a reconnect path", None, limit_s, "s",
                          evidence=f"connection {row.pk} is {row.status}, {len(calls)} faulted calls")
        if not pause_words_for(row).reconnect_fixes_it:
            return Row(scenario, "affected channels paused with a reconnect path", False, "no reconnect path",
                       f"<= {limit_s} s", f"connection {row.pk} paused for {row.pause_reason}")
        took = (row.paused_at - calls[0].created_at).total_seconds()
        worst = max(worst, took)
        notes.append(f"{row.platform}:{row.pause_reason} {took:.1f}s")
    return within(scenario, "affected channels paused with a reconnect path", round(worst, 1), limit_s, "s",
                  evidence="; ".join(notes))


def never_retried(scenario: str, posts: list[Post], connections: list[Connection],
                  criterion: str = "auth/permission errors never retried") -> Row:
    """Auth and permission errors were never retried: no post tried twice, no faulted call after the pause."""
    retries = sum(max(0, p.attempts - 1) for p in fresh(posts))
    after_pause = 0
    total = 0
    for connection in connections:
        row = connection_row(connection)
        total += len(faulted_calls(row))
        if row.paused_at is not None:
            # A call already in flight when the pause committed may land just after it.
            after_pause += len([c for c in faulted_calls(row, row.paused_at) if (c.created_at - row.paused_at).total_seconds() > 2])
    return within(scenario, criterion, retries + after_pause, 0,
                  evidence=f"{total} faulted partner calls for {len(posts)} posts; {retries} retries; "
                           f"{after_pause} calls after the pause")
