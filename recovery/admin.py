"""Ops' admin for the recovery app."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST
from waffle.admin import FlagAdmin

from config.admin_filters import AgeListFilter
from recovery.deadletter import (
    DeadLetterNotRequeueable,
    dead_letter_discard,
    dead_letter_requeue,
    dead_letter_resolve,
)
from recovery.flags import flags_for_tenant
from recovery.models import DECISION_ORDER, DeadLetter, FailureEvent, TenantFlag, UnmappedError
from recovery.unmapped import unmapped_mark_mapped


@admin.register(TenantFlag)
class TenantFlagAdmin(FlagAdmin):
    """Waffle's flag admin plus the per-tenant rollout: on list, off list, percentage of tenants.

    Saving flushes the flag's cache entries on commit (waffle's save and
    recovery.receivers), so every web and worker process sees the change at once.
    """

    list_display = ("name", "everyone", "tenant_percent", "listed_on", "listed_off", "modified", "note")
    list_filter = ("everyone",)
    ordering = ("name",)
    filter_horizontal = ("tenants", "excluded_tenants")
    fieldsets = (
        (None, {"fields": ("name", "note")}),
        (
            "Per-tenant rollout",
            {
                "description": f"First match wins: {DECISION_ORDER} See docs/flags.md.",
                "fields": ("everyone", "tenants", "excluded_tenants", "tenant_percent"),
            },
        ),
        (
            "Waffle's per-user rules (only for users with no tenant, such as operators)",
            {
                "classes": ("collapse",),
                "fields": ("superusers", "staff", "authenticated", "users", "groups", "percent", "testing", "rollout", "languages"),
            },
        ),
    )

    def get_queryset(self, request):
        # The list's counts in the list's one query, not one per row.
        return (
            super()
            .get_queryset(request)
            .annotate(
                listed_on_count=Count("tenants", distinct=True),
                listed_off_count=Count("excluded_tenants", distinct=True),
            )
        )

    @admin.display(description="Tenants listed on", ordering="listed_on_count")
    def listed_on(self, flag):
        return flag.listed_on_count

    @admin.display(description="Tenants listed off", ordering="listed_off_count")
    def listed_off(self, flag):
        return flag.listed_off_count


def flags_for_tenant_table(tenant_id: int | None):
    """An HTML table of every flag, on or off for the tenant, and why (for the tenant's admin page)."""
    if tenant_id is None:
        return "Shown once the tenant is saved."
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td><strong>{}</strong></td><td>{}</td></tr>',
        ((name, "on" if decision.on else "off", decision.reason) for name, decision in flags_for_tenant(tenant_id)),
    )
    return format_html(
        '<table class="tenant-flags"><thead><tr><th>Flag</th><th>For this tenant</th><th>Why</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        rows,
    )


@admin.register(UnmappedError)
class UnmappedErrorAdmin(admin.ModelAdmin):
    """Partner errors the classifier called UNKNOWN, one row per body shape, for ops to map.

    Rows come only from the classifier (recovery.unmapped); ops read the masked
    sample and tick "mapped" once a rule and a test cover the error.
    """

    list_display = ("platform", "http_status", "count", "first_seen_at", "last_seen_at", "mapped", "short_signature")
    list_filter = ("mapped", "platform", "http_status")
    search_fields = ("signature", "sample_body")
    ordering = ("mapped", "-last_seen_at")
    date_hierarchy = "last_seen_at"
    actions = ("mark_mapped",)
    fields = ("platform", "http_status", "signature", "count", "first_seen_at", "last_seen_at", "mapped", "sample")
    readonly_fields = ("platform", "http_status", "signature", "count", "first_seen_at", "last_seen_at", "sample")

    def has_add_permission(self, request):
        return False

    @admin.display(description="Signature")
    def short_signature(self, row):
        return row.signature[:12]

    @admin.display(description="Sample body (secrets masked)")
    def sample(self, row):
        return format_html('<pre style="white-space: pre-wrap; max-width: 60em">{}</pre>', row.sample_body)

    @admin.action(description="Mark selected errors as mapped")
    def mark_mapped(self, request, queryset):
        count = unmapped_mark_mapped(queryset)
        self.message_user(request, f"{count} unmapped error(s) marked as mapped.")


