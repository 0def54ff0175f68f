"""The weekly mail: a tenant's week in a few lines and what to do, to its owners and admins.

Rules:
- Sent after the weekly job's build (not after a rebuild by the command, unless asked), by one RQ
  job per tenant enqueued once the build commits: a slow or failing mail server neither slows the
  build nor loses another tenant's mail.
- Only a week with something to tell is mailed: a failure, a pause, a post missed or not sent, or
  advice (a quiet week is on the Advisor page, not in the inbox).
- One message per person (recovery.notifications.tenant_admin_emails), no one sees the others'
  addresses; it links to the Advisor page and holds no token or reconnect link.
- A summary replaced by a rebuild since the job was enqueued is not mailed (its row is gone).
"""

from __future__ import annotations

import logging

import django_rq
from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse

from insights.advisor import Insight, plural, rank, reconnect_soon_insights
from insights.models import WeeklySummary
from insights.weekly_pages import duration_words
from recovery.notifications import tenant_admin_emails
from recovery.policies import get_redis

logger = logging.getLogger(__name__)

# Dotted path: the jobs module (an interface) imports this module, never the other way round.
WEEKLY_MAIL_JOB = "insights.jobs.weekly_summary_mail_job"
MAIL_QUEUE = "default"
MAILED_INSIGHTS = 3


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def weekly_summary_mails_enqueue(summary_ids: list[int]) -> None:
    """One mail job per summary, in one Redis round trip (call once the summaries are committed)."""
    if not summary_ids:
        return
    queue = django_rq.get_queue(MAIL_QUEUE, connection=get_redis())
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many(
            [queue.prepare_data(WEEKLY_MAIL_JOB, args=(pk,), description=f"weekly_summary_mail({pk})") for pk in summary_ids],
            pipeline=pipe,
        )
        pipe.execute()


def worth_mailing(figures: dict, insights: list) -> bool:
    """Whether the week had something to tell (module docstring)."""
    return bool(
        insights or figures["failures"]["total"] or figures["pauses"]["total"] or figures["missed_posts"]["total"]
        or figures["dead_letters"]["in"]
    )


def weekly_summary_mail_message(summary: WeeklySummary, insights: list[Insight]) -> tuple[str, str]:
    """(subject, body) of a tenant's weekly mail."""
    figures, changes = summary.figures, summary.changes
    week = f"{summary.week_start:%d %B %Y}"
    failures = changes["failures"]
    lines = [
        f"- {plural(failures['now'], 'failed post or check', 'failed posts and checks')} (the week before: {failures['before']:,}).",
        f"- {plural(figures['pauses']['total'], 'channel pause')}"
        + (f"; channels came back in {duration_words(figures['reconnect']['median_s'])} (median)."
           if figures["reconnect"]["count"] else "."),
    ]
    missed = figures["missed_posts"]
    if missed["total"]:
        lines.append(f"- {missed['total']:,} posts came due while their channel was paused: {missed['published']:,} published "
                     f"after the reconnect, {missed['skipped']:,} skipped, {missed['waiting']:,} still waiting for your choice.")
    caught = changes["caught_early"]["now"]
    if caught:
        lines.append(f"- Our checks found {caught:,} problems before a post failed.")
    advice = [f"{n}. {item.title}.\n   {item.remediation}\n   {_absolute(item.link)}" for n, item in
              enumerate(insights[:MAILED_INSIGHTS], start=1)]
    body = "\n\n".join([
        "Hello,",
        f"Your week of {week} in {summary.tenant.name}, in short:\n" + "\n".join(lines),
        "What to do:\n\n" + "\n\n".join(advice) if advice else "Nothing needs you this week.",
        f"The whole week, and the weeks before: {_absolute(reverse('insights:advisor'))}",
        "You receive this because you are an owner or admin of this workspace.",
    ])
    return f"Your week of {week}: {plural(failures['now'], 'failure')}, {plural(figures['pauses']['total'], 'pause')}", body


def weekly_summary_mail_send(summary_id: int) -> int:
    """Mail a tenant's summary to its owners and admins; returns how many it went to (0: nothing to tell, or gone).

    Raises what the email backend raises (the job fails and RQ keeps it for ops).
    """
    summary = WeeklySummary.objects.select_related("tenant").filter(pk=summary_id, tenant__isnull=False).first()
    if summary is None:
        return 0
    insights = rank(reconnect_soon_insights(summary.tenant_id) + [Insight.from_dict(item) for item in summary.insights])
    if not worth_mailing(summary.figures, insights):
        return 0
    recipients = tenant_admin_emails(summary.tenant_id)
    if not recipients:
        return 0
    subject, body = weekly_summary_mail_message(summary, insights)
    send_mass_mail([(subject, body, None, [email]) for email in recipients], fail_silently=False)
    logger.info("weekly mail sent", extra={"tenantId": summary.tenant_id, "recipients": len(recipients)})
    return len(recipients)
