"""Ops' view of webhook events: list and filters (platform, outcome, age), the masked payload, replay."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from tests.factories import ConnectionFactory
from tests.recovery.pipeline_helpers import autopause
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process
from webhooks.verification import Delivery
from webhooks.writer import webhook_receive

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:webhooks_webhookevent_changelist"
LEAKY_TOKEN = "EAABsbCS1iHgBAKZCZCZBZAZBZCtokenvalue0123456789abcdef"


def received(platform, event_id, event_type, payload, **fields) -> WebhookEvent:
    stored = webhook_receive(Delivery(platform, event_id, event_type, payload))
    WebhookEvent.objects.filter(pk=stored.event_id).update(**fields)
    return WebhookEvent.objects.get(pk=stored.event_id)


@pytest.fixture
def events():
    now = timezone.now()
    return {
        "deauthorize": received("meta", "d-1", "deauthorize", {"user_id": "u1", "algorithm": "HMAC-SHA256"},
                                received_at=now - timedelta(minutes=5)),
        "review": received("gbp", "m-1", "NEW_REVIEW", {"data": {"location_name": "accounts/1/locations/2"}},
                           outcome=WebhookEvent.Outcome.IGNORED, received_at=now - timedelta(days=3)),
        "old": received("tiktok", "t-1", "post.publish.complete", {"user_openid": "o1", "access_token": LEAKY_TOKEN},
                        outcome=WebhookEvent.Outcome.IGNORED, received_at=now - timedelta(days=30)),
    }


def shown(response) -> set[str]:
    return {event.event_id for event in response.context["cl"].result_list}


def test_the_list_filters_by_platform_outcome_and_age_in_few_queries(client, operator, events, django_assert_max_num_queries):
    client.force_login(operator)
    with django_assert_max_num_queries(10):
        response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200 and shown(response) == {"d-1", "m-1", "t-1"}
    assert shown(client.get(reverse(CHANGELIST), {"platform": "gbp"})) == {"m-1"}
    assert shown(client.get(reverse(CHANGELIST), {"outcome": "pending"})) == {"d-1"}
    assert shown(client.get(reverse(CHANGELIST), {"age": "1h"})) == {"d-1"}
    assert shown(client.get(reverse(CHANGELIST), {"age": "7d"})) == {"d-1", "m-1"}
    assert shown(client.get(reverse(CHANGELIST), {"age": "older"})) == {"t-1"}


def test_an_event_page_shows_its_payload_masked_and_what_it_asks(client, operator, events):
    client.force_login(operator)

    page = client.get(reverse("admin:webhooks_webhookevent_change", args=[events["old"].pk])).content.decode()
    deauthorize = client.get(reverse("admin:webhooks_webhookevent_change", args=[events["deauthorize"].pk])).content.decode()

    assert "post.publish.complete" in page and "o1" in page
    assert LEAKY_TOKEN not in page and "[redacted]" in page
    assert "u1: revoke" in deauthorize


def test_events_are_a_record_no_add_edit_or_delete(client, operator, events):
    client.force_login(operator)
    url = reverse("admin:webhooks_webhookevent_change", args=[events["deauthorize"].pk])

    assert client.get(reverse("admin:webhooks_webhookevent_add")).status_code == 403
    client.post(url, {"event_type": "edited", "outcome": "applied"})
    assert client.get(reverse("admin:webhooks_webhookevent_delete", args=[events["deauthorize"].pk])).status_code == 403

    events["deauthorize"].refresh_from_db()
    assert (events["deauthorize"].event_type, events["deauthorize"].outcome) == ("deauthorize", "pending")


def test_replay_runs_events_through_processing_again(client, operator, tenant, events):
    autopause(tenant, True)
    assert webhook_event_process(events["deauthorize"].pk) == WebhookEvent.Outcome.UNKNOWN_ACCOUNT
    connection = ConnectionFactory(tenant=tenant, platform="meta", external_account_id="u1")  # connected since
    client.force_login(operator)

    response = client.post(reverse(CHANGELIST), {"action": "replay", "_selected_action": [
        events["deauthorize"].pk, events["review"].pk]}, follow=True)

    assert "2 events replayed: 1 applied, 1 ignored." in response.content.decode()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.REVOKED
    assert connection.audits.get(action="revoke").actor == "partner:meta"


def test_members_without_staff_cannot_see_it(client, member):
    client.force_login(member)

    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 302 and "login" in response["Location"]
