"""Pages of the connections app. Every view goes through an access function of connections.queries,
then calls one service, and renders or redirects."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.redaction import mask_text
from connections.channels import account_name, channel_label, health_words, network_name, status_words
from connections.forms import BackfillForm, PostForm
from connections.models import Connection, Post
from connections.queries import (
    channels_for_user,
    connections_for_user,
    get_connection_to_reconnect,
    get_post_for_user,
    posts_for_user,
    tenant_for_user,
)
from connections.services import post_create
from recovery.attention import PAUSED, AttentionItem, attention_items
from recovery.backfill import BackfillError, backfill_choose, backfill_posts
from recovery.channel_words import pause_words_for
from recovery.posts import post_confirm_published, post_fix_and_reschedule, post_publish_again
from recovery.publishing import UNCONFIRMED_MESSAGE
from recovery.reconnect import (
    LINK_REFUSED,
    Outcome,
    missing_permissions,
    needs_scope_fixing,
    reconnect_complete,
    reconnect_start,
    wizard_is_on,
)
from recovery.taxonomy import ErrorAction, ErrorCode, TaxonomyEntry, get_taxonomy_entry

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
HELD_LABEL = "Held"
MISSED_LABEL = "Missed while paused"
MISSED_PROBLEM = "This post came due while its channel was paused, and was not sent."
MISSED_TODO = "Choose whether to publish it now, pick a new time, or skip it."
SKIPPED_LABEL = "Skipped"
# Statuses a post can be edited and scheduled again from, after a failure on its content.
FIXABLE_STATUSES = (Post.Status.DEAD, Post.Status.FAILED)


@dataclass(frozen=True)
class PostRow:
    """One post as the user reads it: its status in plain words and, for a problem, what happened and what to do."""

    post: Post
    label: str
    problem: str = ""  # what happened (a post that needs the user)
    todo: str = ""  # what to do about it
    note: str = ""  # a post that is being retried: why it waits

    partner_said: str = ""  # a content failure: the partner's own reason, masked
    backfill_url: str = ""  # a post missed while its channel was paused: where the user chooses

    @property
    def needs_answer(self) -> bool:
        return self.post.status == Post.Status.UNCONFIRMED

    @property
    def network(self) -> str:
        return network_name(self.post.connection)

    @property
    def can_edit(self) -> bool:
        """A post that failed on its content: the user may edit it and schedule it again."""
        return self.post.status in FIXABLE_STATUSES and _entry(self.post.last_error_code).action is (
            ErrorAction.NOTIFY_USER_FIX_CONTENT
        )


def _entry(code: str) -> TaxonomyEntry:
    try:
        return get_taxonomy_entry(code)
    except ValueError:
        return get_taxonomy_entry(ErrorCode.UNKNOWN)


def _partner_said(post: Post, entry: TaxonomyEntry) -> str:
    """The partner's own reason for a content failure, masked; "" when it gave none (our generic text was stored)."""
    message = (post.last_error_message or "").strip()
    if not message or message == entry.description:
        return ""
    return mask_text(message)


def post_row(post: Post) -> PostRow:
    """Explain a post by its status and last error code (the taxonomy's user message and recovery action).

    - scheduled on a paused channel: held until the channel is reconnected, not "Scheduled".
    - waiting_reconnect on a paused channel: the channel's pause reason (else the post's last error);
      on an active channel (back from a pause, reconnect wizard on): missed, the user chooses.
    - unconfirmed: the user must look at the partner and answer.
    - dead after a retryable code: its retries were used up, so what happened is
      followed by how many times we tried, not by the taxonomy's "we will retry".
    - dead after a pausing code (auto-pause off for the tenant): the channel
      was not paused, so what happened is followed by "This post was not sent."
    - scheduled with a last error: a retry is planned; a note says why.
    """
    status, code = post.status, post.last_error_code
    label = STATUS_LABELS.get(status, post.get_status_display())
    connection = post.connection
    if status == Post.Status.SCHEDULED and connection.is_paused:
        return PostRow(post, HELD_LABEL, note=f"Held until {channel_label(connection)} is reconnected; it is kept, not lost.")
    if status == Post.Status.WAITING_RECONNECT and connection.status == Connection.Status.ACTIVE:
        url = reverse("connections:backfill", args=[connection.pk])
        return PostRow(post, MISSED_LABEL, MISSED_PROBLEM, MISSED_TODO, backfill_url=url)
    if status == Post.Status.SKIPPED:
        return PostRow(post, SKIPPED_LABEL)
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
        return PostRow(post, label, entry.user_message, entry.recovery_action, partner_said=_partner_said(post, entry))
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
    posts = posts_for_user(request.user).select_related("skipped_by")
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


