"""What the Advisor page (a tenant's) and the weekly ops page show, read from the stored summaries.

- `tenant_advisor(tenant_id, week)`: the tenant's summary of `week` (default: its latest), its
  insights with the live ones (insights.advisor.reconnect_soon_insights) ranked together, the
  week's numbers in the user's words with the week before, and a chart of failures by code over
  CHART_WEEKS weeks. None when the tenant has no summary yet. Three queries and the live ones.
- `ops_weekly(week)`: the overall row of `week` (default: the latest), its insights, the top
  tenants, the new unmapped shapes (each linking to its admin page), the UNKNOWN share week over
  week, and the same chart over every tenant.
Callers check who may see what (the views: a tenant's own members; staff for ops).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.urls import reverse

from insights.advisor import Insight, rank, reconnect_soon_insights
from insights.charts import StackedBars, stacked_bars
from insights.models import WeeklySummary

CHART_WEEKS = 8
CHART_SERIES = 6  # the codes that failed most over the chart's weeks; the rest are "Other"
OTHER = "Other"

# A code in the user's words, for the chart (the taxonomy's own texts are sentences).
CODE_LABELS = {
    "AUTH_EXPIRED": "Sign-in expired",
    "AUTH_REVOKED": "Access removed",
    "AUTH_INVALID": "Sign-in refused",
    "REFRESH_FAILED": "Sign-in not renewed",
    "PERMISSION_INSUFFICIENT": "Missing permission",
    "ACCOUNT_RESTRICTED": "Account restricted",
    "RATE_LIMIT_429": "Rate limited",
    "QUOTA_EXCEEDED": "Posting limit reached",
    "PARTNER_5XX": "Partner error",
    "PARTNER_UNAVAILABLE": "Partner unavailable",
    "NETWORK_ERROR": "Network problem",
    "TIMEOUT": "Partner too slow",
    "SSL_ERROR": "Secure connection failed",
    "VALIDATION_ERROR": "Post not accepted",
    "CONTENT_REJECTED": "Content refused",
    "DUPLICATE_CONTENT": "Duplicate post",
    "MEDIA_ERROR": "Image or video refused",
    "RESOURCE_NOT_FOUND": "Page gone",
    "CONFLICT": "Partner busy",
    "CAPABILITY_UNSUPPORTED": "Post type not available",
    "WEBHOOK_FAILURE": "Partner notice not processed",
    "UNKNOWN": "Unexpected error",
}


@dataclass(frozen=True)
class Number:
    """One of the week's numbers: what it counts, its value in words, and the week before."""

    label: str
    value: str
    before: str
    direction: str  # "up", "down", "same" or "" (no comparison): the page says whether that is good
    good_when_down: bool = True


@dataclass
class AdvisorPage:
    summary: WeeklySummary
    insights: list[Insight]
    numbers: list[Number]
    chart: StackedBars
    weeks: list[date]  # the weeks with a summary, latest first (for the week picker)


@dataclass
class OpsWeeklyPage:
    summary: WeeklySummary
    insights: list[Insight]
    numbers: list[Number]
    chart: StackedBars
    weeks: list[date]
    unmapped: list[dict]  # each new shape with its admin url
    unknown_share_by_week: list[tuple[date, float | None]]
    failures: list[tuple[str, int]]  # (platform:code, failures), most first


def duration_words(seconds: float | None) -> str:
    """A duration as people say it: "45 minutes", "6 hours", "2.5 days"; "-" when there is none."""
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{max(round(seconds / 60), 1)} minute{'s' if round(seconds / 60) != 1 else ''}"
    if seconds < 48 * 3600:
        hours = round(seconds / 3600, 1)
        return f"{hours:g} hour{'s' if hours != 1 else ''}"
    return f"{round(seconds / 86400, 1):g} days"


