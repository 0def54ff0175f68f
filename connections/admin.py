"""Ops' view of tenants, connections, their audit log and posts.

- Tokens never appear: the token columns are excluded from every form and
  display, and not even loaded (a token no key decrypts must not break ops'
  pages; a form save then writes only the loaded columns).
- Ops cannot put a connection or a post into a state the pipeline does not
  know: everything the pipeline reads (status, pause fields, tenant, account,
  granted scopes, a post's status, attempts and retry times) is read-only
  here. Connections change through the actions (pause, resume), which call the
  services (recovery.autopause) and write audit rows; connections and posts are
  created by the connect flow and the post form, through the services, never
  here. Only a connection's display name is edited in place.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from connections.models import TOKEN_FIELDS, Connection, ConnectionAudit, Membership, PingSchedule, Post, Tenant
from recovery.admin import flags_for_tenant_table
from recovery.autopause import (
    auto_pause_connection,
    build_pause_reason,
    get_paused_connections,
    pause_reason_codes,
    resume_connection,
)


def ops_actor(request) -> str:
    return f"ops:{request.user.get_username()}"


def format_age(delta: timedelta) -> str:
    """A short age for ops: "42 s" under a minute, "12 min", "3 h 12 min", "2 d 4 h"."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]
    readonly_fields = ("rollout_flags",)

    @admin.display(description="Rollout flags")
    def rollout_flags(self, tenant):
        """Each flag, on or off for this tenant, and the rule that decided it (recovery.flags)."""
        return flags_for_tenant_table(tenant.pk)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__username", "user__email", "tenant__name")
    list_select_related = ("user", "tenant")
    autocomplete_fields = ("user", "tenant")


# The change page shows the newest audit rows only: a connection pinged every
# few hours gathers thousands; the full log is one link away.
INLINE_AUDIT_LIMIT = 50


class NewestAuditsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        return super().get_queryset()[:INLINE_AUDIT_LIMIT]


class ConnectionAuditInline(admin.TabularInline):
    """The connection's newest history, newest first; append-only, so nothing here can be added, changed or deleted."""

    model = ConnectionAudit
    formset = NewestAuditsFormSet
    verbose_name_plural = f"audit log (newest {INLINE_AUDIT_LIMIT})"
    fields = ("created_at", "action", "actor", "details")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PauseActionForm(ActionForm):
    """The changelist's action bar with a reason for "Pause (ops)"."""

    reason = forms.ChoiceField(
        label="Pause reason:",
        required=False,
        choices=[("", "---------")] + [(code.value, code.value) for code in pause_reason_codes()],
    )


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "tenant",
        "platform",
        "external_account_name",
        "status",
        "health_status",
        "last_ping_at",
        "pause_reason",
        "paused_at",
    )
    list_filter = ("tenant", "platform", "status", "health_status", "pause_reason")
    search_fields = ("external_account_id", "partner_user_id", "external_account_name", "tenant__name")
    list_select_related = ("tenant",)
    ordering = ("tenant__name", "platform", "external_account_name", "pk")
    exclude = TOKEN_FIELDS
    readonly_fields = (
        "tenant",
        "platform",
        "account_type",
        "external_account_id",
        "partner_user_id",
        "granted_scopes",
        "token_expires_at",
        "refresh_token_expires_at",
        "status",
        "health_status",
        "pause_reason",
        "pause_description",
        "paused_at",
        "last_ping_at",
        "next_ping",
        "refresh_claimed_at",
        "reconnect_notice_for",
        "created_at",
        "updated_at",
        "audit_log",
    )
    inlines = [ConnectionAuditInline]
    action_form = PauseActionForm
    actions = ["pause_ops", "resume_ops"]
    change_list_template = "admin/connections/connection/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).without_tokens()

    def has_add_permission(self, request):
        return False  # connections come from the connect flow (connections.services.connection_create)

    @admin.display(description="Next ping")
    def next_ping(self, connection):
        schedule = PingSchedule.objects.filter(connection_id=connection.pk).first()
        if schedule is None:
            return "-"
        failed = f" ({schedule.failures} failed in a row)" if schedule.failures else ""
        return f"{schedule.next_ping_at:%Y-%m-%d %H:%M:%S %Z}{failed}"

    @admin.display(description="Audit log")
    def audit_log(self, connection):
        url = reverse("admin:connections_connectionaudit_changelist")
        return format_html('<a href="{}?connection__id__exact={}">All audit rows of this connection</a>', url, connection.pk)

    def get_urls(self):
        paused = path(
            "paused/",
            self.admin_site.admin_view(self.paused_view),
            name="connections_connection_paused",
        )
        return [paused, *super().get_urls()]

    def paused_view(self, request):
        """Paused and needs-reconnect connections across tenants, oldest pause first."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        rows = [
            {"connection": connection, "age": format_age(now - connection.paused_at) if connection.paused_at else "?"}
            for connection in get_paused_connections()
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Paused connections",
            "rows": rows,
        }
        return TemplateResponse(request, "admin/connections/connection/paused.html", context)

    @admin.action(description="Pause (ops)", permissions=["change"])
    def pause_ops(self, request, queryset):
        code = request.POST.get("reason", "")
        try:
            reason = build_pause_reason(code)
        except ValueError:
            self.message_user(request, "Choose a pause reason next to the action, then Go.", messages.ERROR)
            return
        # The selection is read once, before anything changes: a changelist filtered by status
        # would otherwise count fewer rows afterwards than were selected.
        selected = list(queryset.values_list("pk", "tenant_id"))
        changed = sum(
            auto_pause_connection(
                tenant_id, pk, reason, actor=ops_actor(request), audit_action=ConnectionAudit.Action.PAUSE
            ).changed
            for pk, tenant_id in selected
        )
        self._report(request, "Paused", changed, len(selected) - changed, "was not active")

    @admin.action(description="Resume", permissions=["change"])
    def resume_ops(self, request, queryset):
        selected = list(queryset.values_list("pk", "tenant_id"))
        changed = sum(resume_connection(tenant_id, pk, actor=ops_actor(request)).changed for pk, tenant_id in selected)
        self._report(request, "Resumed", changed, len(selected) - changed, "was not paused")

    def _report(self, request, verb, changed, unchanged, why):
        text = f"{verb} {changed} connection{'s' if changed != 1 else ''}."
        if unchanged:
            text += f" {unchanged} left as {'they were' if unchanged != 1 else 'it was'} ({why})."
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)


@admin.register(ConnectionAudit)
class ConnectionAuditAdmin(admin.ModelAdmin):
    """The audit log, read-only: rows are written by the services only."""

    list_display = ("created_at", "connection", "tenant_name", "action", "actor")
    list_filter = ("action", "connection__platform")  # the health page links to a platform's rows
    search_fields = ("connection__external_account_name", "connection__tenant__name", "actor")
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection__tenant").without_tokens("connection")

    @admin.display(description="Tenant", ordering="connection__tenant__name")
    def tenant_name(self, audit):
        return audit.connection.tenant.name

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    """Posts as the pipeline left them, read-only: the pipeline, the user's pages and the dead-letter queue move them."""

    list_display = ("__str__", "tenant", "connection", "kind", "status", "scheduled_at", "attempts", "last_error_code")
    list_filter = ("tenant", "status", "kind", "connection__platform")
    search_fields = ("content",)
    date_hierarchy = "scheduled_at"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant", "connection").without_tokens("connection")

    def has_add_permission(self, request):
        return False  # posts are created through connections.services.post_create (the post form)

    def has_change_permission(self, request, obj=None):
        return False
