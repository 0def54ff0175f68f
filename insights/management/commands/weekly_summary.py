"""python manage.py weekly_summary [--week YYYY-MM-DD | --weeks-ago N] [--mail]: build (or rebuild) a week's summaries.

The week containing the date given (any day of it: its Monday, UTC, is the week's start), or the
week N weeks before the last one that ended (default: that last week, as the Monday cron job does).
Rebuilding replaces the week's rows: one per tenant with WEEKLY_SUMMARY_ENABLED, and the overall one.
`--mail` also mails each tenant's owners and admins, as the cron job does (off by default: a rebuild
of a past week should not mail anyone). Prints the week's headline figures and how long it took.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from insights.models import WeeklySummary
from insights.weekly import last_full_week, week_start_of, weekly_summaries_build
from insights.weekly_mail import weekly_summary_mails_enqueue


class Command(BaseCommand):
    help = "Build or rebuild the weekly summaries (per tenant with WEEKLY_SUMMARY_ENABLED, and overall) of a past week."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--week", help="A day of the week to build, YYYY-MM-DD (its Monday, UTC, starts it).")
        which.add_argument("--weeks-ago", type=int, default=0, help="Weeks before the last week that ended (0: that one).")
        parser.add_argument("--mail", action="store_true", help="Mail each tenant's owners and admins, as the cron job does.")

    def handle(self, *args, week, weeks_ago, mail, **options):
        if week:
            try:
                start = week_start_of(date.fromisoformat(week))
            except ValueError:
                raise CommandError(f"Not a date: {week!r} (use YYYY-MM-DD).") from None
        else:
            if weeks_ago < 0:
                raise CommandError("--weeks-ago counts back from the last week that ended: 0 or more.")
            start = last_full_week() - timedelta(weeks=weeks_ago)
        if start > last_full_week():
            raise CommandError(f"The week of {start:%Y-%m-%d} has not ended yet.")
        build = weekly_summaries_build(start)
        if mail:
            weekly_summary_mails_enqueue(list(build.tenant_summary_ids.values()))
        figures = WeeklySummary.objects.get(pk=build.overall_id).figures
        self.stdout.write(
            f"Week of {start:%Y-%m-%d}: {len(build.tenant_summary_ids)} tenant summaries and the overall one in "
            f"{build.seconds:.2f} s. Across tenants: {figures['failures']['total']} failures, "
            f"{figures['pauses']['total']} pauses, {figures['missed_posts']['total']} posts missed while paused, "
            f"{figures['dead_letters']['in']} dead letters in, {figures['unmapped']['new']} new unmapped error shapes"
            f"{', mails enqueued' if mail else ''}."
        )
