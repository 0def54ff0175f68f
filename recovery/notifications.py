"""Mail to a tenant's people: who gets it, and the messages the recovery services send.

Rules:
- Mail goes to the tenant's owners and admins (`tenant_admin_emails`), one
  message per person, through Django's email backend (settings.EMAIL_BACKEND).
- A message names the channel and the date and links to the channels page by
  its path under SITE_URL; it never holds a token, a code or a link carrying a
  secret (the page itself asks the user to sign in).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mass_mail
from django.utils import timezone

from connections.models import Connection, Membership

# The channels page, where each connection has its Reconnect button.
CHANNELS_PATH = "/channels/"


def tenant_admin_emails(tenant_id: int) -> list[str]:
    """The addresses of the tenant's owners and admins (active users with an address), each once, sorted."""
    emails = (
        Membership.objects.filter(
            tenant_id=tenant_id,
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted({email.strip() for email in emails if email and email.strip()})


def channels_url() -> str:
    return f"{settings.SITE_URL.rstrip('/')}{CHANNELS_PATH}"


def reconnect_notice_message(connection: Connection, stops_at: datetime) -> tuple[str, str]:
    """(subject, body) of the mail telling the tenant that `connection` stops working at `stops_at` unless reconnected."""
    partner = connection.get_platform_display().split(" (")[0]  # "Meta", not "Meta (Facebook Pages, Instagram)"
    channel = f"{connection.external_account_name or connection.external_account_id} ({partner})"
    day = timezone.localtime(stops_at).strftime("%A %d %B %Y")
    subject = f"Reconnect {channel} before {day}"
    body = (
        "Hello,\n\n"
        f"Your connection to {channel} stops working on {day}: the partner's sign-in ends then and "
        "only a person can renew it.\n\n"
        "To keep your scheduled posts going out, open your channels page and click Reconnect next to "
        f"this channel before that day:\n\n    {channels_url()}\n\n"
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
    send_mass_mail([(subject, body, None, [email]) for email in recipients], fail_silently=False)
    return recipients
