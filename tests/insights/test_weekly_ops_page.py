"""The weekly ops page (/ops/weekly/): staff only, the top issues across tenants with a link where to act, the
new unmapped shapes each linking to its admin page, the UNKNOWN share week over week; linked from the admin index."""

from __future__ import annotations

from datetime import timedelta

import pytest

from insights.weekly import weekly_summaries_build
from tests.insights.test_health_page import links
from tests.insights.weekly_helpers import WEEK, troubled_week

pytestmark = pytest.mark.django_db

URL = "/ops/weekly/"


@pytest.fixture
def built(tenant, other_tenant):
    made = troubled_week(tenant, other_tenant)
    weekly_summaries_build(WEEK - timedelta(days=7))
    weekly_summaries_build(WEEK)
    return made


def test_only_staff_see_the_weekly_page(client, owner, member, operator):
    assert client.get(URL).status_code == 302
    for user in (owner, member):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(operator)
    response = client.get(URL)
    assert response.status_code == 200 and "No week has been summed up yet" in response.content.decode()


def test_the_page_shows_the_top_issues_with_where_to_act(client, operator, built):
    client.force_login(operator)
    response = client.get(URL)
    html = response.content.decode()
    found = links(html)

    insights = response.context["page"].insights
    assert insights[0].title == "2 Instagram channels in 1 tenant lose permissions every few weeks (5 pauses in 8 weeks)"
    assert found["These connections"].startswith("/admin/connections/connection/?id__in=")
    assert found["The new unmapped errors"].startswith("/admin/recovery/unmappederror/?mapped__exact=0")
    assert found[f"#{built['new_unmapped'].pk}"] == f"/admin/recovery/unmappederror/{built['new_unmapped'].pk}/change/"
    assert found["Acme"].startswith("/admin/connections/tenant/")
    assert [share for _, share in response.context["page"].unknown_share_by_week][-2:] == [0.0, 0.125]
    assert "12.5%" in html and '<svg class="stacked-chart"' in html
    assert response.context["page"].failures[:2] == [("tiktok:MEDIA_ERROR", 14), ("linkedin:PARTNER_5XX", 4)]


def test_each_link_of_the_top_issues_opens(client, operator, built):
    client.force_login(operator)
    for insight in client.get(URL).context["page"].insights:
        assert client.get(insight.link).status_code == 200, insight.link


def test_the_admin_index_links_the_weekly_page(client, operator):
    client.force_login(operator)
    assert links(client.get("/admin/").content.decode())["Weekly summary"] == URL
