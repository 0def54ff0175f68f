"""Per-tenant feature flags, the dead-letter queue, the record of unmapped partner errors, and the failure log."""

import hashlib
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from waffle.models import AbstractUserFlag
from waffle.utils import get_cache, get_setting, keyfmt

from connections.models import Membership, TokenlessQuerySet

# Where TenantFlag keeps its tenant id lists in waffle's cache, next to waffle's
# own "flag:%s:users" key (keyfmt adds waffle's versioned prefix and hashes).
FLAG_TENANTS_CACHE_KEY = "flag:%s:tenant_lists"


class TenantDecision(NamedTuple):
    """Whether a flag is on for one tenant, and which rule decided it (for the admin and `flags list`)."""

    on: bool
    reason: str


# How a flag decides for a tenant, first match wins: the one statement of the order, shown in the admin
# and in docs/flags.md; TenantFlag.decide_for_tenant is its code.
DECISION_ORDER = (
    "listed off: off (the off list beats everything); "
    "Everyone = No: off (the kill switch beats the on list); "
    "listed on: on; "
    "Everyone = Yes: on; "
    "inside the tenant percentage (a fixed hash of flag and tenant, so raising it never turns a tenant off): on; "
    "otherwise off."
)


class TenantFlag(AbstractUserFlag):
    """A waffle flag that also rolls out per tenant: an on list, an off list and a percentage of tenants.

    The order in which they decide is DECISION_ORDER (decide_for_tenant). Extends
    AbstractUserFlag because waffle's signals read `users` at start-up (django-waffle#380).
    """

    tenants = models.ManyToManyField(
        "connections.Tenant", blank=True, related_name="flags_on", help_text="Tenants this flag is on for."
    )
    excluded_tenants = models.ManyToManyField(
        "connections.Tenant", blank=True, related_name="flags_off", help_text="Tenants this flag is off for, always."
    )
    tenant_percent = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Share of all tenants (0-100) this flag is on for, chosen by a stable hash of flag and tenant.",
    )

    class Meta(AbstractUserFlag.Meta):
        verbose_name = "flag"
        verbose_name_plural = "flags"

    def clean(self):
        super().clean()
        # A range check here rather than field validators: validators would
        # need a migration of a swappable waffle model for no change in data.
        if self.tenant_percent is not None and not (0 <= self.tenant_percent <= 100):
            raise ValidationError({"tenant_percent": "Give a share between 0 and 100."})

    # -- the tenant rule -------------------------------------------------

    def tenant_bucket(self, tenant_id: int) -> int:
        """The tenant's fixed place, 0..999, in this flag's rollout order.

        A SHA-256 of flag name and tenant id, so every process on every machine
        computes the same place (Python's hash() is salted per process), and
        each flag orders tenants differently (the first 10% of one flag are
        not the first 10% of all flags).
        """
        digest = hashlib.sha256(f"{self.name}:{tenant_id}".encode()).hexdigest()
        return int(digest[:8], 16) % 1000

    def tenant_in_percent(self, tenant_id: int) -> bool:
        """Whether the tenant falls in `tenant_percent`: bucket/10 < percent.

        Raising the percentage only adds buckets, so a tenant that was on stays on.
        """
        if not self.tenant_percent:
            return False
        # Compare in tenths, exactly: tenant_percent has one decimal place.
        return self.tenant_bucket(tenant_id) < Decimal(self.tenant_percent) * 10

    def decide_for_tenant(self, tenant_id: int, lists: tuple[frozenset, frozenset] | None = None) -> TenantDecision:
        """The flag's value for one tenant, with the rule that decided it: DECISION_ORDER, in code.

        A flag that does not exist is WAFFLE_FLAG_DEFAULT (off); `everyone` Unknown goes on to the percentage.
        `lists`: tenant_lists() already read, for a caller deciding many tenants at once.
        """
        if not self.pk:
            return TenantDecision(bool(get_setting("FLAG_DEFAULT")), "flag does not exist")
        tenant_id = int(tenant_id)  # an id that arrived as text must still match the lists
        on_ids, off_ids = lists if lists is not None else self.tenant_lists()
        if tenant_id in off_ids:
            return TenantDecision(False, "listed off")
        if self.everyone is False:
            return TenantDecision(False, "everyone off")
        if tenant_id in on_ids:
            return TenantDecision(True, "listed on")
        if self.everyone:
            return TenantDecision(True, "everyone on")
        if self.tenant_percent:
            bucket = self.tenant_bucket(tenant_id)
            inside = self.tenant_in_percent(tenant_id)
            where = "inside" if inside else "outside"
            return TenantDecision(inside, f"percent: bucket {bucket / 10:.1f} {where} {self.tenant_percent}%")
        return TenantDecision(False, "no rule: off")

    def is_active_for_tenant(self, tenant_id: int) -> bool:
        """Whether the flag is on for the tenant (rules in decide_for_tenant)."""
        return self.decide_for_tenant(tenant_id).on

    def is_active(self, request, read_only: bool = False):
        """Waffle's per-request check (flag_is_active, {% flag %}), made to agree with jobs.

        A user who belongs to a tenant gets the tenant rule and nothing else:
        waffle's per-user rules (users, groups, staff, superusers, its random
        cookie percent) would let a page and a job of the same tenant disagree.
        A request with no tenant (anonymous, an operator with no membership)
        falls back to waffle's own rules.
        """
        if self.pk:
            tenant = Membership.objects.tenant_of(getattr(request, "user", None))
            if tenant is not None:
                return self.is_active_for_tenant(tenant.pk)
        return super().is_active(request, read_only=read_only)

    # -- caching -----------------------------------------------------------

    def _tenant_lists_cache_key(self) -> str:
        return keyfmt(FLAG_TENANTS_CACHE_KEY, self.name)

    def tenant_lists(self) -> tuple[frozenset, frozenset]:
        """The ids of the tenants listed on and off, from waffle's cache (two queries when cold).

        Kept in one cache entry so a warm check is two cache reads (the flag
        and this) and no query; the entry is flushed with the flag.
        """
        cache = get_cache()
        key = self._tenant_lists_cache_key()
        cached = cache.get(key)
        if cached is not None:
            return cached
        lists = (
            frozenset(self.tenants.values_list("pk", flat=True)),
            frozenset(self.excluded_tenants.values_list("pk", flat=True)),
        )
        cache.add(key, lists)  # add, as waffle does for its own entries: the first reader's copy stands
        return lists

    def get_flush_keys(self, flush_keys=None):
        """Waffle's keys for this flag (flag, all flags, users, groups) plus the tenant lists."""
        flush_keys = super().get_flush_keys(flush_keys)
        flush_keys.append(self._tenant_lists_cache_key())
        return flush_keys


