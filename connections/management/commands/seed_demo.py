"""Seed the demo tenant of the local run. Idempotent: run it as often as you like.

Creates tenant "Demo Co" (slug demo) with users demo-owner and demo-member, an
ops superuser "ops", one connection per partner account kind and a few
scheduled posts. The passwords are public (below, and printed by runlocal):
local runs only, so the command refuses to run unless SANDBOX_ENABLED is on,
which `check --deploy` refuses in production.

Adding a step: write `def seed_<what>(demo: DemoData) -> None` below and
append it to STEPS. A step finds what earlier steps made on `demo`, and must
be idempotent itself (get_or_create, never a blind create).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from connections.models import Connection, Membership, Platform, Post, Tenant
from recovery.flags import ALL_FLAGS, flag_enable_for_tenant

TENANT_SLUG = "demo"
TENANT_NAME = "Demo Co"

# (username, password, role in the demo tenant or None for ops, is_superuser)
DEMO_LOGINS = [
    ("demo-owner", "demo-owner-pass", Membership.Role.OWNER, False),
    ("demo-member", "demo-member-pass", Membership.Role.MEMBER, False),
    ("ops", "ops-admin-pass", None, True),
]

# (platform, account_type, external_account_id, external_account_name, granted_scopes)
DEMO_CONNECTIONS = [
    (Platform.META, "facebook_page", "104000000000001", "Demo Co (Facebook Page)",
     ["pages_show_list", "pages_read_engagement", "pages_manage_posts"]),
    (Platform.META, "instagram_business", "17841400000000001", "democo (Instagram)",
     ["instagram_basic", "instagram_content_publish", "pages_show_list"]),
    (Platform.LINKEDIN, "", "urn:li:organization:10000001", "Demo Co (LinkedIn Page)",
     ["w_organization_social", "r_organization_social"]),
    (Platform.TIKTOK, "", "demo-tiktok-open-id-0001", "@democo (TikTok)",
     ["user.info.basic", "video.publish", "video.upload"]),
    (Platform.GBP, "", "accounts/100000000000000000001/locations/1000000000000000001", "Demo Co Cafe (Google)",
     ["https://www.googleapis.com/auth/business.manage"]),
    (Platform.MAILCHIMP, "", "demo0audience", "Demo Co newsletter (Mailchimp)", []),
]

# (platform, account_type, kind, content, media, hours from now)
DEMO_POSTS = [
    (Platform.META, "facebook_page", Post.Kind.TEXT, "Demo: our spring menu is out today.", [], 2),
    (Platform.META, "instagram_business", Post.Kind.IMAGE, "Demo: fresh pastries, every morning.",
     [{"url": "https://example.com/demo/pastries.jpg", "type": "image", "format": "jpeg", "size_bytes": 240000}], 4),
    (Platform.LINKEDIN, "", Post.Kind.TEXT, "Demo: we are hiring two baristas.", [], 24),
    (Platform.GBP, "", Post.Kind.TEXT, "Demo: open late on Fridays from next week.", [], 30),
    (Platform.MAILCHIMP, "", Post.Kind.EMAIL, "Demo: the monthly newsletter.", [], 48),
]


@dataclass
class DemoData:
    """What the steps made so far, for the steps after them."""

    tenant: Tenant | None = None
    users: dict = field(default_factory=dict)  # username -> User
    connections: list[Connection] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)

    def connection(self, platform: str, account_type: str = "") -> Connection:
        return next(c for c in self.connections if c.platform == platform and c.account_type == account_type)


def seed_tenant(demo: DemoData) -> None:
    demo.tenant, _ = Tenant.objects.get_or_create(slug=TENANT_SLUG, defaults={"name": TENANT_NAME})


def seed_users(demo: DemoData) -> None:
    """The demo logins; a changed password is set back, so the printed logins always work."""
    User = get_user_model()
    for username, password, role, is_superuser in DEMO_LOGINS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@demo.invalid", "is_staff": is_superuser, "is_superuser": is_superuser},
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        if role is not None:
            Membership.objects.get_or_create(user=user, tenant=demo.tenant, defaults={"role": role})
        demo.users[username] = user


def seed_connections(demo: DemoData) -> None:
    """One connection per partner account kind, with placeholder tokens until a step links them to the sandbox."""
    for platform, account_type, account_id, name, scopes in DEMO_CONNECTIONS:
        connection, _ = Connection.objects.get_or_create(
            tenant=demo.tenant,
            platform=platform,
            external_account_id=account_id,
            defaults={
                "account_type": account_type,
                "external_account_name": name,
                "granted_scopes": scopes,
                "access_token": f"demo-placeholder-access-{platform}-{account_type or 'account'}",
                "refresh_token": f"demo-placeholder-refresh-{platform}-{account_type or 'account'}",
            },
        )
        demo.connections.append(connection)


def seed_posts(demo: DemoData) -> None:
    """A few posts scheduled in the next days (once: an existing post of the same text is kept)."""
    now = timezone.now()
    for platform, account_type, kind, content, media, hours in DEMO_POSTS:
        post, _ = Post.objects.get_or_create(
            tenant=demo.tenant,
            connection=demo.connection(platform, account_type),
            content=content,
            defaults={"kind": kind, "media": media, "scheduled_at": now + timedelta(hours=hours)},
        )
        demo.posts.append(post)


def seed_flags(demo: DemoData) -> None:
    """Every rollout flag on for the demo tenant (listed on), so the local run shows the new behaviour."""
    for name in ALL_FLAGS:
        flag_enable_for_tenant(name, demo.tenant.pk)


# The steps, in order. Append yours.
STEPS = [seed_tenant, seed_users, seed_connections, seed_posts, seed_flags]


def seed_demo() -> DemoData:
    """Run every step in one transaction; returns what was seeded."""
    demo = DemoData()
    with transaction.atomic():
        for step in STEPS:
            step(demo)
    return demo


class Command(BaseCommand):
    help = "Create (or bring back) the demo tenant, its users and connections, and the ops login. Local runs only."

    def handle(self, *args, **options):
        if not settings.SANDBOX_ENABLED:
            raise CommandError(
                "seed_demo creates logins with public passwords: it runs only with SANDBOX_ENABLED=1 (local runs)."
            )
        demo = seed_demo()
        self.stdout.write(
            f"Demo tenant {demo.tenant.name!r}: {len(demo.users)} logins, "
            f"{len(demo.connections)} connections, {len(demo.posts)} posts."
        )
