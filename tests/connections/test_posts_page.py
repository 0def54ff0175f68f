"""The posts page: the tenant's posts with their status, and for a failure what happened and what to do."""

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Post
from recovery.publish_queue import publish_queue
from recovery.publishing import UNCONFIRMED_MESSAGE
from recovery.taxonomy import get_taxonomy_entry
from tests.factories import ConnectionFactory, PostFactory

pytestmark = pytest.mark.django_db

URL = "/posts/"


@pytest.fixture
def connection(tenant):
    return ConnectionFactory(tenant=tenant, platform="linkedin", external_account_name="Acme on LinkedIn")


def post(connection, **fields):
    return PostFactory(connection=connection, tenant=connection.tenant, **fields)


def test_the_page_is_mounted_under_the_connections_namespace():
    assert reverse("connections:posts") == URL


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_a_member_sees_each_status_and_for_failures_the_message_and_what_to_do(client, member, connection):
    post(connection, content="All good", status=Post.Status.PUBLISHED, published_at=timezone.now(),
         partner_post_id="urn:li:share:1")
    paused = ConnectionFactory(tenant=connection.tenant, paused=True, pause_reason="")
    post(paused, content="Needs a reconnect", status=Post.Status.WAITING_RECONNECT, last_error_code="AUTH_EXPIRED")
    post(connection, content="Too long", status=Post.Status.DEAD, last_error_code="VALIDATION_ERROR")
    post(connection, content="Will retry", status=Post.Status.SCHEDULED, last_error_code="PARTNER_5XX",
         next_attempt_at=timezone.now())
    client.force_login(member)

    response = client.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    for status in ("Published", "Waiting for reconnect", "Not sent", "Retrying"):
        assert status in body
    assert "Dead-lettered" not in body  # the ops' word, not the user's
    for code in ("AUTH_EXPIRED", "VALIDATION_ERROR"):
        entry = get_taxonomy_entry(code)
        assert entry.user_message in body and entry.recovery_action in body
    assert get_taxonomy_entry("PARTNER_5XX").user_message in body  # a retry says so
    assert "urn:li:share:1" in body


def test_a_post_waiting_on_a_paused_channel_shows_the_channels_reason(client, member, tenant):
    paused = ConnectionFactory(tenant=tenant, paused=True, pause_reason="PERMISSION_INSUFFICIENT")
    post(paused, status=Post.Status.WAITING_RECONNECT)
    client.force_login(member)

    body = client.get(URL).content.decode()

    assert get_taxonomy_entry("PERMISSION_INSUFFICIENT").recovery_action in body


def test_another_tenants_posts_are_not_shown(client, outsider, connection):
    post(connection, content="Acme's secret plan")
    client.force_login(outsider)

    body = client.get(URL).content.decode()

    assert "Acme&#x27;s secret plan" not in body and "Acme's secret plan" not in body
    assert "No posts yet." in body


def test_the_list_costs_the_same_queries_for_3_posts_and_for_40(client, member, connection, django_assert_num_queries):
    client.force_login(member)
    for _ in range(2):
        post(connection, status=Post.Status.DEAD, last_error_code="MEDIA_ERROR")
    post(connection, status=Post.Status.WAITING_RECONNECT, last_error_code="AUTH_REVOKED")  # missed: the banner says so
    client.get(URL)  # warm the session

    # session, user, tenant, page count, posts with their connection, the attention summary; the banner:
    # paused channels, missed posts by channel, their channels, and the user's role (may they choose?)
    with django_assert_num_queries(11) as few:
        client.get(URL)
    for _ in range(37):
        post(connection, status=Post.Status.WAITING_RECONNECT, last_error_code="AUTH_REVOKED")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert len(response.context["rows"]) == 40


def test_a_post_that_used_up_its_retries_says_how_often_we_tried_not_that_we_will_retry(client, member, connection):
    post(connection, status=Post.Status.DEAD, last_error_code="PARTNER_5XX", attempts=6)
    client.force_login(member)

    body = client.get(URL).content.decode()

    assert "The partner had a server problem. We tried 6 times, then stopped: this post was not sent." in body
    assert "We will retry" not in body and "Nothing to do: we retry" not in body
    assert "our support team sees this post" in body


def test_a_pausing_failure_without_auto_pause_does_not_claim_the_channel_was_paused(client, member, connection):
    post(connection, status=Post.Status.DEAD, last_error_code="AUTH_EXPIRED", attempts=1)
    client.force_login(member)

    body = client.get(URL).content.decode()

    assert "Your connection to this account has expired. This post was not sent." in body
    assert "We paused" not in body and "your scheduled posts are kept" not in body
    assert "Reconnect the account (or fix it on the partner&#x27;s site), then schedule this post again." in body


