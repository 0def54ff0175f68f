"""Reads that serve a user, always scoped to the user's tenant.

Every view goes through one of these access functions; none filters by tenant
by hand. Another tenant's object answers 404, exactly like a missing one, so
a user cannot learn which ids exist elsewhere.

User-facing reads never load the token columns (TokenlessQuerySet.without_tokens):
no page needs them, and a token that cannot be decrypted must not break the
page that offers the reconnect.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404

from connections.models import Connection, ConnectionAudit, Membership, Post, Tenant

# Who may reconnect a channel, make reconnect links and choose what happens to missed posts
# (docs/reconnect.md): a tenant's owners and admins. Members see the banner and are told to ask one.
RECONNECT_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)
_ROLE_CACHE_ATTR = "_connections_role_cache"


def tenant_for_user(user) -> Tenant | None:
    """The tenant the user acts in: their first membership; None for anonymous or membership-less users."""
    return Membership.objects.tenant_of(user)


def role_for_user(user) -> str | None:
    """The user's role in their tenant (Membership.Role), None without a tenant. Read once per request."""
    tenant = tenant_for_user(user)
    if tenant is None:
        return None
    if not hasattr(user, _ROLE_CACHE_ATTR):
        role = Membership.objects.filter(user_id=user.pk, tenant=tenant).values_list("role", flat=True).first()
        setattr(user, _ROLE_CACHE_ATTR, role)
    return getattr(user, _ROLE_CACHE_ATTR)


def can_reconnect(user) -> bool:
    """Whether the user may reconnect their tenant's channels and choose what happens to missed posts."""
    return role_for_user(user) in RECONNECT_ROLES


def connections_for_user(user):
    """The user's tenant's connections (none without a tenant), tokens not loaded."""
    tenant = tenant_for_user(user)
    if tenant is None:
        return Connection.objects.none()
    return Connection.objects.filter(tenant=tenant).without_tokens().order_by("platform", "external_account_name", "pk")


def channels_for_user(user):
    """The channels page's rows: connections_for_user, each with `last_ping_ok` (its latest successful ping),
    `last_published` (its latest published post) and `waiting` (its posts waiting_reconnect). One query."""
    last_ping_ok = (
        ConnectionAudit.objects.filter(connection_id=OuterRef("pk"), action=ConnectionAudit.Action.PING_OK)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    last_published = (
        Post.objects.filter(connection_id=OuterRef("pk"), status=Post.Status.PUBLISHED)
        .order_by("-published_at")
        .values("published_at")[:1]
    )
    return connections_for_user(user).annotate(
        last_ping_ok=Subquery(last_ping_ok),
        last_published=Subquery(last_published),
        waiting=Count("posts", filter=Q(posts__status=Post.Status.WAITING_RECONNECT)),
    )


def get_connection_for_user(user, pk) -> Connection:
    """The connection `pk` of the user's tenant; Http404 if it is missing or another tenant's."""
    try:
        return connections_for_user(user).get(pk=pk)
    except (Connection.DoesNotExist, ValueError, TypeError):
        raise Http404("No such connection.") from None


def get_connection_to_reconnect(user, pk) -> Connection:
    """The connection `pk` of the user's tenant, for a reconnect or a backfill choice.

    Http404 if it is missing or another tenant's; PermissionDenied (403) if the user's role may not
    reconnect (a member: they see the channel, and are told to ask an owner or admin).
    """
    connection = get_connection_for_user(user, pk)
    if not can_reconnect(user):
        raise PermissionDenied("Only the workspace's owners and admins can reconnect a channel.")
    return connection


def posts_for_user(user):
    """The user's tenant's posts, newest schedule first, with their connection (tokens not loaded)."""
    tenant = tenant_for_user(user)
    if tenant is None:
        return Post.objects.none()
    return (
        Post.objects.filter(tenant=tenant)
        .select_related("connection")
        .without_tokens("connection")
        .order_by("-scheduled_at", "-pk")
    )


def get_post_for_user(user, pk) -> Post:
    """The post `pk` of the user's tenant; Http404 if it is missing or another tenant's."""
    try:
        return posts_for_user(user).get(pk=pk)
    except (Post.DoesNotExist, ValueError, TypeError):
        raise Http404("No such post.") from None
