"""Ops and developers set sandbox faults here, and read what the sandbox partners received."""

from django import forms
from django.contrib import admin

from sandbox import faults
from sandbox.models import SandboxAccount, SandboxFault, SandboxRequest


class SandboxFaultForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(kind, kind) for kind in faults.KINDS])
    platform = forms.ChoiceField(choices=[(p, p) for p in faults.PLATFORMS])

    class Meta:
        model = SandboxFault
        fields = ["platform", "account", "kind", "params", "remaining"]
        help_texts = {
            "account": "Empty: every account of the platform.",
            "params": 'e.g. {"scope": "pages_manage_posts"}, {"status": 503}, {"ms": 800}, '
            '{"usage": "business", "regain_minutes": 19}, {"retry_after": 30}.',
            "remaining": "How many requests it answers; empty: until removed.",
        }

    def clean(self):
        data = super().clean()
        account = data.get("account")
        if account and account.platform != data.get("platform"):
            raise forms.ValidationError("The account belongs to another platform.")
        params = data.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise faults.FaultError("params must be a JSON object of name: value.")
            faults.validate_fault(data.get("platform", ""), data.get("kind", ""), params)
            faults.validate_count(data.get("remaining"))
        except faults.FaultError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(SandboxFault)
class SandboxFaultAdmin(admin.ModelAdmin):
    form = SandboxFaultForm
    list_display = ["platform", "account", "kind", "params", "remaining", "created_at"]
    list_filter = ["platform", "kind"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):
    list_display = ["platform", "account_id", "name", "account_type", "restricted", "deleted"]
    list_filter = ["platform", "restricted", "deleted"]
    search_fields = ["account_id", "name"]


@admin.register(SandboxRequest)
class SandboxRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "platform", "method", "path", "status", "fault", "account"]
    list_filter = ["platform", "status", "fault"]
    list_select_related = ["account"]
    search_fields = ["path"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