class DeadLetterAgeFilter(AgeListFilter):
    """How long ago the job last failed."""

    field_name = "last_failed_at"


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """The dead-letter queue: jobs that failed for good, with their classification.

    Requeue sends a job through its pipeline again (recovery.deadletter); discard
    and resolve close a letter with who and when. Letters are a record: no add,
    no edit, no delete. The detail page has the three as buttons (the same
    services), and shows what became of the job since its last requeue.
    """

    list_display = (
        "id", "last_failed_at", "tenant", "platform", "error_code", "job_kind", "status", "attempts", "age", "resolution",
    )
    list_filter = (
        ("tenant", admin.RelatedOnlyFieldListFilter), "platform", "error_code", "status", DeadLetterAgeFilter,
    )
    list_select_related = ("tenant",)
    search_fields = ("error_code", "classification__partner_message")
    ordering = ("-last_failed_at",)
    actions = ("requeue", "discard", "resolve")
    fieldsets = (
        (None, {"fields": ("job_kind", "status", "tenant", "connection", "post", "platform", "error_code")}),
        ("Failure", {"fields": ("attempts", "first_failed_at", "last_failed_at", "user_message", "classification_json")}),
        ("Job", {"fields": ("payload_json",)}),
        ("Handled", {"fields": ("resolved_by", "resolved_at", "recovered_at", "resolution", "requeues", "job_now",
                                "created_at")}),
    )
    change_form_template = "admin/recovery/deadletter/change_form.html"
    readonly_fields = (
        "job_kind", "status", "tenant", "connection", "post", "platform", "error_code", "attempts",
        "first_failed_at", "last_failed_at", "user_message", "classification_json", "payload_json",
        "resolved_by", "resolved_at", "recovered_at", "resolution", "requeues", "job_now", "created_at",
    )

    def get_queryset(self, request):
        # The detail page names the connection: load it without its token columns.
        return (
            super()
            .get_queryset(request)
            .select_related("tenant", "connection", "post")
            .without_tokens("connection")
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="The job now")
    def job_now(self, letter):
        """Where the letter's post stands now: after a requeue, whether anything ran and how it ended."""
        post = letter.post
        if post is None:
            return "-"
        outcome = f"post #{post.pk}: {post.get_status_display()}, {post.attempts} attempt{'s' if post.attempts != 1 else ''}"
        if post.last_error_code:
            outcome += f", last error {post.last_error_code}"
        if post.published_at:
            outcome += f", published {post.published_at:%Y-%m-%d %H:%M} UTC"
        return outcome

    def get_urls(self):
        buttons = [
            path(f"<int:pk>/{name}/", self.admin_site.admin_view(require_POST(self._button_view)), {"name": name},
                 name=f"recovery_deadletter_{name}")
            for name in self._BUTTONS
        ]
        return [*buttons, *super().get_urls()]

    # button name -> (service, past tense for the message)
    _BUTTONS = {"requeue": (dead_letter_requeue, "requeued"), "discard": (dead_letter_discard, "discarded"),
                "resolve": (dead_letter_resolve, "resolved")}

    _BUTTON_LABELS = {"requeue": "Requeue: run it again", "discard": "Discard", "resolve": "Resolve: fixed another way"}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        buttons = [
            (reverse(f"admin:recovery_deadletter_{name}", args=[object_id]), label)
            for name, label in self._BUTTON_LABELS.items()
        ] if str(object_id).isdigit() else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "dead_letter_buttons": buttons})

    def _button_view(self, request, pk, name):
        """One letter's requeue, discard or resolve button: the same service as the bulk action, then back to it."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        letter = get_object_or_404(DeadLetter, pk=pk)
        service, done = self._BUTTONS[name]
        try:
            changed = service([letter.pk], user=request.user)
        except DeadLetterNotRequeueable as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
        else:
            if changed:
                self.message_user(request, f"Letter {letter.pk} {done}.", level=messages.SUCCESS)
            else:
                self.message_user(request, f"Letter {letter.pk} is {letter.get_status_display().lower()}, "
                                           "not open: left as it is.", level=messages.WARNING)
        return redirect(reverse("admin:recovery_deadletter_change", args=[letter.pk]))

    @admin.display(description="Resolved in")
    def resolution(self, letter):
        """Dead-lettered to discarded or resolved, or to its requeued job's success (DeadLetter.resolution_time)."""
        waited = letter.resolution_time
        if waited is None:
            return "waiting for the requeued job" if letter.status == DeadLetter.Status.REQUEUED else "-"
        return timesince(letter.last_failed_at, letter.closed_at)

    @admin.display(description="Age", ordering="last_failed_at")
    def age(self, letter):
        # The same age the filter uses: since the job last failed (a reopened letter is young again).
        return timesince(letter.last_failed_at)

    @admin.display(description="What the user is told")
    def user_message(self, letter):
        details = letter.classification or {}
        return f"{details.get('user_message', '')} {details.get('recovery_action', '')}".strip()

    @admin.display(description="Classification")
    def classification_json(self, letter):
        return format_html("<pre>{}</pre>", json.dumps(letter.classification, indent=2, sort_keys=True))

    @admin.display(description="Payload")
    def payload_json(self, letter):
        return format_html("<pre>{}</pre>", json.dumps(letter.payload, indent=2, sort_keys=True))

    def _bulk(self, request, queryset, name):
        selected = list(queryset.values_list("pk", flat=True))  # read before the change (filters may stop matching)
        service, done = self._BUTTONS[name]
        try:
            changed = service(selected, user=request.user)
        except DeadLetterNotRequeueable as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return
        text = f"{changed} letter{'s' if changed != 1 else ''} {done}."
        left = len(selected) - changed
        if left:
            text += f" {left} {'was' if left == 1 else 'were'} not open and left as {'it was' if left == 1 else 'they were'}."
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)

    @admin.action(description="Requeue: run the selected jobs again through the pipeline")
    def requeue(self, request, queryset):
        self._bulk(request, queryset, "requeue")

    @admin.action(description="Discard: close without running again")
    def discard(self, request, queryset):
        self._bulk(request, queryset, "discard")

    @admin.action(description="Resolve: the problem was fixed another way")
    def resolve(self, request, queryset):
        self._bulk(request, queryset, "resolve")


@admin.register(FailureEvent)
class FailureEventAdmin(admin.ModelAdmin):
    """The failure log (recovery.failure_events): each classified failure a service acted on, and each
    publish held back. Read-only: rows come only from the services; the weekly summary counts them and
    its ops page links here."""

    list_display = ("created_at", "tenant", "platform", "source", "code", "partner_code", "decision", "connection_id", "post_id")
    list_filter = ("decision", "source", "platform", "code")
    list_select_related = ("tenant",)
    search_fields = ("partner_code",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_full_result_count = False  # the log grows by the million: no COUNT(*) of the whole table per page

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
