"""List filters the ops admin pages share."""

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone


class AgeListFilter(admin.SimpleListFilter):
    """How long ago a row's time was: the last hour, 24 hours, 7 days, or older. Subclasses name the field."""

    title = "age"
    parameter_name = "age"
    field_name = ""  # the DateTimeField the age is read from
    _BOUNDS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return (("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("older", "Older than 7 days"))

    def queryset(self, request, queryset):
        value, now = self.value(), timezone.now()
        if value in self._BOUNDS:
            return queryset.filter(**{f"{self.field_name}__gte": now - self._BOUNDS[value]})
        if value == "older":
            return queryset.filter(**{f"{self.field_name}__lt": now - self._BOUNDS["7d"]})
        return queryset
