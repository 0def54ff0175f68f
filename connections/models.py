"""Tenants, their members, partner connections with their audit log, and posts."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from connections.fields import EncryptedTextField


class Platform(models.TextChoices):
    META = "meta", "Meta (Facebook Pages, Instagram)"
    LINKEDIN = "linkedin", "LinkedIn"
    TIKTOK = "tiktok", "TikTok"
    GBP = "gbp", "Google Business Profile"
    MAILCHIMP = "mailchimp", "Mailchimp"


# The columns that hold a connection's tokens: never shown, and not loaded where nothing needs them.
TOKEN_FIELDS = ("access_token", "refresh_token")
# A user's tenant, remembered on the user object: request.user lives for one request, so the tenant
# is read once per request however many access functions and flag checks ask.
_TENANT_CACHE_ATTR = "_connections_tenant_cache"


class TokenlessQuerySet(models.QuerySet):
    """A queryset that can leave the token columns of the connections it loads unloaded."""

    def without_tokens(self, *relations: str):
        """Defer the token columns: of the rows themselves (Connections), or of each related connection named.

        `Connection.objects.without_tokens()`; `Post.objects.select_related("connection").without_tokens("connection")`.
        Pages, the admin, pauses and the pipeline's lookups never need the tokens, and a token no key
        decrypts must not break them. (A deferred column still loads if read.)
        """
        paths = relations or ("",)
        return self.defer(*(f"{path}__{name}" if path else name for path in paths for name in TOKEN_FIELDS))


class Tenant(models.Model):
    """A customer organisation; every user-facing row belongs to exactly one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class MembershipManager(models.Manager):
    def tenant_of(self, user) -> "Tenant | None":
        """The tenant the user acts in: their first membership; None for anonymous or membership-less users.

        Remembered on the user object, so a request asks the database once.
        """
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if not hasattr(user, _TENANT_CACHE_ATTR):
            membership = self.filter(user_id=user.pk).select_related("tenant").order_by("created_at", "pk").first()
            setattr(user, _TENANT_CACHE_ATTR, membership.tenant if membership else None)
        return getattr(user, _TENANT_CACHE_ATTR)


