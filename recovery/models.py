"""Per-tenant feature flags, the dead-letter queue, and the record of unmapped partner errors."""

from django.conf import settings
from django.db import models
from waffle.models import AbstractUserFlag


class TenantFlag(AbstractUserFlag):
    """A waffle flag that also rolls out per tenant.

    On for a tenant when the tenant is listed in `tenants`, off when listed in
    `excluded_tenants` (the off list wins), otherwise on for a deterministic
    `tenant_percent` of tenants. Extends AbstractUserFlag because waffle's
    signals read `users` at start-up (django-waffle#380).
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
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
