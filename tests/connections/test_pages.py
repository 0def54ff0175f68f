"""The product's own pages: channels, the header, the banner, sign-out, 404, the favicon, and the post form."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.capabilities import profile_for_connection
from connections.models import Connection, ConnectionAudit, Post
from recovery.autopause import auto_pause_connection
from recovery.deadletter import dead_letter_create
from recovery.models import DeadLetter, ReconnectLink
from recovery.taxonomy import ClassifiedError, ErrorCode
from tests.factories import ConnectionAuditFactory, ConnectionFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(tenant):
    """One channel of each network, and the LinkedIn Page paused for an expired token."""
    made = {
        "page": ConnectionFactory(tenant=tenant, platform="meta", account_type="facebook_page",
                                  external_account_name="Acme Bakery", token_expires_at=timezone.now() + timedelta(days=50)),
        "instagram": ConnectionFactory(tenant=tenant, platform="meta", account_type="instagram_business",
                                       external_account_name="acmebakery"),
        "linkedin": ConnectionFactory(tenant=tenant, platform="linkedin", account_type="organization",
                                      external_account_id="10000001", external_account_name="Acme Page"),
        "tiktok": ConnectionFactory(tenant=tenant, platform="tiktok", external_account_name="@acme"),
        "gbp": ConnectionFactory(tenant=tenant, platform="gbp", external_account_name="Acme Cafe"),
        "mailchimp": ConnectionFactory(tenant=tenant, platform="mailchimp", external_account_name="Newsletter"),
    }
    for connection in made.values():  # each granted what its capabilities need
        profile = profile_for_connection(connection)
        Connection.objects.filter(pk=connection.pk).update(granted_scopes=profile.all_scopes() + ["video.publish"])
    auto_pause_connection(tenant.pk, made["linkedin"].pk, "AUTH_EXPIRED")
    ConnectionAuditFactory(connection=made["page"], action=ConnectionAudit.Action.PING_OK)
    return made


def test_the_channels_page_names_each_network_and_offers_reconnect_where_needed(client, owner, channels):
    client.force_login(owner)

    body = client.get("/channels/").content.decode()

    for network in ("Facebook Page", "Instagram", "LinkedIn Page", "TikTok", "Google Business Profile",
                    "Mailchimp audience"):
        assert f"<th scope=\"row\">{network}</th>" in body, network
    assert "Disconnected" in body and "Connected" in body and "Not working" in body
    assert body.count('class="primary" aria-label="Reconnect') == 1
    assert reverse("connections:reconnect", args=[channels["linkedin"].pk]) in body
    assert channels["page"].token_expires_at.strftime("%Y-%m-%d %H:%M") in body
    for connection in channels.values():
        assert connection.access_token not in body and connection.refresh_token not in body


def test_a_member_sees_the_channels_but_no_reconnect_button(client, member, channels):
    client.force_login(member)

    body = client.get("/channels/").content.decode()

    assert "Acme Page" in body and "Ask an owner or admin to reconnect it." in body
    assert reverse("connections:reconnect", args=[channels["linkedin"].pk]) not in body


def test_another_tenants_channels_and_banner_are_not_shown(client, outsider, channels):
    client.force_login(outsider)

    body = client.get("/channels/").content.decode()

    assert "Acme Page" not in body and "No channels connected yet." in body
    assert "is disconnected" not in body
    assert client.post(reverse("connections:reconnect", args=[channels["linkedin"].pk])).status_code == 404
    assert client.get(reverse("connections:backfill", args=[channels["linkedin"].pk])).status_code == 404


def test_the_header_names_the_user_and_the_workspace_and_every_page_shows_the_banner(client, owner, channels):
    client.force_login(owner)

    for url in ("/posts/", "/channels/", "/posts/new/", "/no-such-page/"):
        body = client.get(url).content.decode()
        assert "owner <span class=\"workspace\">· Acme</span>" in body, url
        assert "LinkedIn Page: Acme Page is disconnected" in body, url


def test_the_banner_fragment_is_what_the_script_refreshes(client, owner, channels):
    client.force_login(owner)

    body = client.get(reverse("connections:attention_banner")).content.decode()

    assert body.strip().startswith('<div id="attention-banner"') and "Acme Page is disconnected" in body


def test_signing_out_stays_in_the_product(client, owner):
    client.force_login(owner)

    response = client.post("/accounts/logout/")

    body = response.content.decode()
    assert "You are signed out" in body and "Thanks for spending some quality time" not in body


def test_a_missing_page_is_the_products_own_404_and_there_is_a_favicon(client, owner):
    client.force_login(owner)

    missing = client.get("/no-such-page/")
    favicon = client.get("/favicon.ico")

    assert missing.status_code == 404 and "Page not found" in missing.content.decode()
    assert favicon.status_code == 301 and favicon.url.endswith("favicon.svg")
    assert client.get(favicon.url).status_code == 200


def test_a_post_on_a_paused_channel_is_held_not_scheduled(client, member, channels):
    PostFactory(connection=channels["linkedin"], scheduled_at=timezone.now() + timedelta(hours=2))
    client.force_login(member)

    body = client.get("/posts/").content.decode()

    assert ">Held<" in body and "Held until LinkedIn Page: Acme Page is reconnected" in body
    assert ">Scheduled<" not in body


def test_a_content_failure_shows_the_partners_own_reason_masked(client, member, channels):
    page = channels["page"]
    said = "(#100) The message is too long. Token EAAGm0PX4ZCpsBAKZCZCsecretsecretsecretsecretsecretZDZD is fine."
    PostFactory(connection=page, status=Post.Status.DEAD, last_error_code="VALIDATION_ERROR", last_error_message=said)
    client.force_login(member)

    body = client.get("/posts/").content.decode()

    assert "The partner said: “(#100) The message is too long." in body
    assert "EAAGm0PX4ZCpsBAKZCZCsecret" not in body


# ------------------------------------------------------------------ the post form


def post_form(client, channel, **fields):
    data = {"channel": channel.pk, "kind": "text", "content": "Fresh bread", "media_url": "",
            "scheduled_at": (timezone.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"), **fields}
    return client.post(reverse("connections:post_new"), data)


def test_a_post_is_scheduled_through_the_form(client, member, channels):
    client.force_login(member)

    response = post_form(client, channels["page"])

    assert response.status_code == 302
    post = Post.objects.get()
    assert (post.connection, post.kind, post.content, post.status) == (channels["page"], "text", "Fresh bread", "scheduled")


def test_the_capability_guard_says_what_to_fix_and_nothing_is_saved(client, member, channels):
    client.force_login(member)

    too_long = post_form(client, channels["linkedin"], content="x" * 3412)
    text_on_instagram = post_form(client, channels["instagram"])

    assert "LinkedIn posts are limited to 3,000 characters; this one has 3,412." in too_long.content.decode()
    assert "Instagram accounts cannot publish text-only posts; add an image or video." in (
        text_on_instagram.content.decode())
    assert not Post.objects.exists()


def test_another_tenants_channel_cannot_be_chosen(client, member, other_tenant):
    elsewhere = ConnectionFactory(tenant=other_tenant, platform="meta", account_type="facebook_page")
    client.force_login(member)

    response = post_form(client, elsewhere)

    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Post.objects.exists()


def test_a_post_that_failed_on_its_content_is_edited_and_scheduled_again(client, member, channels):
    page = channels["page"]
    post = PostFactory(connection=page, status=Post.Status.DEAD, last_error_code="VALIDATION_ERROR", attempts=1)
    classified = ClassifiedError(code=ErrorCode.VALIDATION_ERROR, platform="meta")
    dead_letter_create(job_kind="post_publish", payload={"post_id": post.pk}, tenant_id=page.tenant_id,
                       connection_id=page.pk, post_id=post.pk, platform="meta", classification=classified,
                       attempts=1, failed_at=timezone.now())
    scheduled_for = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    client.force_login(member)
    assert "Edit and schedule again" in client.get("/posts/").content.decode()

    response = client.post(reverse("connections:post_edit", args=[post.pk]), {
        "channel": page.pk, "kind": "text", "content": "Shorter now", "media_url": "",
        "scheduled_at": scheduled_for.strftime("%Y-%m-%dT%H:%M"),
    })

    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.status, post.content, post.attempts, post.last_error_code) == ("scheduled", "Shorter now", 0, "")
    assert post.scheduled_at == scheduled_for
    assert DeadLetter.objects.get().status == DeadLetter.Status.RESOLVED


def test_only_a_post_that_failed_on_its_content_can_be_edited(client, member, outsider, channels):
    scheduled = PostFactory(connection=channels["page"])
    expired = PostFactory(connection=channels["page"], status=Post.Status.DEAD, last_error_code="PARTNER_5XX")
    fixable = PostFactory(connection=channels["page"], status=Post.Status.DEAD, last_error_code="MEDIA_ERROR")

    client.force_login(member)
    assert client.get(reverse("connections:post_edit", args=[scheduled.pk])).status_code == 404
    assert client.get(reverse("connections:post_edit", args=[expired.pk])).status_code == 404
    assert client.get(reverse("connections:post_edit", args=[fixable.pk])).status_code == 200
    client.force_login(outsider)
    assert client.get(reverse("connections:post_edit", args=[fixable.pk])).status_code == 404


def test_a_channel_missing_a_permission_is_refused_by_the_guard_with_what_to_do(client, member, channels):
    Connection.objects.filter(pk=channels["page"].pk).update(granted_scopes=[])
    client.force_login(member)

    body = post_form(client, channels["page"]).content.decode()

    assert "lacks the permissions pages_manage_posts, pages_read_engagement" in body and "reconnect it" in body
    assert not Post.objects.exists()


def test_the_channels_page_costs_the_same_queries_for_six_channels_and_for_sixteen(
    client, owner, tenant, channels, django_assert_num_queries
):
    client.force_login(owner)
    client.get("/channels/")  # warm the session

    # session, user, tenant, the attention items (paused with who paused them, their waiting posts, missed
    # posts: read once for the rows and the banner), the channels with their checks, the user's role
    with django_assert_num_queries(9) as few:
        client.get("/channels/")
    for n in range(10):
        connection = ConnectionFactory(tenant=tenant, platform="tiktok", external_account_name=f"@more{n}")
        if n % 2:
            auto_pause_connection(tenant.pk, connection.pk, "AUTH_REVOKED")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/channels/")
    assert len(response.context["rows"]) == 16


def test_a_channel_ops_paused_cannot_be_undone_by_a_reconnect(client, owner, tenant, channels):
    page = channels["page"]
    auto_pause_connection(tenant.pk, page.pk, "ACCOUNT_RESTRICTED", actor="ops:alice",
                          audit_action=ConnectionAudit.Action.PAUSE)
    client.force_login(owner)

    banner = client.get("/channels/").content.decode()
    response = client.post(reverse("connections:reconnect", args=[page.pk]), follow=True)

    assert "Facebook Page: Acme Bakery was paused by our support team" in banner
    assert reverse("connections:reconnect", args=[page.pk]) not in banner
    assert "was paused by our support team; they will resume it." in response.content.decode()
    assert not ReconnectLink.objects.exists()
    page.refresh_from_db()
    assert page.is_paused
