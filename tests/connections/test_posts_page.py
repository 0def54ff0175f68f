"""The posts page: the tenant's posts with their status, and for a failure what happened and what to do."""

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Post
from recovery.publishing import publish_queue
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
    post(connection, content="Needs a reconnect", status=Post.Status.WAITING_RECONNECT, last_error_code="AUTH_EXPIRED")
    post(connection, content="Too long", status=Post.Status.DEAD, last_error_code="VALIDATION_ERROR")
    post(connection, content="Will retry", status=Post.Status.SCHEDULED, last_error_code="PARTNER_5XX",
         next_attempt_at=timezone.now())
    client.force_login(member)

    response = client.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    for status in ("Published", "Waiting for reconnect", "Dead-lettered", "Scheduled"):
        assert status in body
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
    for _ in range(3):
        post(connection, status=Post.Status.DEAD, last_error_code="MEDIA_ERROR")
    client.get(URL)  # warm the session

    # session, user, tenant, page count, posts with their connection
    with django_assert_num_queries(5) as few:
        client.get(URL)
    for _ in range(37):
        post(connection, status=Post.Status.WAITING_RECONNECT, last_error_code="AUTH_REVOKED")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert len(response.context["rows"]) == 40


def test_an_unconfirmed_post_offers_the_users_two_answers(client, member, connection):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED, last_error_code="TIMEOUT")
    client.force_login(member)

    body = client.get(URL).content.decode()

    assert reverse("connections:post_confirm_published", args=[unconfirmed.pk]) in body
    assert reverse("connections:post_publish_again", args=[unconfirmed.pk]) in body


def test_the_user_confirms_an_unconfirmed_post_was_published(client, member, connection):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED, last_error_code="TIMEOUT")
    client.force_login(member)

    response = client.post(reverse("connections:post_confirm_published", args=[unconfirmed.pk]))

    assert response.status_code == 302 and response.url == URL
    unconfirmed.refresh_from_db()
    assert unconfirmed.status == Post.Status.PUBLISHED and unconfirmed.last_error_code == ""


def test_the_user_sends_an_unconfirmed_post_again(client, member, connection, django_capture_on_commit_callbacks):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED, last_error_code="TIMEOUT", attempts=1)
    client.force_login(member)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("connections:post_publish_again", args=[unconfirmed.pk]))

    assert response.status_code == 302
    unconfirmed.refresh_from_db()
    assert unconfirmed.status == Post.Status.SCHEDULED and unconfirmed.attempts == 0
    assert publish_queue().count == 1


@pytest.mark.parametrize("name", ["connections:post_confirm_published", "connections:post_publish_again"])
def test_deciding_for_another_tenants_post_is_a_404_and_get_is_refused(client, outsider, member, connection, name):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED)
    url = reverse(name, args=[unconfirmed.pk])

    client.force_login(outsider)
    assert client.post(url).status_code == 404
    client.force_login(member)
    assert client.get(url).status_code == 405
    unconfirmed.refresh_from_db()
    assert unconfirmed.status == Post.Status.UNCONFIRMED


def test_deciding_anonymously_goes_to_login(client, connection):
    unconfirmed = post(connection, status=Post.Status.UNCONFIRMED)
    response = client.post(reverse("connections:post_publish_again", args=[unconfirmed.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url