class DeadLetter(models.Model):
    """A job that failed for good: classified, not retryable or out of retries, kept for ops."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        REQUEUED = "requeued", "Requeued"
        DISCARDED = "discarded", "Discarded"
        RESOLVED = "resolved", "Resolved"

    job_kind = models.CharField(max_length=60)  # e.g. "post_publish", "connection_ping"
    payload = models.JSONField(default=dict, blank=True)  # ids only, never tokens
    tenant = models.ForeignKey("connections.Tenant", on_delete=models.CASCADE, related_name="dead_letters")
    connection = models.ForeignKey(
        "connections.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="dead_letters"
    )
    post = models.ForeignKey(
        "connections.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="dead_letters"
    )
    platform = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=40)
    classification = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requeues = models.PositiveIntegerField(default=0)  # times ops sent the job through its pipeline again
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)  # when ops requeued, discarded or resolved it
    # When the job of a requeued letter then succeeded (its post published): the letter is recovered.
    recovered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TokenlessQuerySet.as_manager()

    class Meta:
        indexes = [
            # The ops list: open letters, oldest failure first.
            models.Index(fields=["status", "last_failed_at"], name="dlq_status_failed_idx"),
            # Filters by code and platform, and the weekly summary's counts.
            models.Index(fields=["error_code", "created_at"], name="dlq_code_created_idx"),
            # A tenant's letters.
            models.Index(fields=["tenant", "status"], name="dlq_tenant_status_idx"),
        ]

    def __str__(self):
        return f"{self.job_kind} {self.error_code} ({self.status})"

    @property
    def closed_at(self):
        """When the letter's problem ended: discarded or resolved by ops, or its requeued job succeeded; else None."""
        if self.status in (self.Status.DISCARDED, self.Status.RESOLVED):
            return self.resolved_at
        if self.status == self.Status.REQUEUED:
            return self.recovered_at
        return None

    @property
    def resolution_time(self):
        """From its (last) dead-lettering to closed_at; None while it is open or its requeued job has not succeeded."""
        closed = self.closed_at
        return closed - self.last_failed_at if closed else None