def _answer_unconfirmed(request, pk, answer, done: str):
    """The user's answer about an unconfirmed post (`answer`: a recovery.posts service), then back to the posts."""
    if answer(get_post_for_user(request.user, pk), actor=f"user:{request.user.pk}"):
        messages.success(request, done)
    else:
        messages.info(request, "This post no longer waits for your answer.")
    return redirect("connections:posts")


@login_required
@require_POST
def post_confirm_published_view(request, pk):
    """An unconfirmed post: the user checked the partner and it is there."""
    return _answer_unconfirmed(request, pk, post_confirm_published, "Marked as published.")


@login_required
@require_POST
def post_publish_again_view(request, pk):
    """An unconfirmed post: the user checked the partner and it is not there; send it again."""
    return _answer_unconfirmed(request, pk, post_publish_again, "The post will be sent again in a moment.")


# -- posts: create, and fix a post that failed on its content ------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def post_new(request):
    """Schedule a post on one of the tenant's channels; the capability guard checks it before it is saved."""
    tenant = tenant_for_user(request.user)
    if tenant is None:
        raise Http404("No workspace.")
    form = PostForm(request.POST or None, connections=connections_for_user(request.user))
    if request.method == "POST" and form.is_valid():
        post_create(tenant_id=tenant.pk, connection_id=form.cleaned_data["channel"].pk, **form.post_fields())
        messages.success(request, "Post scheduled.")
        return redirect("connections:posts")
    return render(request, "connections/post_form.html", {"form": form, "editing": None})


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request, pk):
    """Edit a post that failed on its content and schedule it again (other posts answer 404)."""
    post = get_post_for_user(request.user, pk)
    if not post_row(post).can_edit:
        raise Http404("This post cannot be edited.")
    form = PostForm(request.POST or None, connections=connections_for_user(request.user), post=post)
    if request.method == "POST" and form.is_valid():
        fields = form.post_fields()
        if post_fix_and_reschedule(post, connection_id=form.cleaned_data["channel"].pk, user=request.user, **fields):
            messages.success(request, "Post changed and scheduled again.")
        else:
            messages.info(request, "This post changed meanwhile; nothing was saved.")
        return redirect("connections:posts")
    return render(request, "connections/post_form.html", {"form": form, "editing": post, "row": post_row(post)})


# -- channels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRow:
    """One channel as the channels page shows it."""

    connection: Connection
    network: str
    account: str
    status: str
    health: str
    last_ok_at: object  # datetime | None: the last successful check (a ping, or a publish)
    waiting_posts: int
    offers_reconnect: bool
    reason: str = ""
    todo: str = ""


@login_required
@require_GET
def channel_list(request):
    """Every channel of the tenant: network, account, status, health, last good check, token expiry, Reconnect."""
    tenant = tenant_for_user(request.user)
    items = attention_items(tenant.pk) if tenant else []
    paused = {item.connection_id: item for item in items if item.kind == PAUSED}
    rows = [_channel_row(connection, paused.get(connection.pk)) for connection in channels_for_user(request.user)]
    # The banner shows the same items: handed over, so they are read once.
    return render(request, "connections/channels.html", {"rows": rows, "attention_items": items})


def _channel_row(connection: Connection, pause: AttentionItem | None) -> ChannelRow:
    checks = [at for at in (connection.last_ping_ok, connection.last_published) if at]
    return ChannelRow(
        connection=connection,
        network=network_name(connection),
        account=account_name(connection),
        status=status_words(connection),
        health=health_words(connection),
        last_ok_at=max(checks) if checks else None,
        waiting_posts=connection.waiting,
        offers_reconnect=pause.offers_reconnect if pause else connection.status == Connection.Status.REVOKED,
        reason=pause.reason if pause else "",
        todo=pause.todo if pause else "",
    )


@login_required
@require_GET
def attention_banner(request):
    """The banner alone, for the page's script to refresh it without a reload."""
    return render(request, "connections/_banner.html")


# -- reconnect ------------------------------------------------------------------------------


@login_required
@require_POST
def reconnect(request, pk):
    """The Reconnect button: the scope-fixing page first where a permission is missing (wizard on),
    else straight to the partner's sign-in through a fresh signed, single-use link."""
    connection = get_connection_to_reconnect(request.user, pk)
    if connection.is_paused and not pause_words_for(connection).reconnect_fixes_it:
        messages.info(request, f"{channel_label(connection)} was paused by our support team; they will resume it.")
        return redirect("connections:channels")
    if not request.POST.get("permissions_seen") and needs_scope_fixing(connection):
        return redirect("connections:reconnect_permissions", pk=connection.pk)
    return redirect(reconnect_start(request.user, connection).url)


