"""Pages of the connections app. Every view goes through an access function of connections.queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from connections.models import Post
from connections.queries import get_post_for_user, posts_for_user
from recovery.posts import post_confirm_published, post_publish_again
from recovery.publishing import UNCONFIRMED_MESSAGE
from recovery.taxonomy import ErrorCode, TaxonomyEntry, get_taxonomy_entry

POSTS_PER_PAGE = 50

# The status in the user's words (Post.Status labels are the ops' words, e.g. "Dead-lettered").
STATUS_LABELS = {
    Post.Status.SCHEDULED: "Scheduled",
    Post.Status.PUBLISHING: "Sending",
    Post.Status.PUBLISHED: "Published",
    Post.Status.WAITING_RECONNECT: "Waiting for reconnect",
    Post.Status.UNCONFIRMED: "Check needed",
    Post.Status.FAILED: "Not sent",
    Post.Status.DEAD: "Not sent",
}
# Statuses that need the user: shown first in the summary, and by the "needs attention" filter.
ATTENTION_STATUSES = (Post.Status.UNCONFIRMED, Post.Status.DEAD, Post.Status.FAILED, Post.Status.WAITING_RECONNECT)

DEAD_AFTER_RETRIES_TODO = (
    "Nothing is lost: our support team sees this post in its failed-posts list and can send it again once the "
    "partner works; contact support if it is urgent."
)
DEAD_PAUSING_TODO = "Reconnect the account (or fix it on the partner's site), then schedule this post again."


@dataclass(frozen=True)
class PostRow:
    """One post as the user reads it: its status in plain words and, for a problem, what happened and what to do."""

    post: Post
    label: str
    problem: str = ""  # what happened (a post that needs the user)
    todo: str = ""  # what to do about it
    note: str = ""  # a post that is being retried: why it waits

    @property
    def needs_answer(self) -> bool:
        return self.post.status == Post.Status.UNCONFIRMED


def _entry(code: str) -> TaxonomyEntry:
    try:
        return get_taxonomy_entry(code)
    except ValueError:
        return get_taxonomy_entry(ErrorCode.UNKNOWN)


def post_row(post: Post) -> PostRow:
    """Explain a post by its status and last error code (the taxonomy's user message and recovery action).

    - waiting_reconnect: the channel's pause reason (else the post's last error).
    - unconfirmed: the user must look at the partner and answer.
    - dead after a retryable code: its retries were used up, so what happened is
      followed by how many times we tried, not by the taxonomy's "we will retry".
    - dead after a pausing code (auto-pause off for the tenant): the channel
      was not paused, so what happened is followed by "This post was not sent."
    - scheduled with a last error: a retry is planned; a note says why.
    """
    status, code = post.status, post.last_error_code
    label = STATUS_LABELS.get(status, post.get_status_display())
    if status == Post.Status.WAITING_RECONNECT:
        code = post.connection.pause_reason or code
        if not code:
            return PostRow(post, label, "This channel is paused; the post goes out once it is reconnected.")
        entry = _entry(code)
        return PostRow(post, label, entry.user_message, entry.recovery_action)
    if status == Post.Status.UNCONFIRMED:
        account = post.connection.external_account_name or post.connection.external_account_id
        todo = f"Look at {account} on {post.connection.get_platform_display()}, then tell us:"
        return PostRow(post, label, post.last_error_message or UNCONFIRMED_MESSAGE, todo)
    if status in (Post.Status.DEAD, Post.Status.FAILED):
        entry = _entry(code or ErrorCode.UNKNOWN)
        if entry.pauses_channel:
            # Auto-pause was off for the tenant: the channel was not paused, so what we did is not entry.we_did.
            return PostRow(post, label, f"{entry.happened} This post was not sent.", DEAD_PAUSING_TODO)
        if entry.retryable:
            # Its retries were used up: entry.we_did ("We will retry...") is no longer true.
            tries = "once" if post.attempts == 1 else f"{post.attempts} times"
            return PostRow(post, label, f"{entry.happened} We tried {tries}, then stopped: this post was not sent.",
                           DEAD_AFTER_RETRIES_TODO)
        return PostRow(post, label, entry.user_message, entry.recovery_action)
    if status == Post.Status.SCHEDULED and code:
        return PostRow(post, "Retrying", note=_entry(code).user_message)
    return PostRow(post, label)


def _attention_counts(user) -> dict[str, int]:
    """How many of the tenant's posts are in each status that needs the user (one query)."""
    rows = (
        posts_for_user(user).order_by().filter(status__in=ATTENTION_STATUSES)
        .values("status").annotate(n=Count("pk"))
    )
    counts = {row["status"]: row["n"] for row in rows}
    return {
        "to_check": counts.get(Post.Status.UNCONFIRMED, 0),
        "not_sent": counts.get(Post.Status.DEAD, 0) + counts.get(Post.Status.FAILED, 0),
        "waiting": counts.get(Post.Status.WAITING_RECONNECT, 0),
    }


@login_required
def post_list(request):
    """The user's tenant's posts, newest schedule first, each with its status and what to do about a problem.

    `?show=attention` lists only the posts that need the user.
    """
    posts = posts_for_user(request.user)
    attention_only = request.GET.get("show") == "attention"
    if attention_only:
        posts = posts.filter(status__in=ATTENTION_STATUSES)
    page = Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [post_row(post) for post in page.object_list],
        "attention": _attention_counts(request.user),
        "attention_only": attention_only,
    }
    return render(request, "connections/posts.html", context)


@login_required
@require_POST
def post_confirm_published_view(request, pk):
    """An unconfirmed post: the user checked the partner and it is there."""
    post = get_post_for_user(request.user, pk)
    if post_confirm_published(post, actor=f"user:{request.user.pk}"):
        messages.success(request, "Marked as published.")
    else:
        messages.info(request, "This post no longer waits for your answer.")
    return redirect("connections:posts")


@login_required
@require_POST
def post_publish_again_view(request, pk):
    """An unconfirmed post: the user checked the partner and it is not there; send it again."""
    post = get_post_for_user(request.user, pk)
    if post_publish_again(post, actor=f"user:{request.user.pk}"):
        messages.success(request, "The post will be sent again in a moment.")
    else:
        messages.info(request, "This post no longer waits for your answer.")
    return redirect("connections:posts")
