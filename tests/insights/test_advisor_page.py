"""The Advisor page (/advisor/): a tenant's own week, for its members, behind WEEKLY_SUMMARY_ENABLED; its
insights (stored and live), its numbers with the week before, and an inline chart; in the product's nav."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from insights.weekly import last_full_week, weekly_summaries_build
from recovery.flags import WEEKLY_SUMMARY_ENABLED, flag_enable_for_tenant
from recovery.models import FailureEvent
from tests.factories import ConnectionFactory
from tests.insights.weekly_helpers import WEEK, troubled_week

pytestmark = pytest.mark.django_db

URL = "/advisor/"


def text(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.content.decode()))


@pytest.fixture
def built(tenant, other_tenant):
    troubled_week(tenant, other_tenant)
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    weekly_summaries_build(WEEK)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["owner", "member"])
def test_the_tenants_members_see_their_weeks_advice_numbers_and_chart(client, request, built, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)

    assert response.status_code == 200
    page = text(response)
    titles = [insight.title for insight in response.context["page"].insights]
    assert titles == [
        "2 Instagram channels lose permissions every few weeks (5 pauses in 8 weeks)",
        "TikTok video posts over the length limit failed 14 times: trim to 600 seconds",
        "Posting to LinkedIn was held back 12 times by its rate limits",
    ]
    assert all(title in page for title in titles)
    assert "The week of Monday 3 March 2025" in page
    assert '<a href="/channels/">Your channels</a>' in response.content.decode()
    numbers = {number.label: (number.value, number.before) for number in response.context["page"].numbers}
    assert numbers["Failed posts and checks"] == ("20", "5")
    assert numbers["Time to reconnect (median)"] == ("6 hours", "-")
    assert numbers["Problems our checks found before a post failed"] == ("3", "0")
    assert "1 published after the reconnect, 1 skipped, 2 still waiting for your choice, 1 not sent" in page
    assert '<svg class="stacked-chart"' in response.content.decode() and "Image or video refused" in page
    assert "cdn" not in response.content.decode().lower()


def test_another_tenants_member_sees_only_their_own_tenant(client, built, outsider, other_tenant,
                                                           django_capture_on_commit_callbacks):
    client.force_login(outsider)
    assert client.get(URL).status_code == 404  # the flag is off for Globex

    with django_capture_on_commit_callbacks(execute=True):  # the flag's cache is flushed when the change commits
        flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, other_tenant.pk)
    response = client.get(URL)
    assert response.status_code == 200 and response.context["page"] is None
    assert "Your first weekly summary comes on Monday" in text(response)
    assert "Instagram" not in text(response)


def test_an_operator_without_a_tenant_gets_no_advisor(client, built, operator):
    client.force_login(operator)
    assert client.get(URL).status_code == 404


def test_the_page_only_answers_get(client, built, owner):
    client.force_login(owner)
    assert client.post(URL).status_code == 405


def test_a_past_week_is_chosen_by_any_of_its_days(client, built, owner, tenant):
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    weekly_summaries_build(WEEK - timedelta(days=7))
    client.force_login(owner)

    assert client.get(URL).context["page"].summary.week_start == WEEK  # the latest
    assert client.get(URL, {"week": "2025-02-26"}).context["page"].summary.week_start == WEEK - timedelta(days=7)
    assert client.get(URL, {"week": "2024-01-03"}).status_code == 404  # no summary of that week
    assert client.get(URL, {"week": "not-a-date"}).status_code == 404


def test_a_sign_in_ending_soon_is_advised_live_on_the_latest_week(client, owner, tenant):
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    ConnectionFactory(tenant=tenant, platform="meta", account_type="facebook_page", refresh_token="",
                      token_expires_at=timezone.now() + timedelta(days=6, hours=1))
    week = last_full_week()
    FailureEvent.objects.create(tenant=tenant, platform="linkedin", source="publish", code="PARTNER_5XX", decision="retry",
                                created_at=timezone.now() - timedelta(days=7))
    weekly_summaries_build(week)
    client.force_login(owner)

    [first, *_] = client.get(URL).context["page"].insights
    assert first.title == "The sign-in of your Facebook Page channel ends in 6 days: reconnect now"
    assert first.link == "/channels/"


def test_the_nav_links_the_advisor_only_where_the_flag_is_on(client, built, owner, outsider):
    client.force_login(owner)
    assert '<a href="/advisor/">Advisor</a>' in client.get("/channels/").content.decode()
    client.force_login(outsider)
    assert '<a href="/advisor/">Advisor</a>' not in client.get("/channels/").content.decode()


def test_the_page_costs_the_same_queries_for_one_week_built_and_for_eight(client, owner, tenant, django_assert_num_queries):
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    weekly_summaries_build(WEEK)
    client.force_login(owner)
    client.get(URL)  # warm the session and the flag's cache

    # session, user, tenant; the weeks, the summary, the chart's weeks; the channels whose sign-in ends soon;
    # the banner: paused channels, missed posts by channel, channels ending soon
    with django_assert_num_queries(10) as few:
        client.get(URL)
    for back in range(1, 8):
        weekly_summaries_build(WEEK - timedelta(days=7 * back))
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert len(response.context["page"].weeks) == 8
