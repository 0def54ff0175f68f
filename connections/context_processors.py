"""What every page of a tenant shows: the user's workspace, and the banner's items (recovery.attention).

Lazy: nothing is read unless the page uses it (the admin's pages and the sandbox's never do).
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from connections.queries import can_reconnect, tenant_for_user
from recovery.attention import attention_items


def _items(user) -> list:
    tenant = tenant_for_user(user)
    return attention_items(tenant.pk) if tenant is not None else []


def attention(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "workspace": SimpleLazyObject(lambda: tenant_for_user(user)),
        "attention_items": SimpleLazyObject(lambda: _items(user)),
        "may_reconnect": SimpleLazyObject(lambda: can_reconnect(user)),
    }
