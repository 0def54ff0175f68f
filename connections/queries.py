"""Reads that serve a user, always scoped to the user's tenant.

Every view goes through one of these access functions; none filters by tenant
by hand. Another tenant's object answers 404, exactly like a missing one, so
a user cannot learn which ids exist elsewhere.

User-facing reads never load the token columns (TokenlessQuerySet.without_tokens):
no page needs them, and a token that cannot be decrypted must not break the
page that offers the reconnect.
"""

from __future__ import annotations

from django.http import Http404

from connections.models import Connection, Membership, Post, Tenant


def tenant_for_user(user) -> Tenant | None:
    """The tenant the user acts in: their first membership; None for anonymous or membership-less users."""
    return Membership.objects.tenant_of(user)


def connections_for_user(user):
    """The user's tenant's connections (none without a tenant), tokens not loaded."""
    tenant = tenant_for_user(user)
    if tenant is None:
        return Connection.objects.none()
    return Connection.objects.filter(tenant=tenant).without_tokens().order_by("platform", "external_account_name", "pk")


def get_connection_for_user(user, pk) -> Connection:
    """The connection `pk` of the user's tenant; Http404 if it is missing or another tenant's."""
    try:
        return connections_for_user(user).get(pk=pk)
    except (Connection.DoesNotExist, ValueError, TypeError):
        raise Http404("No such connection.") from None


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