def test_an_unconfirmed_post_asks_the_user_to_look_and_offers_two_answers(client, member, connection):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED, last_error_code="TIMEOUT",
                       last_error_message=UNCONFIRMED_MESSAGE)
    client.force_login(member)

    body = client.get(URL).content.decode()

    assert "Check needed" in body and UNCONFIRMED_MESSAGE in body
    assert "Look at Acme on LinkedIn on LinkedIn, then tell us:" in body
    assert "We will retry" not in body  # TIMEOUT's own message would promise a retry that will not come
    assert reverse("connections:post_confirm_published", args=[unconfirmed.pk]) in body
    assert reverse("connections:post_publish_again", args=[unconfirmed.pk]) in body


def test_a_summary_counts_the_posts_that_need_the_user_and_filters_to_them(client, member, connection):
    post(connection, content="fine", status=Post.Status.PUBLISHED, published_at=timezone.now())
    post(connection, content="to check", status=Post.Status.UNCONFIRMED, last_error_code="TIMEOUT")
    post(connection, content="lost one", status=Post.Status.DEAD, last_error_code="MEDIA_ERROR")
    post(connection, content="lost two", status=Post.Status.DEAD, last_error_code="CONTENT_REJECTED")
    post(connection, content="waits", status=Post.Status.WAITING_RECONNECT, last_error_code="AUTH_REVOKED")
    client.force_login(member)

    body = client.get(URL).content.decode()
    assert "1 post to check" in body and "2 posts not sent" in body and "1 post waiting for a channel" in body

    only = client.get(URL, {"show": "attention"})
    shown = {row.post.content for row in only.context["rows"]}
    assert shown == {"to check", "lost one", "lost two", "waits"}


def test_nothing_to_do_shows_no_summary(client, member, connection):
    post(connection, status=Post.Status.PUBLISHED, published_at=timezone.now())
    client.force_login(member)
    assert "need you" not in client.get(URL).content.decode()


# -- the user's two answers about an unconfirmed post, against the cast -------------------------

ACTIONS = {
    "connections:post_confirm_published": Post.Status.PUBLISHED,
    "connections:post_publish_again": Post.Status.SCHEDULED,
}


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("who", ["owner", "member"])
def test_owner_and_member_can_answer_for_their_tenants_unconfirmed_post(
    request, client, connection, name, who, django_capture_on_commit_callbacks
):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED, last_error_code="TIMEOUT", attempts=1)
    client.force_login(request.getfixturevalue(who))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(name, args=[unconfirmed.pk]), follow=True)

    assert response.redirect_chain == [(URL, 302)]
    unconfirmed.refresh_from_db()
    assert unconfirmed.status == ACTIONS[name] and unconfirmed.last_error_code == ""
    # Sent again: one publish job, with a fresh set of retries; marked published: no job.
    assert publish_queue().count == (1 if name == "connections:post_publish_again" else 0)
    assert unconfirmed.attempts == (0 if name == "connections:post_publish_again" else 1)
    [message] = [str(m) for m in response.context["messages"]]
    assert message in ("Marked as published.", "The post will be sent again in a moment.")


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("who", ["outsider", "operator"])
def test_anyone_outside_the_tenant_gets_a_404_and_changes_nothing(request, client, connection, name, who):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED)
    client.force_login(request.getfixturevalue(who))

    assert client.post(reverse(name, args=[unconfirmed.pk])).status_code == 404
    assert client.post(reverse(name, args=[999999])).status_code == 404  # the same answer as a missing post

    unconfirmed.refresh_from_db()
    assert unconfirmed.status == Post.Status.UNCONFIRMED and publish_queue().count == 0


@pytest.mark.parametrize("name", ACTIONS)
def test_get_is_refused_with_405_and_changes_nothing(client, member, connection, name):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED)
    client.force_login(member)

    assert client.get(reverse(name, args=[unconfirmed.pk])).status_code == 405

    unconfirmed.refresh_from_db()
    assert unconfirmed.status == Post.Status.UNCONFIRMED


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_answers_go_to_login_and_change_nothing(client, connection, name):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED)

    response = client.post(reverse(name, args=[unconfirmed.pk]))

    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    unconfirmed.refresh_from_db()
    assert unconfirmed.status == Post.Status.UNCONFIRMED


@pytest.mark.parametrize("name", ACTIONS)
def test_answering_for_a_post_that_is_no_longer_unconfirmed_changes_nothing(client, member, connection, name):
    published = post(connection, status=Post.Status.PUBLISHED, published_at=timezone.now(), partner_post_id="p-1")
    client.force_login(member)

    response = client.post(reverse(name, args=[published.pk]), follow=True)

    assert "This post no longer waits for your answer." in response.content.decode()
    published.refresh_from_db()
    assert published.status == Post.Status.PUBLISHED and publish_queue().count == 0