class Membership(models.Model):
    """A user's role in a tenant. A user acts within one tenant (their first membership)."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_user_tenant")]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"


class Connection(models.Model):
    """A tenant's authorised link to one partner account (a Page, a profile, a location, an audience)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ATTENTION = "attention", "Needs reconnect"
        PAUSED = "paused", "Paused"
        REVOKED = "revoked", "Revoked"
        INACTIVE = "inactive", "Inactive"

    class Health(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    # What kind of partner account this is where a partner has several
    # (meta: facebook_page or instagram_business); blank otherwise.
    account_type = models.CharField(max_length=40, blank=True)
    external_account_id = models.CharField(max_length=200)
    external_account_name = models.CharField(max_length=300, blank=True)
    # The email address the user signed in to the partner with, where the partner tells us (Google, with the
    # `email` scope): sent as the account hint (login_hint) on a reconnect, so the same account is preselected.
    account_email = models.EmailField(blank=True)
    # The partner's id of the user who signed in, where the partner's webhooks name the user rather than the
    # account (Meta: the app-scoped user id GET /me answers, named by the Deauthorize, Data Deletion and
    # permissions webhooks, while external_account_id holds the Page or Instagram account). NULL: not known
    # (never ""). Nullable without a default so adding it is a plain ADD COLUMN, also on SQLite, whose
    # table rebuild the post triggers of migration 0002 would refuse.
    partner_user_id = models.CharField(max_length=200, null=True, blank=True)
    granted_scopes = models.JSONField(default=list, blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    health_status = models.CharField(max_length=20, choices=Health.choices, default=Health.HEALTHY)
    pause_reason = models.CharField(max_length=40, blank=True)  # an error code of the taxonomy
    pause_description = models.TextField(blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    # When token upkeep last took this connection's refresh on (recovery/token_upkeep.py): not again
    # before TOKEN_REFRESH_RETRY_S, so a transient failure is retried later, never in a loop.
    refresh_claimed_at = models.DateTimeField(null=True, blank=True)
    # The date the user was told (by mail) this connection stops working unless they reconnect: once per date.
    reconnect_notice_for = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TokenlessQuerySet.as_manager()

    # Statuses in which a connection counts as paused: it publishes nothing until resumed or reconnected
    # (ops' paused view, the banner, the pings).
    PAUSED_STATUSES = (Status.ATTENTION, Status.PAUSED)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "platform", "external_account_id"], name="connection_unique_account_per_tenant"
            ),
            # The target of the posts' (connection, tenant) foreign key: a post's connection is its tenant's.
            models.UniqueConstraint(fields=["id", "tenant"], name="connection_unique_id_tenant"),
        ]
        indexes = [
            # The linked-accounts page and the publish job: a tenant's connections by status.
            models.Index(fields=["tenant", "status"], name="conn_tenant_status_idx"),
            # Ops' paused view: paused/attention connections, oldest pause first.
            models.Index(fields=["status", "paused_at"], name="conn_status_paused_at_idx"),
            # Token upkeep: a platform's active connections whose access token ends soon.
            models.Index(
                fields=["platform", "token_expires_at"], condition=Q(status="active"), name="conn_token_expiry_idx"
            ),
            # Expiry notices: tokens without a refresh token (Meta, LinkedIn without programmatic refresh) ending soon.
            models.Index(
                fields=["token_expires_at"],
                condition=Q(status="active", refresh_token=""),
                name="conn_no_refresh_expiry_idx",
            ),
            # Expiry notices: refresh tokens whose life a refresh does not extend (LinkedIn) ending soon.
            models.Index(
                fields=["refresh_token_expires_at"], condition=Q(status="active"), name="conn_refresh_expiry_idx"
            ),
            # Webhooks: find the connections of a partner account, or of the partner user who signed in.
            models.Index(fields=["platform", "external_account_id"], name="conn_platform_account_idx"),
            models.Index(
                fields=["platform", "partner_user_id"], condition=Q(partner_user_id__isnull=False), name="conn_platform_user_idx"
            ),
        ]

    def __str__(self):
        return f"{self.get_platform_display()}: {self.external_account_name or self.external_account_id}"

    @property
    def is_paused(self) -> bool:
        return self.status in self.PAUSED_STATUSES


class PingSchedule(models.Model):
    """When a connection is next pinged (recovery/pings.py): one row per connection, made with it.

    A table of its own because the ping scheduler rewrites this time for every ping: on the
    connection's row, whose index holds it, each rewrite would be a non-HOT update that inserts
    into every one of the connection table's ten indexes; here it inserts into two
    (bench/bench_pings.py has the figures).
    """

    connection = models.OneToOneField(
        Connection, on_delete=models.CASCADE, primary_key=True, related_name="ping_schedule"
    )
    # A new row is due at once.
    next_ping_at = models.DateTimeField(db_default=Now())
    # Pings that failed in a row; 0 after a success (the connection's health: warning, then critical).
    failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            # The ping scheduler: rows whose next ping is due, oldest first.
            models.Index(fields=["next_ping_at"], name="ping_schedule_due_idx"),
        ]

    def __str__(self):
        return f"ping of connection {self.connection_id} at {self.next_ping_at:%Y-%m-%d %H:%M}"


