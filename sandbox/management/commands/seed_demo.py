"""Seed the demo tenant of the local run. Idempotent: run it as often as you like.

Creates tenant "Demo Co" (slug demo) with users demo-owner and demo-member, an
ops superuser "ops", one connection per partner account kind, living on the
sandbox partners, and a few scheduled posts, all through the product's own
services (connection_create, post_create); and, so the posts page, the
paused view and the dead-letter admin show real states at once, two failures
made by the pipeline's own services: the LinkedIn token expired (the channel
paused for reconnect, a post waiting for it) and an Instagram image the
partner refused (the post dead-lettered); the connections' first pings are planned
for once the local run's web server answers. The passwords are public (below,
and printed by runlocal): local runs only, so the command refuses to run
unless SANDBOX_ENABLED is on, which `check --deploy` refuses in production.

Adding a step: write `def seed_<what>(demo: DemoData) -> None` below and
append it to STEPS. A step finds what earlier steps made on `demo`, and must
be idempotent itself (find what exists first, never a blind create). Each step runs in
its own transaction, so a later step sees the flags an earlier one turned on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from connections.models import Connection, Membership, PingSchedule, Platform, Post, Tenant
from connections.services import connection_create, post_create
from recovery.classifier import classify_partner_error
from recovery.flags import ALL_FLAGS, flag_enable_for_tenant
from recovery.pings import connection_schedule_ping
from recovery.posts import post_claim
from recovery.publishing import post_apply_failure
from sandbox import faults
from sandbox.bridge import token_set
from sandbox.core import sandbox_open_account

TENANT_SLUG = "demo"
TENANT_NAME = "Demo Co"

# (username, password, role in the demo tenant or None for ops, is_superuser)
DEMO_LOGINS = [
    ("demo-owner", "demo-owner-pass", Membership.Role.OWNER, False),
    ("demo-member", "demo-member-pass", Membership.Role.MEMBER, False),
    ("ops", "ops-admin-pass", None, True),
]

LINKEDIN_PAGE = "organization"  # the LinkedIn account type of an organization (Page): posts as urn:li:organization:<id>
GBP_SIGN_IN_EMAIL = "demo-owner@demo.invalid"  # the Google account that manages the demo location (login_hint)

# (platform, account_type, external_account_id, external_account_name, granted_scopes)
DEMO_CONNECTIONS = [
    (Platform.META, "facebook_page", "104000000000001", "Demo Co (Facebook Page)",
     ["pages_show_list", "pages_read_engagement", "pages_manage_posts"]),
    (Platform.META, "instagram_business", "17841400000000001", "democo (Instagram)",
     ["instagram_basic", "instagram_content_publish", "pages_show_list"]),
    # An organization: its bare id with account type "organization", as the connector and the partner
    # name it (the connector builds urn:li:organization:<id>; a URN here made it post as a member).
    (Platform.LINKEDIN, LINKEDIN_PAGE, "10000001", "Demo Co (LinkedIn Page)",
     ["openid", "profile", "rw_organization_admin", "w_organization_social", "r_organization_social"]),
    (Platform.TIKTOK, "", "demo-tiktok-open-id-0001", "@democo (TikTok)",
     ["user.info.basic", "video.publish", "video.upload"]),
    (Platform.GBP, "", "accounts/100000000000000000001/locations/1000000000000000001", "Demo Co Cafe (Google)",
     ["https://www.googleapis.com/auth/business.manage", "email"]),
    (Platform.MAILCHIMP, "", "demo0audience", "Demo Co newsletter (Mailchimp)", []),
]

# (platform, account_type, kind, content, media, hours from now)
DEMO_POSTS = [
    (Platform.META, "facebook_page", Post.Kind.TEXT, "Demo: our spring menu is out today.", [], 2),
    (Platform.META, "instagram_business", Post.Kind.IMAGE, "Demo: fresh pastries, every morning.",
     [{"url": "https://example.com/demo/pastries.jpg", "type": "image", "format": "jpeg", "size_bytes": 240000}], 4),
    (Platform.LINKEDIN, LINKEDIN_PAGE, Post.Kind.TEXT, "Demo: we are hiring two baristas.", [], 24),
    (Platform.GBP, "", Post.Kind.TEXT, "Demo: open late on Fridays from next week.", [], 30),
    (Platform.MAILCHIMP, "", Post.Kind.EMAIL, "Demo: the monthly newsletter.", [], 48),
]


# The pipeline's failures the demo starts with: (platform, account_type, kind, content, media, hours from
# now, the partner's answer as (HTTP status, body): both documented answers from the shared error corpus).
EXPIRED_TOKEN_POST = (
    Platform.LINKEDIN, LINKEDIN_PAGE, Post.Kind.TEXT, "Demo: this post waits until LinkedIn is reconnected.", [], -1,
    (401, {"status": 401, "serviceErrorCode": 65602, "code": "EXPIRED_ACCESS_TOKEN",
           "message": "The token used in the request has expired"}),
)
REFUSED_MEDIA_POST = (
    Platform.META, "instagram_business", Post.Kind.IMAGE, "Demo: our new menu, as a webp image.",
    [{"url": "https://example.com/demo/menu.webp", "type": "image", "format": "webp", "size_bytes": 180000}], -2,
    (400, {"error": {"message": "The image format webp is not supported. Supported formats are: jpeg.",
                     "type": "OAuthException", "code": 36001, "error_subcode": 2207005, "is_transient": False}}),
)


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
    """One connection per partner account kind, each connected on its sandbox partner (once: existing ones are kept)."""
    for platform, account_type, account_id, name, scopes in DEMO_CONNECTIONS:
        connection = Connection.objects.filter(
            tenant=demo.tenant, platform=platform, external_account_id=account_id
        ).first()
        if connection is None:
            # Google names the signed-in account (tokeninfo's email): the sandbox location's user, and the
            # connection's account_email, so a reconnect sends it as login_hint.
            email = GBP_SIGN_IN_EMAIL if platform == Platform.GBP else ""
            issued = sandbox_open_account(platform, account_id, name=name, account_type=account_type, scopes=scopes,
                                          extra={"email": email} if email else None)
            connection, _ = connection_create(
                tenant_id=demo.tenant.pk,
                platform=platform,
                external_account_id=account_id,
                external_account_name=name,
                account_type=account_type,
                account_email=email,
                partner_user_id=issued.user_id,
                tokens=token_set(issued),
                actor="system:seed_demo",
            )
        demo.connections.append(connection)


def _post(demo: DemoData, platform, account_type, kind, content, media, scheduled_at) -> tuple[Post, bool]:
    """The demo post with this text on this channel, created through post_create unless it exists; (post, created)."""
    connection = demo.connection(platform, account_type)
    existing = Post.objects.filter(tenant=demo.tenant, connection=connection, content=content).first()
    if existing is not None:
        return existing, False
    post = post_create(
        tenant_id=demo.tenant.pk, connection_id=connection.pk, kind=kind, content=content, media=media,
        scheduled_at=scheduled_at,
    )
    return post, True


def seed_posts(demo: DemoData) -> None:
    """A few posts scheduled in the next days (once: an existing post of the same text is kept)."""
    now = timezone.now()
    for platform, account_type, kind, content, media, hours in DEMO_POSTS:
        post, _ = _post(demo, platform, account_type, kind, content, media, now + timedelta(hours=hours))
        demo.posts.append(post)


def seed_flags(demo: DemoData) -> None:
    """Every rollout flag on for the demo tenant (listed on), so the local run shows the new behaviour."""
    for name in ALL_FLAGS:
        flag_enable_for_tenant(name, demo.tenant.pk)


def _failed_post(demo: DemoData, spec) -> Post | None:
    """The post of `spec`, failed by the partner's answer exactly as a publish job fails it; None if it existed.

    The post is created (post_create) and claimed for one attempt (post_claim), as the
    publish job does; then the answer goes through the classifier and
    recovery.publishing.post_apply_failure, the services the job itself calls. Once only:
    a post that exists already is left as the user or the pipeline left it (reconnected,
    requeued, published).
    """
    platform, account_type, kind, content, media, hours, (status, body) = spec
    post, created = _post(demo, platform, account_type, kind, content, media, timezone.now() + timedelta(hours=hours))
    demo.posts.append(post)
    if not created:
        return None
    post_claim(post)
    post_apply_failure(post.pk, classify_partner_error(platform, status, body))
    return post


def seed_expired_linkedin_token(demo: DemoData) -> None:
    """LinkedIn answered "token expired": the channel is paused for reconnect, its post waits.

    The sandbox agrees: the tokens it issued so far answer as expired from now on, so a
    ping fails the same way, and the Reconnect flow (new tokens) heals it.
    """
    if _failed_post(demo, EXPIRED_TOKEN_POST) is not None:
        connection = demo.connection(Platform.LINKEDIN, LINKEDIN_PAGE)
        faults.set_fault(Platform.LINKEDIN, faults.EXPIRE_TOKEN, account_id=connection.external_account_id)


def seed_refused_instagram_image(demo: DemoData) -> None:
    """Instagram refused an image format: not retryable and no pause, so the post is dead-lettered."""
    _failed_post(demo, REFUSED_MEDIA_POST)


def seed_first_pings(demo: DemoData) -> None:
    """The demo's connections are first pinged 20 to 60 seconds from now, once the local run's web server
    (which serves the sandbox partners) answers, instead of at cron's first tick; later pings follow the
    intervals (PING_MIN_INTERVAL_S / PING_MAX_INTERVAL_S). A connection already planned later keeps its time."""
    now = timezone.now()
    for index, connection in enumerate(demo.connections):
        first = now + timedelta(seconds=20 + 40 * index / max(len(demo.connections) - 1, 1))
        if PingSchedule.objects.filter(connection_id=connection.pk, next_ping_at__gte=first).exists():
            continue
        connection_schedule_ping(connection.pk, first)


# The steps, in order. Append yours.
STEPS = [
    seed_tenant,
    seed_users,
    seed_connections,
    seed_posts,
    seed_flags,
    seed_expired_linkedin_token,
    seed_refused_instagram_image,
    seed_first_pings,
]


def seed_demo() -> DemoData:
    """Run every step, each in its own transaction (a rerun completes a failed run); returns what was seeded."""
    demo = DemoData()
    for step in STEPS:
        with transaction.atomic():
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
        paused = sum(connection.is_paused for connection in Connection.objects.filter(tenant=demo.tenant))
        dead = Post.objects.filter(tenant=demo.tenant, status=Post.Status.DEAD).count()
        self.stdout.write(
            f"Demo tenant {demo.tenant.name!r}: {len(demo.users)} logins, "
            f"{len(demo.connections)} connections ({paused} paused), {len(demo.posts)} posts ({dead} dead-lettered)."
        )
