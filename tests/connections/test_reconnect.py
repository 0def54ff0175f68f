"""One-click reconnect: the Reconnect button, the partner's consent (the sandbox over real HTTP), the callback.

Each channel here was paused by a real classified error (a publish through a real worker), and
each test checks what the user sees and what the database holds afterwards.
"""

from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, Post
from recovery.autopause import auto_pause_connection, mark_connection_needs_scopes
from recovery.models import ReconnectLink
from sandbox import faults
from sandbox.models import SandboxAccount, SandboxObject
from tests.connections.reconnect_helpers import (
    CALLBACK,
    ORG_ID,
    admin_of,
    authorize_query,
    linkedin_page,
    pause_by_the_pipeline,
    paused_page,
    reconnect_round_trip,
    start,
    wizard,
)
from tests.recovery.pipeline_helpers import page_connection, run_publish_worker
from tests.sandbox.sandbox_helpers import linked_connection

pytestmark = pytest.mark.django_db(transaction=True)


def tokens_of(connection):
    row = Connection.objects.get(pk=connection.pk)
    return row.access_token, row.refresh_token


def audit_actions(connection):
    return list(ConnectionAudit.objects.filter(connection=connection).order_by("created_at", "id")
                .values_list("action", flat=True))


# ------------------------------------------------------------------ the link


def test_reconnect_asks_for_every_scope_the_channel_needs_with_a_signed_single_use_state(sandbox, tenant, owner, client):
    page, _ = paused_page(tenant)
    client.force_login(owner)

    response = start(client, page)

    assert response.status_code == 302
    assert response.url.startswith(f"{sandbox}/sandbox/linkedin/oauth/v2/authorization?")
    query = authorize_query(response)
    # sign-in scopes for an organization, then what its capabilities need (analytics included)
    assert query["scope"].split() == ["openid", "profile", "rw_organization_admin", "w_organization_social",
                                      "r_organization_social"]
    assert query["redirect_uri"] == f"{sandbox}{CALLBACK}"
    payload = signing.loads(query["state"], salt="recovery.reconnect.state")
    link = ReconnectLink.objects.get()
    assert payload == {"n": link.nonce, "t": tenant.pk, "u": owner.pk, "c": page.pk}
    assert link.used_at is None
    assert abs(link.expires_at - link.created_at - timedelta(minutes=15)) < timedelta(seconds=1)


def test_reconnect_sends_googles_login_hint_with_the_signed_in_email(sandbox, tenant, owner, client):
    location = linked_connection("gbp", tenant=tenant, external_account_id="accounts/1/locations/2",
                                 account_email="owner@acme.example")
    auto_pause_connection(tenant.pk, location.pk, "AUTH_REVOKED")
    client.force_login(owner)

    query = authorize_query(start(client, location))

    assert query["login_hint"] == "owner@acme.example"
    assert set(query["scope"].split()) == {"https://www.googleapis.com/auth/business.manage", "email"}


# ------------------------------------------------------------------ a plain reconnect (wizard off)


def test_a_reconnect_without_the_wizard_resumes_the_channel_and_sends_the_waiting_post(sandbox, tenant, owner, client):
    wizard(tenant, False)
    page, post = paused_page(tenant)
    old_access, old_refresh = tokens_of(page)
    client.force_login(owner)

    response = client.get(CALLBACK, reconnect_round_trip(client, page), follow=True)

    assert response.redirect_chain[-1][0] == reverse("connections:channels")
    assert "LinkedIn Page: Acme Page is connected again" in response.content.decode()
    page.refresh_from_db()
    assert (page.status, page.health_status, page.pause_reason) == ("active", "healthy", "")
    new_access, new_refresh = tokens_of(page)
    assert new_access != old_access and new_refresh and new_refresh != old_refresh
    assert audit_actions(page)[-2:] == ["reconnect", "resume"]
    reconnect_row = ConnectionAudit.objects.get(connection=page, action="reconnect", actor=f"user:{owner.pk}")
    assert reconnect_row.actor == f"user:{owner.pk}" and reconnect_row.details["account_checked"] == ORG_ID
    assert new_access not in str(reconnect_row.details) and new_refresh not in str(reconnect_row.details)
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED  # released to the pipeline as before

    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert SandboxObject.objects.filter(platform="linkedin", kind="post", data__commentary=post.content).count() == 1


def test_a_partner_that_sends_no_refresh_token_keeps_the_stored_one(sandbox, tenant, owner, client):
    # Meta issues no refresh tokens: a reconnect must never blank the stored one.
    page = page_connection(tenant)
    Connection.objects.filter(pk=page.pk).update(refresh_token="kept-refresh-token")
    pause_by_the_pipeline(page, faults.REVOKE_TOKEN)
    client.force_login(owner)

    response = client.get(CALLBACK, reconnect_round_trip(client, page))

    assert response.status_code == 302
    page.refresh_from_db()
    assert page.status == "active" and tokens_of(page)[1] == "kept-refresh-token"


