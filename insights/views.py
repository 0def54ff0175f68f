"""Pages of the insights app: the ops pages (staff only) and a tenant's Advisor. Server-rendered; charts are inline SVG."""

from __future__ import annotations

from datetime import date

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from connections.queries import tenant_for_user
from insights.charts import stacked_bars
from insights.health import health_overview
from insights.weekly import week_start_of
from insights.weekly_pages import ops_weekly, tenant_advisor
from recovery.flags import WEEKLY_SUMMARY_ENABLED, flag_is_on_for_request


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


def _week_asked(request) -> date | None:
    """The week of ?week=YYYY-MM-DD (any day of it), or None for the latest; 404 for a date that is none."""
    text = request.GET.get("week")
    if not text:
        return None
    try:
        return week_start_of(date.fromisoformat(text))
    except ValueError:
        raise Http404("No such week.") from None


@staff_member_required
@require_GET
def weekly(request):
    """The weekly summary across tenants: top issues, the figures with the week before, unmapped shapes, the chart."""
    context = {
        **admin.site.each_context(request),
        "title": "Weekly summary",
        "page": ops_weekly(_week_asked(request)),
    }
    return render(request, "insights/weekly.html", context)


@login_required
@require_GET
def advisor(request):
    """The tenant's Advisor: its week's insights (what to do, and where), its numbers, its failures over the weeks.

    404 without a tenant (an operator without membership) or with WEEKLY_SUMMARY_ENABLED off for it.
    """
    tenant = tenant_for_user(request.user)
    if tenant is None or not flag_is_on_for_request(request, WEEKLY_SUMMARY_ENABLED):
        raise Http404("No Advisor here.")
    page = tenant_advisor(tenant.pk, _week_asked(request))
    if page is None and request.GET.get("week"):
        raise Http404("No summary of that week.")
    return render(request, "insights/advisor.html", {"page": page})
