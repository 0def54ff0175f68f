"""Mails about a tenant's channels: one when a channel pauses, one when it is back, one before a sign-in ends.

Rules:
- They go to the tenant's owners and admins (`tenant_admin_emails`), one message per person (no
  one sees the others' addresses), through Django's email backend (the console locally, locmem in
  tests).
- One mail per pause, not per failed post: the pause service calls `notify_connection_paused`
  only when its pause changed the connection (a second worker's pause of the same connection
  changes nothing), and the mail job is enqueued once that pause commits. Likewise one mail
  per resume (`notify_connection_back`).
- A mail names the channel, says what happened in the same words as the banner
  (recovery.attention.pause_words) and links to the channels page. It never holds a token or a
  reconnect link: a reconnect link is made by a signed-in click on the Reconnect button only.
- The mail is sent by an RQ job (recovery.jobs), not by the pausing process: a pause sits on the
  publish path, and a slow or failing mail server must neither slow it nor undo it.
- A pause mail whose pause is over by the time the job runs (resumed, or paused again later) is
  not sent: the user would be told about something that is no longer true.
- The reconnect notice (token upkeep, 7 days before a sign-in only a person can renew ends) is sent
  by its own job (recovery.token_upkeep), which records it once it went out.
"""

from __future__ import annotations

import logging
from datetime import datetime

import django_rq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from connections.channels import channel_label
from connections.models import Connection, Membership
from recovery.channel_words import pause_words_for
from recovery.policies import get_redis

logger = logging.getLogger(__name__)

# Dotted paths: the jobs module (an interface) imports this module, never the other way round.
PAUSE_MAIL_JOB = "recovery.jobs.connection_pause_mail_job"
BACK_MAIL_JOB = "recovery.jobs.connection_back_mail_job"
MAIL_QUEUE = "default"
# The roles that hear about a channel's pause (and may reconnect it: docs/reconnect.md).
NOTIFIED_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def tenant_admin_emails(tenant_id: int) -> list[str]:
    """The email addresses of the tenant's active owners and admins, sorted, each once."""
    emails = (
        get_user_model()
        .objects.filter(memberships__tenant_id=tenant_id, memberships__role__in=NOTIFIED_ROLES, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted(set(emails))


def _mail(subject: str, body: str, recipients: list[str]) -> None:
    """One message per recipient; raises what the email backend raises."""
    send_mass_mail([(subject, body, None, [email]) for email in recipients], fail_silently=False)


def channels_page_url() -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse('connections:channels')}"


def _channel_mail_body(*paragraphs: str) -> str:
    """A pause or back mail: the greeting, `paragraphs`, the channels page, and why the reader gets it."""
    return "\n\n".join(
        [
            "Hello,",
            *paragraphs,
            f"Your channels: {channels_page_url()}",
            "You receive this because you are an owner or admin of this workspace.",
        ]
    )


def _enqueue(job: str, *args) -> None:
    # The policies' cached Redis client: a pause sits on the publish path, and django_rq.get_queue() alone
    # would open a new connection on every call.
    queue = django_rq.get_queue(MAIL_QUEUE, connection=get_redis())
    queue.enqueue(job, *args, description=f"{job.rsplit('.', 1)[-1]}{args}")


def notify_connection_paused(connection_id: int, paused_at: datetime) -> None:
    """The pause mail of this pause, sent by a job enqueued once the pause commits (now, outside a transaction)."""
    transaction.on_commit(lambda: _enqueue(PAUSE_MAIL_JOB, connection_id, paused_at.isoformat()))


def notify_connection_back(connection_id: int) -> None:
    """The "it is back" mail, sent by a job enqueued once the resume commits."""
    transaction.on_commit(lambda: _enqueue(BACK_MAIL_JOB, connection_id))


def connection_pause_mail_send(connection_id: int, paused_at: str) -> int:
    """Send the pause mail of the pause that started at `paused_at` (ISO 8601); returns how many it went to.

    Sends nothing (0) when the connection is gone, no longer paused, paused again since, or its
    tenant has no owner or admin with an email address.
    """
    connection = Connection.objects.without_tokens().select_related("tenant").filter(pk=connection_id).first()
    if connection is None or not connection.is_paused or connection.paused_at is None:
        return 0
    if connection.paused_at != datetime.fromisoformat(paused_at):
        return 0
    recipients = tenant_admin_emails(connection.tenant_id)
    if not recipients:
        return 0
    words = pause_words_for(connection)
    body = _channel_mail_body(
        f"{words.headline} (since {connection.paused_at:%Y-%m-%d %H:%M} UTC), in {connection.tenant.name}.",
        words.reason,
        f"What to do: {words.todo}",
    )
    _mail(words.headline, body, recipients)
    logger.info("pause mail sent", extra={"connectionId": connection_id, "recipients": len(recipients)})
    return len(recipients)


def connection_back_mail_send(connection_id: int) -> int:
    """Send the "it is back" mail; returns how many it went to (0 when it is paused again or gone)."""
    connection = Connection.objects.without_tokens().select_related("tenant").filter(pk=connection_id).first()
    if connection is None or connection.status != Connection.Status.ACTIVE:
        return 0
    recipients = tenant_admin_emails(connection.tenant_id)
    if not recipients:
        return 0
    label = channel_label(connection)
    body = _channel_mail_body(f"{label} is connected again, in {connection.tenant.name}. Posting to it has resumed.")
    _mail(f"{label} is connected again", body, recipients)
    logger.info("back mail sent", extra={"connectionId": connection_id, "recipients": len(recipients)})
    return len(recipients)


def reconnect_notice_message(connection: Connection, stops_at: datetime) -> tuple[str, str]:
    """(subject, body) of the mail telling the tenant that `connection` stops working at `stops_at` unless reconnected."""
    channel = channel_label(connection)
    day = timezone.localtime(stops_at).strftime("%A %d %B %Y")
    subject = f"Reconnect {channel} before {day}"
    body = (
        "Hello,\n\n"
        f"Your connection to {channel} stops working on {day}: the partner's sign-in ends then and "
        "only a person can renew it.\n\n"
        "To keep your scheduled posts going out, open your channels page and click Reconnect next to "
        f"this channel before that day:\n\n    {channels_page_url()}\n\n"
        "Nothing is lost if you miss it: posts wait for the reconnect and go out once you do.\n"
    )
    return subject, body


def send_reconnect_notice(connection: Connection, stops_at: datetime) -> list[str]:
    """Mail the tenant's owners and admins that `connection` needs a reconnect by `stops_at`; returns the recipients.

    Raises what the email backend raises (the caller records the notice only once it went out).
    """
    recipients = tenant_admin_emails(connection.tenant_id)
    if not recipients:
        return []
    subject, body = reconnect_notice_message(connection, stops_at)
    _mail(subject, body, recipients)
    return recipients
