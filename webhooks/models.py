"""Partner webhook events: each verified delivery, stored before it is answered, and what processing made of it."""

from django.db import models
from django.utils import timezone

from connections.models import Platform


class WebhookEvent(models.Model):
    """One verified delivery of a partner webhook (docs/webhooks.md).

    Stored by the receiver before it answers (so nothing acknowledged is lost),
    at most once per (platform, event_id): a partner's redelivery of the same
    event finds its row and is not processed again. Processing (webhooks.services)
    fills in the outcome; `pending` rows are what the sweeper looks after.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"  # at least one connection was revoked, paused or marked
        NO_CHANGE = "no_change", "No change"  # its connections were already so, or auto-pause is off for them
        IGNORED = "ignored", "Ignored"  # an event type that maps to no action
        UNKNOWN_ACCOUNT = "unknown_account", "Unknown account"  # it names no account connected here
        DEAD = "dead", "Failed (retries used up)"

    platform = models.CharField(max_length=20, choices=Platform.choices)
    # The partner's own id of the event (LinkedIn's notificationId, Pub/Sub's messageId), else
    # "sha256:<hex>" of the raw body: a redelivery carries the same id or the same bytes.
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)  # the verified body, parsed (signatures and tokens left out)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    attempts = models.PositiveIntegerField(default=0)  # failed processing attempts so far
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # when a failed processing is retried
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # masked (config.redaction)
    details = models.JSONField(default=dict, blank=True)  # what processing did, per connection

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "event_id"], name="webhook_event_unique_per_platform"),
        ]
        indexes = [
            # The drain and the sweeper: events still pending, in id order (a small partial index: most rows are done).
            models.Index(fields=["id"], condition=models.Q(outcome="pending"), name="webhook_event_pending_idx"),
            # The admin's list: newest first (its platform, outcome and age filters walk this too). Every
            # index is paid on each webhook's INSERT, while the partner waits: no more than these.
            models.Index(fields=["-received_at"], name="webhook_event_received_idx"),
        ]
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.get_platform_display()} {self.event_type} ({self.received_at:%Y-%m-%d %H:%M:%S})"
