"""Meta's Deauthorize, Data Deletion and permissions webhooks name the Facebook user who signed in (an
app-scoped user id), while a Meta connection holds its Page's id: the connection records its user's id
when its tokens are obtained (the reconnect's GET /me), and those webhooks find it by either id.

End to end: the sandbox Meta, whose /me answers a user id other than the Page's (as Meta does); the
reconnect through the product's views; the sandbox's webhook senders to this live server; a real worker."""

import time

import pytest
from django.urls import reverse

from connections.models import Connection
from recovery.autopause import scopes_to_request
from sandbox import webhooks as sender
from sandbox.meta import meta_user
from sandbox.models import SandboxAccount
from tests.connections.reconnect_helpers import CALLBACK, reconnect_round_trip
from tests.recovery.pipeline_helpers import OTHER_PAGE_ID, PAGE_ID, page_connection
from tests.webhooks.helpers import run_webhooks_worker
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_replay

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("autopause_on")]


def url(base: str, name: str) -> str:
    return base + reverse(f"webhooks:{name}")


def user_of(page: Connection) -> str:
    """The app-scoped id the sandbox Meta gives the user who manages the Page (what /me answers)."""
    return meta_user(SandboxAccount.objects.get(platform="meta", account_id=page.external_account_id))[0]


def connected_before_user_ids(tenant) -> Connection:
    """A Page connected before connections recorded their user: only its Page id is known."""
    page = page_connection(tenant)
    Connection.objects.filter(pk=page.pk).update(partner_user_id=None)
    page.refresh_from_db()
    return page


def deauthorize(partners: str, user_id: str, issued_at: int | None = None) -> WebhookEvent:
    """Meta's Deauthorize callback for the user, processed by a real worker; its stored event."""
    answer = sender.send_meta_deauthorize(url(partners, "meta-deauthorize"), user_id, issued_at=issued_at)
    assert answer.status_code == 200
    run_webhooks_worker()
    return WebhookEvent.objects.order_by("-pk").first()


def test_the_reconnect_records_the_pages_user_and_its_deauthorization_revokes_the_page(partners, tenant, owner, client):
    page = connected_before_user_ids(tenant)
    user_id = user_of(page)
    assert user_id != PAGE_ID  # as at Meta: the user is not the Page

    early = deauthorize(partners, user_id, issued_at=int(time.time()) - 60)  # a minute before the next one
    page.refresh_from_db()
    assert early.outcome == WebhookEvent.Outcome.UNKNOWN_ACCOUNT and early.details == {"accounts": [user_id]}
    assert page.status == Connection.Status.ACTIVE  # nothing knew the user yet

    client.force_login(owner)
    assert client.get(CALLBACK, reconnect_round_trip(client, page)).status_code == 302
    page.refresh_from_db()
    assert (page.partner_user_id, page.external_account_id) == (user_id, PAGE_ID)  # from GET /me

    event = deauthorize(partners, user_id)
    page.refresh_from_db()
    assert event.outcome == WebhookEvent.Outcome.APPLIED and page.status == Connection.Status.REVOKED
    assert [action["connection_id"] for action in event.details["actions"]] == [page.pk]
    # The event stored while the user was unknown now finds the Page too (ops' Replay).
    assert webhook_events_replay([early.pk]) == {WebhookEvent.Outcome.NO_CHANGE: 1}


def test_one_users_deauthorization_revokes_every_page_they_connected_and_no_other(partners, tenant, other_tenant):
    same_user = {"user_id": "10158000000000077"}
    bakery = page_connection(tenant, extra=same_user)
    cafe = page_connection(tenant, page_id=OTHER_PAGE_ID, extra=same_user)
    elsewhere = page_connection(other_tenant, page_id="104857600003")  # another user's Page
    assert bakery.partner_user_id == cafe.partner_user_id == "10158000000000077" != elsewhere.partner_user_id

    event = deauthorize(partners, "10158000000000077")

    assert event.outcome == WebhookEvent.Outcome.APPLIED
    statuses = {c.pk: c.status for c in Connection.objects.filter(pk__in=[bakery.pk, cafe.pk, elsewhere.pk])}
    assert statuses == {bakery.pk: "revoked", cafe.pk: "revoked", elsewhere.pk: "active"}


def test_a_permission_the_user_revoked_marks_their_page_for_a_scope_reconnect(partners, tenant):
    page = page_connection(tenant)
    assert page.partner_user_id == user_of(page) != PAGE_ID

    answer = sender.send_meta_change(url(partners, "meta"), "permissions", page.partner_user_id, "pages_manage_posts",
                                     {"verb": "revoked"})

    assert answer.status_code == 200
    run_webhooks_worker()
    page.refresh_from_db()
    assert (page.status, page.pause_reason) == (Connection.Status.ATTENTION, "PERMISSION_INSUFFICIENT")
    assert "pages_manage_posts" in scopes_to_request(page)