# ------------------------------------------------------------------ with the wizard: backfill


def test_with_the_wizard_the_missed_post_waits_for_the_users_choice_then_publishes_once(sandbox, tenant, owner, client):
    wizard(tenant, True)
    page, post = paused_page(tenant)
    client.force_login(owner)

    response = client.get(CALLBACK, reconnect_round_trip(client, page))

    assert response.status_code == 302 and response.url == reverse("connections:backfill", args=[page.pk])
    page.refresh_from_db()
    post.refresh_from_db()
    assert page.status == "active" and post.status == Post.Status.WAITING_RECONNECT  # not sent without a choice
    run_publish_worker()
    post.refresh_from_db()
    assert post.status == Post.Status.WAITING_RECONNECT

    body = client.get(response.url).content.decode()
    assert post.content in body and "Publish all now" in body
    client.post(response.url, {"all": "publish"})
    client.post(response.url, {"all": "publish"})  # a second click changes nothing
    run_publish_worker()

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert SandboxObject.objects.filter(platform="linkedin", kind="post", data__commentary=post.content).count() == 1


def test_a_skipped_missed_post_is_marked_with_who_and_when_and_never_sent(sandbox, tenant, owner, client):
    wizard(tenant, True)
    page, post = paused_page(tenant)
    client.force_login(owner)
    client.get(CALLBACK, reconnect_round_trip(client, page))

    response = client.post(reverse("connections:backfill", args=[page.pk]), {f"choice_{post.pk}": "skip"}, follow=True)

    post.refresh_from_db()
    assert post.status == Post.Status.SKIPPED and post.skipped_by == owner and post.skipped_at is not None
    assert "1 skipped" in response.content.decode()
    run_publish_worker()
    assert not SandboxObject.objects.filter(platform="linkedin", kind="post").exists()


# ------------------------------------------------------------------ scope fixing


def test_a_missing_permission_pause_shows_which_permissions_first_then_asks_for_them(sandbox, tenant, owner, client):
    wizard(tenant, True)
    page = linkedin_page(tenant, external_account_id="20000009")
    mark_connection_needs_scopes(page, ["w_organization_social"])
    client.force_login(owner)

    first = start(client, page)

    assert first.url == reverse("connections:reconnect_permissions", args=[page.pk])
    body = client.get(first.url).content.decode()
    assert "w_organization_social" in body and "Needed to publish text posts, publish images and publish videos." in body
    onwards = start(client, page, permissions_seen="1")
    assert "w_organization_social" in authorize_query(onwards)["scope"].split()


def test_unticked_permissions_send_the_user_back_to_scope_fixing_and_change_nothing(sandbox, tenant, owner, client):
    # Meta lets the user untick permissions (LinkedIn does not: all or none).
    wizard(tenant, True)
    page = page_connection(tenant)
    pause_by_the_pipeline(page, faults.REVOKE_TOKEN)
    before = tokens_of(page)
    client.force_login(owner)
    answer = reconnect_round_trip(client, page, grant=["pages_show_list", "pages_read_engagement"])

    response = client.get(CALLBACK, answer, follow=True)

    assert response.redirect_chain[-1][0] == reverse("connections:reconnect_permissions", args=[page.pk])
    body = response.content.decode()
    assert "pages_manage_posts" in body and "were not approved" in body
    page.refresh_from_db()
    assert page.is_paused and tokens_of(page) == before
    assert ConnectionAudit.objects.get(connection=page, action="scopes_missing").details["missing_scopes"] == [
        "pages_manage_posts"
    ]


def test_without_the_wizard_unticked_permissions_are_refused_plainly(sandbox, tenant, owner, client):
    wizard(tenant, False)
    page = page_connection(tenant)
    pause_by_the_pipeline(page, faults.REVOKE_TOKEN)
    client.force_login(owner)
    answer = reconnect_round_trip(client, page, grant=["pages_show_list", "pages_read_engagement"])

    response = client.get(CALLBACK, answer)

    assert response.status_code == 409
    assert "pages_manage_posts" in response.content.decode()
    assert client.get(reverse("connections:reconnect_permissions", args=[page.pk])).status_code == 404
    page.refresh_from_db()
    assert page.is_paused


# ------------------------------------------------------------------ refusals that change nothing


def test_a_different_account_coming_back_is_refused_and_changes_nothing(sandbox, tenant, owner, client):
    page, post = paused_page(tenant)
    SandboxAccount.objects.create(platform="linkedin", account_id="20000002", name="Someone Else's Page",
                                  account_type="organization")
    before = tokens_of(page)
    client.force_login(owner)

    response = client.get(CALLBACK, reconnect_round_trip(client, page, account_id="20000002"))

    assert response.status_code == 409
    body = response.content.decode()
    assert "You connected a different account (Someone Else&#x27;s Page)" in body and "Nothing changed" in body
    page.refresh_from_db()
    assert page.is_paused and tokens_of(page) == before
    assert audit_actions(page)[-1] == "auto_pause"