def _share_words(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _number(label: str, change: dict, words=str, good_when_down: bool = True) -> Number:
    now, before = change["now"], change["before"]
    if now is None or before is None:
        direction = ""
    else:
        direction = "up" if now > before else "down" if now < before else "same"
    return Number(label, words(now) if now is not None else "-", words(before) if before is not None else "-",
                  direction, good_when_down)


def _numbers(summary: WeeklySummary, for_ops: bool) -> list[Number]:
    changes = summary.changes
    numbers = [
        _number("Failed posts and checks", changes["failures"], lambda n: f"{n:,}"),
        _number("Channel pauses", changes["pauses"], lambda n: f"{n:,}"),
        _number("Time to reconnect (median)", changes["reconnect_median_s"], duration_words),
        _number("Posts due while a channel was paused", changes["missed_posts"], lambda n: f"{n:,}"),
        _number("Posts that could not be sent" if not for_ops else "Dead letters in", changes["dead_letters_in"],
                lambda n: f"{n:,}"),
        _number("Problems our checks found before a post failed", changes["caught_early"], lambda n: f"{n:,}",
                good_when_down=False),
        _number("Posts held back by rate limits", changes["deferrals"], lambda n: f"{n:,}"),
    ]
    if for_ops:
        numbers.append(_number("Share of partner errors classified UNKNOWN", changes["unknown_share"], _share_words))
    return numbers


def failures_chart(summaries: list[WeeklySummary], weeks: list[date], *, labels: dict | None = None) -> StackedBars:
    """Failures by code over `weeks` (oldest first), stacked: the CHART_SERIES codes that failed most, the rest as Other.

    A week without a summary counts as none. `labels`: a code's name on the chart (default: the code).
    """
    by_week = {summary.week_start: summary.figures["failures"]["by_code"] for summary in summaries}
    totals: dict[str, int] = {}
    for counts in by_week.values():
        for code, n in counts.items():
            totals[code] = totals.get(code, 0) + n
    top = [code for code, _ in sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:CHART_SERIES]]
    series: dict[str, list[int]] = {}
    for code in top:
        series[(labels or {}).get(code, code)] = [by_week.get(week, {}).get(code, 0) for week in weeks]
    rest = [sum(n for code, n in by_week.get(week, {}).items() if code not in top) for week in weeks]
    if any(rest):
        series[OTHER] = rest
    return stacked_bars([f"{week:%d %b}" for week in weeks], series)


def _chosen_week(summaries, week: date | None):
    """(the weeks built, newest first; the summary of `week` or the newest; the chart's weeks; their summaries).

    None when no summary of that week exists. `summaries`: one tenant's, or the overall ones.
    """
    weeks = list(summaries.order_by("-week_start").values_list("week_start", flat=True)[:52])
    chosen = week or (weeks[0] if weeks else None)
    summary = summaries.filter(week_start=chosen).first() if chosen else None
    if summary is None:
        return None
    chart_weeks = [summary.week_start - timedelta(days=7 * back) for back in range(CHART_WEEKS - 1, -1, -1)]
    history = list(summaries.filter(week_start__in=chart_weeks).only("week_start", "figures"))
    return weeks, summary, chart_weeks, history


def tenant_advisor(tenant_id: int, week: date | None = None) -> AdvisorPage | None:
    """The Advisor page of a tenant (module docstring); None when it has no summary (of that week)."""
    found = _chosen_week(WeeklySummary.objects.filter(tenant_id=tenant_id), week)
    if found is None:
        return None
    weeks, summary, chart_weeks, history = found
    stored = [Insight.from_dict(item) for item in summary.insights]
    live = reconnect_soon_insights(tenant_id) if summary.week_start == weeks[0] else []
    return AdvisorPage(
        summary=summary,
        insights=rank(live + stored),
        numbers=_numbers(summary, for_ops=False),
        chart=failures_chart(history, chart_weeks, labels=CODE_LABELS),
        weeks=weeks,
    )


def ops_weekly(week: date | None = None) -> OpsWeeklyPage | None:
    """The weekly ops page (module docstring); None when no week was built yet."""
    found = _chosen_week(WeeklySummary.objects.filter(tenant__isnull=True), week)
    if found is None:
        return None
    weeks, summary, chart_weeks, history = found
    shares = {row.week_start: row.figures.get("unknown_share") for row in history}
    unmapped = [
        {**shape, "url": reverse("admin:recovery_unmappederror_change", args=[shape["pk"]])}
        for shape in summary.figures.get("unmapped", {}).get("shapes", [])
    ]
    return OpsWeeklyPage(
        summary=summary,
        insights=[Insight.from_dict(item) for item in summary.insights],
        numbers=_numbers(summary, for_ops=True),
        chart=failures_chart(history, chart_weeks),
        weeks=weeks,
        unmapped=unmapped,
        unknown_share_by_week=[(week_start, shares.get(week_start)) for week_start in chart_weeks],
        failures=sorted(summary.figures["failures"]["by_platform_code"].items(), key=lambda item: (-item[1], item[0])),
    )
