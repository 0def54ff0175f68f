"""The health overview (/ops/health/): staff only, the numbers with the admin lists behind them, a fixed
number of queries, and linked from the admin's index with the other ops pages."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from connections.models import ConnectionAudit
from recovery.deadletter import dead_letter_create
from recovery.models import DeadLetter
from tests.factories import ConnectionAuditFactory, ConnectionFactory, WebhookEventFactory
from webhooks.models import WebhookEvent

URL = "/ops/health/"


def links(html: str) -> dict[str, str]:
    """The text of each link on the page -> its href (the last one wins)."""
    return {re.sub(r"\s+", " ", unescape(text)).strip(): unescape(href)
            for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, re.S)}


def letter(tenant, code="PARTNER_5XX", hours_ago=0.0, platform="meta", **fields):
    made = dead_letter_create(job_kind="post_publish", tenant_id=tenant.pk, platform=platform,
                              classification={"code": code}, attempts=3,
                              failed_at=timezone.now() - timedelta(hours=hours_ago))
    if fields:
        DeadLetter.objects.filter(pk=made.pk).update(**fields)
    return made


def webhook(minutes_ago: float, lag_s: float | None = None, **fields) -> WebhookEvent:
    """An event received `minutes_ago`, processed `lag_s` later (None: still pending)."""
    received = timezone.now() - timedelta(minutes=minutes_ago)
    if lag_s is not None:
        fields.setdefault("outcome", WebhookEvent.Outcome.IGNORED)
        fields["processed_at"] = received + timedelta(seconds=lag_s)
    return WebhookEventFactory(received_at=received, **fields)


def some_trouble(tenant, count: int = 1):
    """Auth pauses, paused connections, pings, expiring tokens, dead letters and webhooks, `count` of each kind."""
    now = timezone.now()
    for i in range(count):
        meta = ConnectionFactory(tenant=tenant, platform="meta", paused=True)
        gbp = ConnectionFactory(tenant=tenant, platform="gbp", token_expires_at=now + timedelta(hours=3))
        ConnectionAuditFactory(connection=meta, action=ConnectionAudit.Action.AUTO_PAUSE,
                               details={"reason_code": "AUTH_EXPIRED"})
        ConnectionAuditFactory(connection=gbp, action=ConnectionAudit.Action.AUTO_PAUSE,
                               details={"reason_code": "PARTNER_5XX"})  # not an auth error
        ConnectionAuditFactory(connection=gbp, action=ConnectionAudit.Action.PING_OK)
        ConnectionAuditFactory(connection=gbp, action=ConnectionAudit.Action.PING_FAILED)
        letter(tenant, code="AUTH_REVOKED", platform="linkedin")
        letter(tenant, hours_ago=30)
        webhook(5)
        webhook(20, attempts=1)
        webhook(30, lag_s=0.2)
        webhook(40, lag_s=2, outcome=WebhookEvent.Outcome.APPLIED)
        webhook(180, lag_s=1)


@pytest.mark.django_db
def test_only_staff_see_the_health_page(client, owner, member, operator):
    assert client.get(URL).status_code == 302  # to the admin's login
    for user in (owner, member):
        client.force_login(user)
        response = client.get(URL)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(operator)
    assert client.get(URL).status_code == 200


@pytest.mark.django_db
def test_each_number_links_to_the_admin_list_behind_it(client, operator, tenant):
    some_trouble(tenant)
    client.force_login(operator)
    html = client.get(URL).content.decode()
    found = links(html)

    # Auth errors: the pause for AUTH_EXPIRED (meta) and the dead letter for AUTH_REVOKED (linkedin); not the 5xx.
    assert '<svg class="health-chart"' in html and not re.search(r'(src|href)="(https?:)?//', html)  # nothing from a CDN
    auth = html[html.index('id="auth-errors"'):html.index('id="dead-letters"')]
    totals = {name: (unescape(href), int(value)) for name, href, value in
              re.findall(r'<th scope="row">([^<]+)</th>.*?<td><a href="([^"]+)">(\d+)</a></td>\s*</tr>', auth, re.S)}
    assert {name: value for name, (_, value) in totals.items()} == {"meta": 1, "linkedin (dead-lettered)": 1}
    for href, value in totals.values():  # the list behind each total holds exactly the rows it counts
        assert client.get(href).context["cl"].result_count == value, href
    # Every count links to a list the admin accepts, showing the rows it counts.
    for text, href in found.items():
        if href.startswith("/admin/") and "?" in href:
            page = client.get(href)
            assert page.status_code == 200, (text, href)
    dead = client.get(found["1 open for more than 24 hours"])
    assert dead.status_code == 200 and dead.context["cl"].result_count == 1
    paused = client.get(links(html[html.index('id="paused"'):])["1"])
    assert paused.context["cl"].result_count == 1
    assert re.search(r'id="dlq-flag"', html)


@pytest.mark.django_db
def test_no_open_letter_past_24_hours_no_flag(client, operator, tenant):
    letter(tenant, hours_ago=2)
    client.force_login(operator)
    html = client.get(URL).content.decode()
    assert 'id="dlq-flag"' not in html and "None open for more than 24 hours." in html


@pytest.mark.django_db
def test_resolution_time_is_shown_for_closed_and_recovered_letters(client, operator, tenant):
    now = timezone.now()
    letter(tenant, status=DeadLetter.Status.DISCARDED, last_failed_at=now - timedelta(hours=2), resolved_at=now)
    letter(tenant, status=DeadLetter.Status.REQUEUED, last_failed_at=now - timedelta(hours=5),
           resolved_at=now - timedelta(hours=4), recovered_at=now - timedelta(hours=1))
    letter(tenant, status=DeadLetter.Status.REQUEUED, resolved_at=now)  # requeued, its post not published yet
    client.force_login(operator)
    html = client.get(URL).content.decode()
    assert "(2 closed or recovered)" in html
    assert "median 2 h 0 min" in html and "90th percentile 4 h 0 min" in html
    assert links(html)["1"].endswith("status__exact=requeued&recovered_at__isnull=True")


@pytest.mark.django_db
def test_webhook_backlog_lag_and_outcomes_link_to_the_events_behind_them(client, operator):
    for minutes_ago, lag_s in enumerate([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 30], start=10):
        webhook(minutes_ago, lag_s, outcome=WebhookEvent.Outcome.APPLIED if lag_s < 0.4 else WebhookEvent.Outcome.IGNORED)
    webhook(120, lag_s=600, outcome=WebhookEvent.Outcome.APPLIED)  # received before the last hour: not counted
    oldest = webhook(75)  # waiting for more than an hour
    webhook(3, attempts=2, last_error="OperationalError: ...")  # waiting for its retry
    client.force_login(operator)

    html = client.get(URL).content.decode()

    section = html[html.index('id="webhooks"'):]
    text = " ".join(re.sub(r"<[^>]+>", "", section).split())
    assert "2 waiting to be processed (1 of them retrying after a failure); oldest waiting 1 h 15 min." in text
    assert "median 500 ms, 90th percentile 900 ms" in section  # nearest rank of the 10 the last hour processed
    found = links(section)
    counted = {"2": 2, "1": 1, "oldest waiting 1 h 15 min": 1, "10 processed": 10, "3": 3, "7": 7}
    for text, count in counted.items():
        assert client.get(found[text]).context["cl"].result_count == count, text
    assert client.get(found["oldest waiting 1 h 15 min"]).context["cl"].result_list[0] == oldest
    retrying = unescape(re.search(r'\(<a href="([^"]+)">1</a> of them retrying', section).group(1))
    assert [event.attempts for event in client.get(retrying).context["cl"].result_list] == [2]
    outcomes = re.findall(r"<td>([^<]+)</td><td><a href=\"[^\"]+\">(\d+)</a>", section)
    assert outcomes == [("Pending", "1"), ("Applied", "3"), ("Ignored", "7")]
    assert "are not stored" in section and "recovery.webhook.rejected" in section  # not in the database: said so


@pytest.mark.django_db
def test_no_webhook_no_lag(client, operator):
    client.force_login(operator)
    html = client.get(URL).content.decode()
    section = html[html.index('id="webhooks"'):]
    assert "median -, 90th percentile -" in section and "No webhook received in the last hour." in section


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_with_ten_times_the_data(client, operator, tenant,
                                                                 django_assert_max_num_queries):
    client.force_login(operator)
    some_trouble(tenant, count=1)
    with django_assert_max_num_queries(14) as few:  # session, user, 12 for the selectors
        assert client.get(URL).status_code == 200
    some_trouble(tenant, count=10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(URL).status_code == 200


@pytest.mark.django_db
def test_the_admin_index_links_every_ops_page(client, operator):
    client.force_login(operator)
    found = links(client.get("/admin/").content.decode())
    assert found["Health overview"] == URL
    assert found["Paused connections"] == "/admin/connections/connection/paused/"
    assert found["RQ dashboard"] == "/django-rq/"
    for url in (URL, "/admin/connections/connection/paused/", "/django-rq/"):
        assert client.get(url).status_code == 200
