"""Each partner's token rule, and which connections need their user within 7 days (the banner's question)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Connection
from recovery.token_upkeep import (
    NOTICE_AHEAD,
    connections_needing_user_soon,
    has_usable_refresh_token,
    refresh_due,
    stops_without_user_at,
)
from tests.factories import ConnectionFactory

NOW = timezone.now()
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@pytest.mark.parametrize(
    "platform, has_refresh_token, token_end, refresh_end, stops",
    [
        # Meta: no refresh token; the long-lived token's end is the day the user is needed.
        ("meta", False, NOW + 60 * DAY, None, NOW + 60 * DAY),
        # LinkedIn with programmatic refresh: the refresh token's end, which refreshes do not move.
        ("linkedin", True, NOW + 60 * DAY, NOW + 300 * DAY, NOW + 300 * DAY),
        # ... once it has passed, the access token still works until its own end.
        ("linkedin", True, NOW + 20 * DAY, NOW - DAY, NOW + 20 * DAY),
        # LinkedIn without programmatic refresh: the access token's end.
        ("linkedin", False, NOW + 60 * DAY, None, NOW + 60 * DAY),
        # TikTok: every refresh brings a new refresh token with a new life.
        ("tiktok", True, NOW + 2 * HOUR, NOW + 180 * DAY, None),
        # Google: refresh tokens have no timer.
        ("gbp", True, NOW + HOUR, None, None),
        # Mailchimp: tokens never expire.
        ("mailchimp", False, None, None, None),
    ],
)
def test_when_a_connection_stops_working_without_its_user(platform, has_refresh_token, token_end, refresh_end, stops):
    assert stops_without_user_at(
        platform, has_refresh_token=has_refresh_token, token_expires_at=token_end, refresh_token_expires_at=refresh_end,
        now=NOW,
    ) == stops


@pytest.mark.parametrize(
    "platform, left, due",
    [
        ("gbp", timedelta(minutes=14), True),
        ("gbp", timedelta(minutes=40), False),
        ("tiktok", timedelta(minutes=29), True),
        ("tiktok", timedelta(minutes=90), False),
        ("linkedin", 6 * DAY, True),
        ("linkedin", 30 * DAY, False),
        ("meta", -DAY, False),  # never refreshed, even expired: Meta has no refresh token
        ("mailchimp", None, False),
    ],
)
def test_a_refresh_is_due_by_the_partners_lead_time(platform, left, due):
    connection = Connection(platform=platform, token_expires_at=NOW + left if left is not None else None)
    assert refresh_due(connection, NOW) is due


def test_a_refresh_token_is_usable_only_where_the_partner_refreshes_and_before_its_end():
    assert has_usable_refresh_token(Connection(platform="gbp", refresh_token="r"), NOW)
    assert has_usable_refresh_token(Connection(platform="linkedin", refresh_token="r", refresh_token_expires_at=NOW + DAY), NOW)
    assert not has_usable_refresh_token(Connection(platform="linkedin", refresh_token="r", refresh_token_expires_at=NOW - DAY), NOW)
    assert not has_usable_refresh_token(Connection(platform="gbp", refresh_token=""), NOW)
    assert not has_usable_refresh_token(Connection(platform="meta", refresh_token="r"), NOW)


@pytest.mark.django_db
def test_the_tenants_connections_needing_their_user_within_seven_days_soonest_first(tenant, other_tenant, django_assert_num_queries):
    now = timezone.now()
    meta_soon = ConnectionFactory(tenant=tenant, platform="meta", refresh_token="", token_expires_at=now + 5 * DAY)
    linkedin_soon = ConnectionFactory(tenant=tenant, platform="linkedin", token_expires_at=now + 50 * DAY,
                                      refresh_token_expires_at=now + 2 * DAY)
    ConnectionFactory(tenant=tenant, platform="meta", refresh_token="", token_expires_at=now + 30 * DAY)  # later
    ConnectionFactory(tenant=tenant, platform="gbp", token_expires_at=now + HOUR)  # refreshed by upkeep
    ConnectionFactory(tenant=tenant, platform="tiktok", token_expires_at=now + HOUR,
                      refresh_token_expires_at=now + 3 * DAY)  # renewed by every refresh
    ConnectionFactory(tenant=tenant, platform="meta", refresh_token="", token_expires_at=now + DAY, paused=True)
    ConnectionFactory(tenant=other_tenant, platform="meta", refresh_token="", token_expires_at=now + DAY)

    with django_assert_num_queries(1):
        due = connections_needing_user_soon(tenant.pk)

    assert [(item.connection.pk, item.stops_at) for item in due] == [
        (linkedin_soon.pk, linkedin_soon.refresh_token_expires_at),
        (meta_soon.pk, meta_soon.token_expires_at),
    ]
    assert NOTICE_AHEAD == 7 * DAY
