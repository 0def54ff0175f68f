"""The weekly summary from factory data with known trouble (tests/insights/weekly_helpers.py): every figure
exactly as expected, per tenant and overall, the week before compared, a rebuild that replaces, and the
advice naming the expected top issues."""

from __future__ import annotations

from datetime import date

import pytest

from insights.models import WeeklySummary
from insights.weekly import last_full_week, week_bounds, week_figures, week_start_of, weekly_summaries_build
from recovery.flags import WEEKLY_SUMMARY_ENABLED, flag_enable_for_tenant
from tests.insights.weekly_helpers import WEEK, at, troubled_week

pytestmark = pytest.mark.django_db

HOUR = 3600


@pytest.fixture
def week(tenant, other_tenant):
    made = troubled_week(tenant, other_tenant)
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    return made


def test_weeks_start_on_monday_utc():
    assert week_start_of(at(4, 23)) == WEEK
    assert week_start_of(at(7)) == date(2025, 3, 10)
    assert last_full_week(at(7, 3)) == WEEK
    assert week_bounds(WEEK) == (at(0), at(7))
    with pytest.raises(ValueError):
        week_bounds(date(2025, 3, 4))


def test_the_tenants_figures_are_exactly_the_known_trouble(week, tenant):
    figures = week_figures(WEEK).of(tenant.pk)

    assert figures["failures"] == {
        "total": 20,
        "by_code": {"MEDIA_ERROR": 14, "PARTNER_5XX": 4, "UNKNOWN": 1, "PERMISSION_INSUFFICIENT": 1},
        "by_platform": {"tiktok": 14, "linkedin": 5, "meta": 1},
        "by_source": {"publish": 19, "ping": 1},
        "by_platform_code": {"tiktok:MEDIA_ERROR": 14, "linkedin:PARTNER_5XX": 4, "linkedin:UNKNOWN": 1,
                             "meta:PERMISSION_INSUFFICIENT": 1},
    }
    # The 14 capability refusals are ours, not the partner's: 1 UNKNOWN among 6 partner errors.
    assert (figures["partner_errors"], figures["unknown"], figures["unknown_share"]) == (6, 1, 0.1667)
    assert figures["deferrals"] == {"total": 13, "by_platform": {"linkedin": 12, "tiktok": 1},
                                    "by_reason": {"rate_limit": 12, "breaker": 1}, "rate_limited_by_platform": {"linkedin": 12}}
    assert figures["pauses"] == {
        "total": 6,
        "by_cause": {"publish": 2, "ping": 1, "webhook": 1, "ops": 1, "token_upkeep": 1},
        "by_reason": {"PERMISSION_INSUFFICIENT": 3, "AUTH_REVOKED": 1, "ACCOUNT_RESTRICTED": 1, "REFRESH_FAILED": 1},
        "by_platform": {"meta": 3, "linkedin": 1, "tiktok": 1, "gbp": 1},
    }
    # Resumed after 2 h (ops), 6 h, 24 h (the ping's pause), 24 h (the webhook's revoke): nearest rank.
    assert figures["reconnect"] == {"count": 4, "median_s": 6 * HOUR, "p90_s": 24 * HOUR}
    assert figures["missed_posts"] == {"total": 5, "published": 1, "skipped": 1, "waiting": 2, "other": 1}
    assert figures["dead_letters"] == {
        "in": 4, "in_by_code": {"MEDIA_ERROR": 3, "UNKNOWN": 1},
        "resolved": 3, "resolution_median_s": 24 * HOUR, "resolution_p90_s": 48 * HOUR,
    }
    assert figures["early_catch"] == {
        "ping": {"pauses": 1, "before_a_post": 1, "lead_median_s": 12 * HOUR, "lead_p90_s": 12 * HOUR},
        "webhook": {"pauses": 1, "before_a_post": 1, "lead_median_s": 6 * HOUR, "lead_p90_s": 6 * HOUR},
        "token_upkeep": {"pauses": 1, "before_a_post": 0, "lead_median_s": None, "lead_p90_s": None},
        "by_failing_post": 2,
    }


def test_the_overall_figures_count_every_tenant(week, tenant, other_tenant):
    overall = week_figures(WEEK).overall

    assert overall["failures"]["total"] == 22 and overall["failures"]["by_code"]["AUTH_EXPIRED"] == 2
    assert (overall["partner_errors"], overall["unknown"], overall["unknown_share"]) == (8, 1, 0.125)
    assert overall["pauses"]["total"] == 6 and overall["missed_posts"]["total"] == 5
    assert overall["reconnect"] == {"count": 4, "median_s": 6 * HOUR, "p90_s": 24 * HOUR}