@login_required
@require_GET
def reconnect_permissions(request, pk):
    """Scope fixing (reconnect wizard): which permissions are missing and what each is for, then on to the partner."""
    connection = get_connection_to_reconnect(request.user, pk)
    if not wizard_is_on(connection.tenant_id):
        raise Http404("No scope fixing for this workspace.")
    context = {
        "connection": connection,
        "channel": channel_label(connection),
        "network": network_name(connection),
        "permissions": missing_permissions(connection),
    }
    return render(request, "connections/reconnect_permissions.html", context)


# What a refused link says, in the user's words.
LINK_REFUSED_WORDS = {
    Outcome.FORGED: "This reconnect link is not valid.",
    Outcome.EXPIRED: "This reconnect link has expired: links work for 15 minutes.",
    Outcome.REPLAYED: "This reconnect link was used already: each link works once.",
    Outcome.NOT_YOURS: "This reconnect link was made for someone else.",
    Outcome.NOT_ALLOWED: "Only the workspace's owners and admins can reconnect a channel.",
}


@login_required
@require_GET
def reconnect_callback(request):
    """Where the partner sends the user back: check the link, the account and the permissions, then resume."""
    result = reconnect_complete(
        request.user, request.GET.get("state", ""), request.GET.get("code", ""), request.GET.get("error", "")
    )
    outcome, connection = result.outcome, result.connection
    if outcome in LINK_REFUSED:
        status = 403 if outcome in (Outcome.NOT_YOURS, Outcome.NOT_ALLOWED) else 400
        return render(request, "connections/reconnect_failed.html",
                      {"problem": LINK_REFUSED_WORDS[outcome], "connection": None}, status=status)
    label = channel_label(connection)
    if outcome is Outcome.RECONNECTED:
        if result.backfill:
            messages.success(request, f"{label} is connected again.")
            return redirect("connections:backfill", pk=connection.pk)
        messages.success(request, f"{label} is connected again. Posting to it has resumed.")
        return redirect("connections:channels")
    if outcome is Outcome.CANCELLED:
        messages.info(request, f"You cancelled the sign-in: {label} is unchanged.")
        return redirect("connections:channels")
    if outcome is Outcome.SCOPES_MISSING and wizard_is_on(connection.tenant_id):
        messages.error(request, f"Some permissions were not approved ({', '.join(result.missing_scopes)}), so "
                                f"{label} was not reconnected. Approve each of them this time.")
        return redirect("connections:reconnect_permissions", pk=connection.pk)
    context = {"connection": connection, "channel": label, "network": network_name(connection),
               "missing_scopes": result.missing_scopes}
    if outcome is Outcome.WRONG_ACCOUNT:
        context["problem"] = (f"You connected a different account ({result.came_back_as}), not "
                              f"{account_name(connection)}. Nothing changed.")
        context["todo"] = f"Try again, and sign in to {network_name(connection)} as {account_name(connection)}."
    elif outcome is Outcome.SCOPES_MISSING:
        context["problem"] = f"Some permissions were not approved, so {label} was not reconnected. Nothing changed."
        context["todo"] = "Try again, and approve every permission asked for."
    else:
        context["problem"] = f"{network_name(connection)} did not let us finish signing in. Nothing changed."
        context["todo"] = "Try again in a moment."
    return render(request, "connections/reconnect_failed.html", context, status=409)


# -- backfill -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def backfill(request, pk):
    """The posts that came due while the channel was paused: publish now, reschedule or skip, each or all."""
    connection = get_connection_to_reconnect(request.user, pk)
    posts = list(backfill_posts(connection))
    form = BackfillForm(request.POST or None, posts=posts)
    if request.method == "POST" and form.is_valid():
        try:
            result = backfill_choose(request.user, connection, form.choices())
        except BackfillError as exc:
            form.add_error(None, str(exc))
        else:
            parts = [f"{len(ids)} {word}" for ids, word in (
                (result.published, "sent to publish now"), (result.rescheduled, "rescheduled"),
                (result.skipped, "skipped")) if ids]
            if result.unchanged:
                parts.append(f"{len(result.unchanged)} already chosen elsewhere, left as they were")
            messages.success(request, ("Missed posts: " + "; ".join(parts) + ".") if parts else "Nothing chosen.")
            if backfill_posts(connection).exists():
                return redirect("connections:backfill", pk=connection.pk)
            return redirect("connections:posts")
    context = {"connection": connection, "channel": channel_label(connection), "form": form, "posts": posts}
    return render(request, "connections/backfill.html", context)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the static icon."""
    return redirect(static("favicon.svg"), permanent=True)