class UnmappedError(models.Model):
    """A partner error the classifier could only call UNKNOWN, grouped by a signature of its body.

    Ops see these in the admin so that each new partner error is mapped and tested.
    """

    platform = models.CharField(max_length=20)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    signature = models.CharField(max_length=64)  # sha256 of the normalised body shape
    sample_body = models.TextField(blank=True)  # truncated, with ids, timestamps and tokens stripped
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    mapped = models.BooleanField(default=False, help_text="Ticked by ops once the classifier maps it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "http_status", "signature"], name="unmapped_unique_signature"
            )
        ]
        indexes = [
            # The admin list: most recent unmapped errors first.
            models.Index(fields=["mapped", "-last_seen_at"], name="unmapped_recent_idx"),
        ]

    def __str__(self):
        return f"{self.platform} {self.http_status} {self.signature[:10]} x{self.count}"


class ReconnectLink(models.Model):
    """One Reconnect click: the nonce its signed OAuth state carries, and whether a callback used it.

    recovery.reconnect issues one per click and marks it used with a conditional UPDATE on the
    callback, so a link works once, for the user, tenant and connection it was made for.
    """

    nonce = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey("connections.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="reconnect_links")
    scopes = models.JSONField(default=list, blank=True)  # what the partner was asked for
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Clearing out old links: by age.
            models.Index(fields=["created_at"], name="reconnect_link_created_idx"),
        ]

    def __str__(self):
        return f"Reconnect link for connection {self.connection_id} ({'used' if self.used_at else 'unused'})"


class FailureEvent(models.Model):
    """One classified failure of a partner call (or a publish held back), and what the service did with it.

    Append-only: one row per failure, written by recovery.failure_events.failure_event_record where a
    service acts on a classified failure or defers a publish, in the transaction of that action;
    never written when nothing failed. The weekly summary (insights.weekly) counts these; pauses,
    resumes and webhook actions are in the audit log, dead letters in DeadLetter.

    `connection` and `post` are references without a database constraint or an index: the
    log outlives what it names (a deleted post keeps its failures in the week's counts) and an
    insert checks no parent row. The tenant's is a real foreign key: a deleted tenant takes its
    failures with it.
    """

    class Source(models.TextChoices):
        PUBLISH = "publish", "Publish"
        PING = "ping", "Ping"
        REFRESH = "refresh", "Token refresh"
        WEBHOOK = "webhook", "Webhook processing"

    class Decision(models.TextChoices):
        RETRY = "retry", "Retried later"
        PAUSE = "pause", "Channel paused"
        DEAD_LETTER = "dead_letter", "Dead-lettered"
        UNCONFIRMED = "unconfirmed", "Left for the user (outcome unknown)"
        # Marked critical, nothing paused: a pausing failure for a tenant without auto-pause (pings, token upkeep).
        FLAGGED = "flagged", "Connection marked critical"
        # Held back before any call: a token bucket or usage hold (RATE_LIMIT_429) or an open breaker.
        DEFERRED = "deferred", "Deferred"

    tenant = models.ForeignKey(
        "connections.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    connection = models.ForeignKey(
        "connections.Connection", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )
    post = models.ForeignKey(
        "connections.Post", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_constraint=False, db_index=False,
    )
    platform = models.CharField(max_length=20)
    source = models.CharField(max_length=10, choices=Source.choices)
    code = models.CharField(max_length=40)  # a taxonomy code
    # The partner's own code ("190/463"), or the rule that refused a post before any call
    # ("capability:video_max_s"), or why a publish was deferred ("deferred:rate_limit").
    partner_code = models.CharField(max_length=64, blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The weekly summary: every tenant's failures over a week (one range scan, grouped in the database).
            models.Index(fields=["created_at"], name="failure_event_created_idx"),
            # One tenant's failures over time (the Advisor's look back), and deleting a tenant's rows.
            models.Index(fields=["tenant", "created_at"], name="failure_event_tenant_idx"),
        ]

    def __str__(self):
        return f"{self.platform} {self.code} {self.decision} ({self.created_at:%Y-%m-%d %H:%M})"