def test_a_link_works_once(sandbox, tenant, owner, client):
    page, _ = paused_page(tenant)
    client.force_login(owner)
    answer = reconnect_round_trip(client, page)
    client.get(CALLBACK, answer)
    after_first = audit_actions(page)

    again = client.get(CALLBACK, answer)

    assert again.status_code == 400 and "used already" in again.content.decode()
    assert audit_actions(page) == after_first


def test_a_tampered_link_is_refused(sandbox, tenant, owner, client):
    page, _ = paused_page(tenant)
    client.force_login(owner)
    answer = reconnect_round_trip(client, page)
    forged = {**answer, "state": answer["state"][:-3] + ("abc" if not answer["state"].endswith("abc") else "xyz")}

    response = client.get(CALLBACK, forged)

    assert response.status_code == 400 and "not valid" in response.content.decode()
    page.refresh_from_db()
    assert page.is_paused and ReconnectLink.objects.get().used_at is None


def test_an_expired_link_is_refused(sandbox, tenant, owner, client, monkeypatch):
    page, _ = paused_page(tenant)
    client.force_login(owner)
    answer = reconnect_round_trip(client, page)
    later = timezone.now().timestamp() + 16 * 60
    monkeypatch.setattr(signing.time, "time", lambda: later)  # the signature's clock: 16 minutes on

    response = client.get(CALLBACK, answer)

    assert response.status_code == 400 and "expired" in response.content.decode()
    page.refresh_from_db()
    assert page.is_paused


def test_another_users_link_is_refused_even_in_the_same_tenant(sandbox, tenant, owner, outsider, client):
    page, _ = paused_page(tenant)
    client.force_login(owner)
    answer = reconnect_round_trip(client, page)

    for someone in (admin_of(tenant), outsider):
        client.force_login(someone)
        response = client.get(CALLBACK, answer)
        assert response.status_code == 403 and "made for someone else" in response.content.decode()
    page.refresh_from_db()
    assert page.is_paused and ReconnectLink.objects.get().used_at is None


def test_cancelling_at_the_partner_changes_nothing(sandbox, tenant, owner, client):
    page, _ = paused_page(tenant)
    client.force_login(owner)

    response = client.get(CALLBACK, reconnect_round_trip(client, page, action="deny"), follow=True)

    assert "You cancelled the sign-in" in response.content.decode()
    page.refresh_from_db()
    assert page.is_paused


# ------------------------------------------------------------------ who may reconnect


@pytest.mark.parametrize(("who", "expected"), [
    ("owner", 302), ("admin", 302), ("member", 403), ("outsider", 404), ("operator", 404),
])
def test_the_role_matrix_for_the_reconnect_button(sandbox, request, tenant, client, who, expected):
    page, _ = paused_page(tenant)
    user = admin_of(tenant) if who == "admin" else request.getfixturevalue(who)
    client.force_login(user)

    response = start(client, page)

    assert response.status_code == expected
    assert ReconnectLink.objects.count() == (1 if expected == 302 else 0)
    for url in (reverse("connections:backfill", args=[page.pk]),):
        assert client.get(url).status_code == (200 if expected == 302 else expected)


def test_reconnect_is_post_only_and_anonymous_users_go_to_login(sandbox, tenant, owner, client):
    page, _ = paused_page(tenant)
    assert start(client, page).url.startswith("/accounts/login/")
    client.force_login(owner)
    assert client.get(reverse("connections:reconnect", args=[page.pk])).status_code == 405
    assert not ReconnectLink.objects.exists()


def test_a_member_sees_the_banner_and_is_told_to_ask_an_owner_or_admin(sandbox, tenant, member, client):
    page, _ = paused_page(tenant)
    client.force_login(member)

    body = client.get(reverse("connections:posts")).content.decode()

    assert "LinkedIn Page: Acme Page is disconnected" in body
    assert "Only an owner or admin of Acme can reconnect it" in body
    assert reverse("connections:reconnect", args=[page.pk]) not in body


def test_no_token_ever_appears_in_a_page(sandbox, tenant, owner, client):
    wizard(tenant, True)
    page, post = paused_page(tenant)
    client.force_login(owner)
    client.get(CALLBACK, reconnect_round_trip(client, page))
    access, refresh = tokens_of(page)

    for url in ("/posts/", "/channels/", "/channels/attention/", reverse("connections:backfill", args=[page.pk]),
                reverse("connections:reconnect_permissions", args=[page.pk])):
        body = client.get(url).content.decode()
        assert access not in body and refresh not in body, url
