"""A realistic load for a scenario: tenants, each with an owner and channels on several partners, and their posts.

Everything is made through the product's own services (connection_create with tokens the sandbox
partner issued, post_create), as seed_demo makes the demo tenant. Each scenario has tenants of its
own (slugs carry the scenario and the run), so scenarios never read each other's posts, and partner
account ids are derived from the slug, so no two tenants share a partner account.
"""

from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from connections.models import Connection, Membership, Post, Tenant
from connections.services import connection_create, post_create
from recovery.flags import (
    CHAOS_TESTS_ENABLED,
    RECOVERY_AUTOPAUSE_ENABLED,
    SYNTHETIC_PINGS_ENABLED,
    flag_enable_for_tenant,
)
from sandbox.bridge import token_set
from sandbox.core import sandbox_open_account

# The reconnect wizard stays off: a reconnected channel's waiting posts go back to the pipeline at once.
FLAGS = (CHAOS_TESTS_ENABLED, RECOVERY_AUTOPAUSE_ENABLED, SYNTHETIC_PINGS_ENABLED)
# (platform, account type, scopes, post kind) of each kind of channel a load tenant may have.
CHANNELS = {
    "meta": ("meta", "facebook_page", ["pages_show_list", "pages_read_engagement", "pages_manage_posts"], Post.Kind.TEXT),
    "linkedin": ("linkedin", "organization",
                 ["openid", "profile", "rw_organization_admin", "w_organization_social", "r_organization_social"],
                 Post.Kind.TEXT),
    "gbp": ("gbp", "", ["https://www.googleapis.com/auth/business.manage", "email"], Post.Kind.TEXT),
    "tiktok": ("tiktok", "", ["user.info.basic", "video.publish", "video.upload"], None),  # a channel, no posts
}


@dataclass
class LoadTenant:
    tenant: Tenant
    username: str
    password: str
    channels: dict[str, Connection] = field(default_factory=dict)
    posts: list[Post] = field(default_factory=list)

    def connection(self, channel: str) -> Connection:
        return self.channels[channel]


def _account_id(slug: str, channel: str) -> str:
    number = zlib.crc32(f"{slug}:{channel}".encode())
    if channel == "gbp":
        return f"accounts/9{number:019d}/locations/9{number:018d}"
    if channel == "tiktok":
        return f"chaos-{slug}-open-id"
    return f"9{number:014d}"


def load_tenant(slug: str, channels: list[str]) -> LoadTenant:
    """A tenant with an owner who can sign in, the chaos flags on, and one channel of each kind named."""
    tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": slug.replace("-", " ").title()})
    username, password = f"{slug}-owner", secrets.token_urlsafe(16)
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@chaos.invalid"})
    user.set_password(password)
    user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Membership.Role.OWNER})
    for name in FLAGS:
        flag_enable_for_tenant(name, tenant.pk)
    loaded = LoadTenant(tenant, username, password)
    for channel in channels:
        platform, account_type, scopes, _ = CHANNELS[channel]
        account_id = _account_id(slug, channel)
        email = f"{slug}@chaos.invalid" if platform == "gbp" else ""
        issued = sandbox_open_account(platform, account_id, name=f"{slug} {channel}", account_type=account_type,
                                      scopes=scopes, extra={"email": email} if email else None)
        connection, _ = connection_create(
            tenant_id=tenant.pk, platform=platform, external_account_id=account_id, external_account_name=f"{slug} {channel}",
            account_type=account_type, account_email=email, partner_user_id=issued.user_id, tokens=token_set(issued),
            actor="system:chaos",
        )
        loaded.channels[channel] = connection
    return loaded


def schedule_posts(loaded: LoadTenant, channel: str, count: int, *, in_s: float = 2.0, spread_s: float = 0.0) -> list[Post]:
    """`count` posts on the tenant's channel, due `in_s` seconds from now, spread over `spread_s` seconds."""
    connection = loaded.channels[channel]
    kind = CHANNELS[channel][3]
    now = timezone.now()
    posts = []
    for n in range(count):
        at = now + timedelta(seconds=in_s + (spread_s * n / max(count - 1, 1) if count > 1 else 0))
        posts.append(post_create(tenant_id=loaded.tenant.pk, connection_id=connection.pk, kind=kind,
                                 content=f"Chaos {loaded.tenant.slug} {channel} #{n + 1}", media=[], scheduled_at=at))
    loaded.posts += posts
    return posts
