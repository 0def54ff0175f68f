"""Factories for the core models, with traits for the states tests need."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, Membership, PingSchedule, Post, Tenant
from webhooks.models import WebhookEvent


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.MEMBER


class PingScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PingSchedule


class ConnectionFactory(factory.django.DjangoModelFactory):
    """A connection with its ping schedule (due at once), as connection_create makes them."""

    class Meta:
        model = Connection
        skip_postgeneration_save = True  # the schedule points at the connection; nothing to save again

    tenant = factory.SubFactory(TenantFactory)
    platform = "linkedin"
    external_account_id = factory.Sequence(lambda n: f"acct-{n}")
    external_account_name = factory.Sequence(lambda n: f"Account {n}")
    granted_scopes = factory.LazyFunction(list)
    access_token = factory.Sequence(lambda n: f"access-token-{n}")
    refresh_token = factory.Sequence(lambda n: f"refresh-token-{n}")
    ping_schedule = factory.RelatedFactory(PingScheduleFactory, factory_related_name="connection")

    class Params:
        paused = factory.Trait(
            status=Connection.Status.ATTENTION,
            health_status=Connection.Health.CRITICAL,
            pause_reason="AUTH_EXPIRED",
            pause_description="The access token expired.",
            paused_at=factory.LazyFunction(timezone.now),
        )


class ConnectionAuditFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConnectionAudit

    connection = factory.SubFactory(ConnectionFactory)
    action = ConnectionAudit.Action.PING_OK


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    connection = factory.SubFactory(ConnectionFactory)
    tenant = factory.SelfAttribute("connection.tenant")
    kind = Post.Kind.TEXT
    content = factory.Sequence(lambda n: f"Post number {n}")
    scheduled_at = factory.LazyFunction(timezone.now)


class WebhookEventFactory(factory.django.DjangoModelFactory):
    """A stored partner webhook event: a Page activity notification, pending unless told otherwise."""

    class Meta:
        model = WebhookEvent

    platform = "meta"
    event_id = factory.Sequence(lambda n: f"sha256:event-{n}")
    event_type = "page:feed"
