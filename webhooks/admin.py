"""Ops' admin for partner webhooks: every stored event, what processing made of it, and a replay."""

import json
from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from config.redaction import mask_value
from webhooks.mapping import intents_for
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_replay


class WebhookEventAgeFilter(admin.SimpleListFilter):
    """How long ago the event arrived."""

    title = "age"
    parameter_name = "age"
    _BOUNDS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return (("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("older", "Older than 7 days"))

    def queryset(self, request, queryset):
        value, now = self.value(), timezone.now()
        if value in self._BOUNDS:
            return queryset.filter(received_at__gte=now - self._BOUNDS[value])
        if value == "older":
            return queryset.filter(received_at__lt=now - self._BOUNDS["7d"])
        return queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """Partner webhook events as received (verified), newest first.

    Events are a record: no add, no edit, no delete. The payload is shown with
    secrets masked (config.redaction). Replay runs the selected events through the
    same processing service as the queue (webhooks.services), whatever they came to
    before: after a rule was fixed, or a connection was created for an unknown account.
    """

    list_display = ("received_at", "platform", "event_type", "outcome", "attempts", "processed_at", "age")
    list_filter = ("platform", "outcome", WebhookEventAgeFilter)
    search_fields = ("event_type", "event_id")
    ordering = ("-received_at", "-id")
    actions = ("replay",)
    fields = ("platform", "event_type", "event_id", "received_at", "outcome", "attempts", "next_attempt_at",
              "processed_at", "last_error", "accounts", "details_json", "payload_json")
    readonly_fields = fields
    show_full_result_count = False  # the count of a large table costs a full scan on every page

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)  # the list's action, never an edit

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Age", ordering="received_at")
    def age(self, event):
        return timesince(event.received_at)

    @admin.display(description="Accounts it names (and what it asks)")
    def accounts(self, event):
        intents = intents_for(event.platform, event.event_type, event.payload)
        if not intents:
            return "- (this event type changes no connection)"
        return "; ".join(f"{intent.account_id}: {intent.action.value}"
                         f"{' ' + intent.code.value if intent.code else ''}" for intent in intents)

    @admin.display(description="What processing did")
    def details_json(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.details, indent=2, sort_keys=True))

    @admin.display(description="Payload (secrets masked)")
    def payload_json(self, event):
        masked = mask_value(event.payload)
        return format_html('<pre style="white-space: pre-wrap; max-width: 80em">{}</pre>',
                           json.dumps(masked, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.action(description="Replay: process the selected events again")
    def replay(self, request, queryset):
        selected = list(queryset.values_list("pk", flat=True))
        counts = webhook_events_replay(selected, actor=f"ops:{request.user.get_username()}")
        summary = ", ".join(f"{count} {outcome.replace('_', ' ')}" for outcome, count in sorted(counts.items()))
        self.message_user(request, f"{len(selected)} event{'s' if len(selected) != 1 else ''} replayed: {summary}.",
                          messages.SUCCESS)
