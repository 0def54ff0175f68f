"""The ops pages of the insights app (staff only, server-rendered; charts are inline SVG)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from insights.charts import stacked_bars
from insights.health import health_overview


@staff_member_required
def health(request):
    """The health overview: the numbers a Datadog dashboard shows, each linking to the admin list behind it."""
    overview = health_overview()
    auth = overview.auth_errors
    chart = stacked_bars([f"{day:%a %d}" for day in auth.days], auth.by_platform)
    context = {
        **admin.site.each_context(request),
        "title": "Health overview",
        "overview": overview,
        "auth_chart": chart,
    }
    return render(request, "insights/health.html", context)
