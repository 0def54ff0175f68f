"""Pages of the connections app. Every view goes through an access function of connections.queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from connections.models import Post
from connections.queries import get_post_for_user, posts_for_user
from recovery.publishing import post_confirm_published, post_publish_again
from recovery.taxonomy import ErrorCode, TaxonomyEntry, get_taxonomy_entry

POSTS_PER_PAGE = 50
# Statuses whose last error the user must read (a retrying post shows it as a note).
_PROBLEM_STATUSES = {Post.Status.WAITING_RECONNECT, Post.Status.DEAD, Post.Status.FAILED, Post.Status.UNCONFIRMED}


@dataclass(frozen=True)
class PostRow:
    post: Post
    problem: TaxonomyEntry | None  # the taxonomy entry of the error to explain, if any

    @property
    def is_failure(self) -> bool:
        return self.post.status in _PROBLEM_STATUSES

    @property
    def is_retrying(self) -> bool:
        return self.post.status == Post.Status.SCHEDULED and self.problem is not None


def _problem(post: Post) -> TaxonomyEntry | None:
    """The error to explain: the post's last one, or for a waiting post the connection's pause reason."""
    code = post.last_error_code
    if not code and post.status == Post.Status.WAITING_RECONNECT:
        code = post.connection.pause_reason
    if not code:
        return None
    try:
        return get_taxonomy_entry(code)
    except ValueError:
        return get_taxonomy_entry(ErrorCode.UNKNOWN)


@login_required
def post_list(request):
    """The user's tenant's posts, newest schedule first, each with its status and what to do about a failure."""
    page = Paginator(posts_for_user(request.user), POSTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [PostRow(post, _problem(post)) for post in page.object_list]
    return render(request, "connections/posts.html", {"page": page, "rows": rows})


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
