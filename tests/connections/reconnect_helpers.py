"""Helpers for the reconnect tests: a channel paused by a real classified error, and the round trip through the partner.

    page = paused_page(tenant)                    # a LinkedIn Page the pipeline paused (token expired), a post waiting
    answer = reconnect_round_trip(client, page)   # Reconnect, consent at the sandbox, back: the partner's query params
    response = client.get(CALLBACK, answer)       # the callback
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from django.urls import reverse

from connections.models import Connection, Membership, Post
from recovery.flags import RECONNECT_WIZARD_ENABLED, flag_disable_for_tenant, flag_enable_for_tenant
from recovery.models import TenantFlag
from sandbox import faults
from tests.factories import MembershipFactory
from tests.recovery.pipeline_helpers import autopause, due_post, enqueue_due, run_publish_worker
from tests.sandbox.sandbox_helpers import consent, linked_connection

CALLBACK = "/channels/reconnect/callback/"
ORG_ID = "20000001"
ORG_SCOPES = ["openid", "profile", "rw_organization_admin", "w_organization_social", "r_organization_social"]


def wizard(tenant, on: bool) -> None:
    """Switch the reconnect wizard (scope fixing, backfill) on or off for the tenant."""
    TenantFlag.objects.get_or_create(name=RECONNECT_WIZARD_ENABLED)
    (flag_enable_for_tenant if on else flag_disable_for_tenant)(RECONNECT_WIZARD_ENABLED, tenant.pk)


def admin_of(tenant, username="admin"):
    return MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN, user__username=username).user


def linkedin_page(tenant, **fields):
    fields.setdefault("external_account_id", ORG_ID)
    fields.setdefault("external_account_name", "Acme Page")
    return linked_connection("linkedin", scopes=ORG_SCOPES, tenant=tenant, account_type="organization", **fields)


def pause_by_the_pipeline(connection, fault=faults.EXPIRE_TOKEN, content="Waiting for the reconnect", **params) -> Post:
    """A due post the partner refuses with `fault`: a real worker classifies it, pauses the channel, the post waits.

    An expired token pauses only when no refresh token can renew it (token upkeep refreshes and sends again
    otherwise): the connection is that of an app without LinkedIn's programmatic refresh tokens, as most are.
    """
    autopause(connection.tenant, True)
    if fault == faults.EXPIRE_TOKEN:
        Connection.objects.filter(pk=connection.pk).update(refresh_token="", refresh_token_expires_at=None)
    faults.set_fault(connection.platform, fault, account_id=connection.external_account_id, **params)
    post = due_post(connection, content=content)
    enqueue_due()
    run_publish_worker()
    post.refresh_from_db()
    connection.refresh_from_db()
    assert connection.is_paused and post.status == Post.Status.WAITING_RECONNECT, (connection.status, post.status)
    return post


def paused_page(tenant) -> tuple:
    """(a LinkedIn Page paused because its token expired, its post waiting for the reconnect)."""
    page = linkedin_page(tenant)
    return page, pause_by_the_pipeline(page)


def start(client, connection, **data):
    """POST the Reconnect button; the response (a redirect to the partner, or to the permissions page)."""
    return client.post(reverse("connections:reconnect", args=[connection.pk]), data)


def reconnect_round_trip(client, connection, *, account_id=None, grant=None, action="allow", **data) -> dict:
    """Reconnect, then consent at the sandbox partner as a browser would; the query the partner sends back."""
    response = start(client, connection, **data)
    assert response.status_code == 302, response.status_code
    return consent(requests.Session(), response.url, account_id=account_id, grant=grant, action=action)


def authorize_query(response) -> dict:
    """The query parameters of the partner URL a Reconnect redirected to."""
    return {key: values[0] for key, values in parse_qs(urlsplit(response.url).query).items()}