def test_a_week_is_built_once_per_tenant_with_the_flag_and_once_overall(week, tenant, other_tenant):
    build = weekly_summaries_build(WEEK)

    mine = WeeklySummary.objects.get(tenant=tenant, week_start=WEEK)
    overall = WeeklySummary.objects.get(tenant__isnull=True, week_start=WEEK)
    assert set(build.tenant_summary_ids) == {tenant.pk} and build.overall_id == overall.pk
    assert not WeeklySummary.objects.filter(tenant=other_tenant).exists()  # its flag is off
    assert mine.figures == week_figures(WEEK).of(tenant.pk)
    assert mine.changes["failures"] == {"before": 5, "now": 20, "delta": 15}
    assert mine.changes["unknown_share"] == {"before": 0.0, "now": 0.1667, "delta": 0.1667}
    assert mine.changes["caught_early"] == {"before": 0, "now": 3, "delta": 3}
    assert overall.figures["unmapped"] == {
        "new": 1, "errors": 7,
        "shapes": [{"pk": week["new_unmapped"].pk, "platform": "tiktok", "http_status": 400, "count": 7, "mapped": False}],
    }
    assert [row["name"] for row in overall.figures["top_tenants"]] == ["Acme", "Globex"]


def test_rebuilding_a_week_replaces_its_summaries(week, tenant):
    first = weekly_summaries_build(WEEK)
    second = weekly_summaries_build(WEEK)

    assert WeeklySummary.objects.filter(week_start=WEEK).count() == 2
    assert not WeeklySummary.objects.filter(pk__in=[first.overall_id, *first.tenant_summary_ids.values()]).exists()
    assert WeeklySummary.objects.filter(pk=second.tenant_summary_ids[tenant.pk]).exists()


def test_a_tenant_without_trouble_gets_a_quiet_week(tenant):
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    weekly_summaries_build(WEEK)

    summary = WeeklySummary.objects.get(tenant=tenant, week_start=WEEK)
    assert summary.figures["failures"]["total"] == 0 and summary.figures["unknown_share"] is None
    assert summary.insights == []


def test_the_tenants_advice_names_its_top_issues_most_impact_first(week, tenant):
    weekly_summaries_build(WEEK)

    insights = WeeklySummary.objects.get(tenant=tenant, week_start=WEEK).insights
    assert [(item["kind"], item["title"]) for item in insights] == [
        ("recurring_pauses", "2 Instagram channels lose permissions every few weeks (5 pauses in 8 weeks)"),
        ("content", "TikTok video posts over the length limit failed 14 times: trim to 600 seconds"),
        ("rate_limited", "Posting to LinkedIn was held back 12 times by its rate limits"),
    ]
    recurring, content, rate = insights
    assert "business account" in recurring["remediation"] and recurring["link"] == "/channels/"
    assert "10 minutes (600 seconds)" in content["remediation"] and content["link"] == "/posts/?show=attention"
    assert rate["impact"] == 12 and "spread" in rate["remediation"]


def test_ops_advice_names_the_top_issues_across_tenants(week):
    weekly_summaries_build(WEEK)

    insights = WeeklySummary.objects.get(tenant__isnull=True, week_start=WEEK).insights
    titles = [item["title"] for item in insights]
    assert titles[:3] == [
        "2 Instagram channels in 1 tenant lose permissions every few weeks (5 pauses in 8 weeks)",
        "Meta AUTH_EXPIRED: 2 failures in 1 tenant (the access token expired)",
        "Meta PERMISSION_INSUFFICIENT: 1 failure in 1 tenant (a scope, role or page permission is missing)",
    ]
    kinds = {item["kind"]: item for item in insights}
    assert kinds["unmapped"]["title"] == "1 new partner error shape classified UNKNOWN this week (7 errors so far)"
    assert kinds["unknown_share"]["title"] == "The share of partner errors classified UNKNOWN rose from 0.0% to 12.5%"
    assert kinds["dead_letters"]["impact"] == 1  # 4 in, 3 closed
    assert "/admin/recovery/unmappederror/" in kinds["unmapped"]["link"]
