"""Reads that serve a user, always scoped to the user's tenant.

Every view goes through one of these access functions; none filters by tenant
by hand. Another tenant's object answers 404, exactly like a missing one, so
a user cannot learn which ids exist elsewhere.

User-facing reads never load the token columns: no page needs them, and a
token that cannot be decrypted must not break the page that offers the
reconnect. (Reading `connection.access_token` still works: Django loads a
deferred field on first access.)
"""

from __future__ import annotations

from django.http import Http404

from connections.models import Connection, Membership, Post, Tenant

_TOKEN_FIELDS = ("access_token", "refresh_token")
# Cached on the user object: request.user lives for one request, so the
# tenant is read once per request however many access functions run.
_TENANT_CACHE_ATTR = "_connections_tenant_cache"


def tenant_for_user(user) -> Tenant | None:
    """The tenant the user acts in: their first membership; None for anonymous or membership-less users."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, _TENANT_CACHE_ATTR):
        membership = (
            Membership.objects.filter(user_id=user.pk).select_related("tenant").order_by("created_at", "pk").first()
        )
        setattr(user, _TENANT_CACHE_ATTR, membership.tenant if membership else None)
    return getattr(user, _TENANT_CACHE_ATTR)


def connections_for_user(user):
    """The user's tenant's connections (none without a tenant), tokens not loaded."""
    tenant = tenant_for_user(user)
    if tenant is None:
        return Connection.objects.none()
    return Connection.objects.filter(tenant=tenant).defer(*_TOKEN_FIELDS).order_by("platform", "external_account_name", "pk")


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
        .defer(*(f"connection__{name}" for name in _TOKEN_FIELDS))
        .order_by("-scheduled_at", "-pk")
    )


def get_post_for_user(user, pk) -> Post:
    """The post `pk` of the user's tenant; Http404 if it is missing or another tenant's."""
    try:
        return posts_for_user(user).get(pk=pk)
    except (Post.DoesNotExist, ValueError, TypeError):
        raise Http404("No such post.") from None