class ConnectionAudit(models.Model):
    """One thing that happened to a connection. Append-only: never updated or deleted by the app."""

    class Action(models.TextChoices):
        CONNECT = "connect", "Connected"
        AUTO_PAUSE = "auto_pause", "Auto-paused"
        PAUSE = "pause", "Paused by ops"
        RESUME = "resume", "Resumed"
        REVOKE = "revoke", "Revoked"
        REFRESH = "refresh", "Token refreshed"
        REFRESH_FAILED = "refresh_failed", "Token refresh failed"
        RECONNECT = "reconnect", "Reconnected"
        PING_OK = "ping_ok", "Ping succeeded"
        PING_FAILED = "ping_failed", "Ping failed"
        BREAKER_OPEN = "breaker_open", "Circuit opened"
        BREAKER_HALF_OPEN = "breaker_half_open", "Circuit half-open"
        BREAKER_CLOSED = "breaker_closed", "Circuit closed"
        WEBHOOK = "webhook", "Partner webhook"
        SCOPES_MISSING = "scopes_missing", "Scopes missing"
        EXPIRY_NOTICE = "expiry_notice", "Told to reconnect before expiry"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="audits")
    action = models.CharField(max_length=40, choices=Action.choices)
    details = models.JSONField(default=dict, blank=True)
    # Who did it: "system", "user:<id>", "ops:<username>", "partner:<platform>".
    actor = models.CharField(max_length=150, default="system")
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)

    objects = TokenlessQuerySet.as_manager()

    class Meta:
        indexes = [
            # The admin inline and the connection history: a connection's rows, newest first.
            models.Index(fields=["connection", "-created_at"], name="audit_conn_created_idx"),
            # Ops and the weekly summary: rows of one action over a time range.
            models.Index(fields=["action", "created_at"], name="audit_action_created_idx"),
            # The weekly summary: a connection's pauses and resumes (STATE_ACTIONS) by time, for the pause
            # before a resume and whether a post came due while its channel was paused. Small: only these rows.
            models.Index(
                fields=["connection", "created_at"],
                condition=Q(action__in=["auto_pause", "pause", "revoke", "resume"]),
                name="audit_conn_state_idx",
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class Post(models.Model):
    """What a user scheduled to go out on one connection."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        STORY = "story", "Story"
        CAROUSEL = "carousel", "Carousel"
        REEL = "reel", "Reel"
        EMAIL = "email", "Email campaign"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHING = "publishing", "Publishing"
        PUBLISHED = "published", "Published"
        WAITING_RECONNECT = "waiting_reconnect", "Waiting for reconnect"
        UNCONFIRMED = "unconfirmed", "Outcome unknown"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead-lettered"
        # Came due while its channel was paused, and the user chose not to send it (recovery.backfill).
        SKIPPED = "skipped", "Skipped"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="posts")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="posts")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEXT)
    content = models.TextField(blank=True)
    # Media items: [{"url": ..., "type": "image"|"video", "size_bytes": ..., "duration_s": ..., "format": ...}]
    media = models.JSONField(default=list, blank=True)
    scheduled_at = models.DateTimeField()
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=40, blank=True)
    last_error_message = models.TextField(blank=True)
    partner_post_id = models.CharField(max_length=200, blank=True)
    # Sent to partners that accept one, and used to find a post whose publish outcome is unknown.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True)
    # Who chose to skip it after a pause (recovery.backfill), and when.
    skipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skipped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TokenlessQuerySet.as_manager()

    class Meta:
        indexes = [
            # The publish sweep: posts left publishing past their lease (a status prefix); the admin's status filter.
            models.Index(fields=["status", "scheduled_at"], name="post_status_scheduled_idx"),
            # The due-post enqueuer (recovery/due_posts.py): the walk to the next tenant with an unplanned
            # scheduled post (min tenant_id > cursor), then that tenant's oldest due ones (scheduled_at <= now,
            # LIMIT share). Only posts without a planned job are in it, so what is already queued costs nothing.
            models.Index(
                fields=["tenant", "scheduled_at", "id"],
                name="post_unplanned_by_tenant_idx",
                condition=models.Q(status="scheduled", next_attempt_at__isnull=True),
            ),
            # The due-post enqueuer: scheduled posts whose planned job never ran (next_attempt_at < now - grace).
            models.Index(
                fields=["next_attempt_at"],
                name="post_planned_idx",
                condition=models.Q(status="scheduled", next_attempt_at__isnull=False),
            ),
            # Resume and backfill: a connection's posts in one status.
            models.Index(fields=["connection", "status"], name="post_conn_status_idx"),
            # The posts page: a tenant's posts, newest schedule first.
            models.Index(fields=["tenant", "-scheduled_at"], name="post_tenant_scheduled_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} post #{self.pk} ({self.status})"
