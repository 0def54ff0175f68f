"""The weekly job as cron runs it (Mondays, the week just ended, through a real worker), its mails to each
tenant's owners and admins, and the command that rebuilds any past week."""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from rq import SimpleWorker
from rq.cron import CronScheduler

from insights.models import WeeklySummary
from insights.weekly import last_full_week, week_bounds
from recovery.flags import WEEKLY_SUMMARY_ENABLED, flag_enable_for_tenant
from recovery.models import FailureEvent, TenantFlag
from tests.factories import ConnectionFactory
from tests.insights.weekly_helpers import WEEK, troubled_week

pytestmark = pytest.mark.django_db

JOB = "insights.jobs.weekly_summaries_job"


def weekly_cron_job():
    scheduler = CronScheduler(connection=django_rq.get_connection("default"))
    scheduler.load_config_from_file("config.cron")
    [job] = [job for job in scheduler.get_jobs() if job.func_name == JOB]
    return job


def run_default_queue():
    queue = django_rq.get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_cron_runs_the_weekly_job_on_mondays_with_room_to_finish(settings):
    job = weekly_cron_job()
    assert job.cron == settings.WEEKLY_SUMMARY_CRON == "0 3 * * 1"
    assert job.job_options["job_timeout"] == settings.WEEKLY_SUMMARY_JOB_TIMEOUT_S
    assert job.get_next_enqueue_time().weekday() == 0


@pytest.mark.django_db(transaction=True)  # the job closes the connection of a transaction it did not open
def test_the_weekly_job_sums_up_the_last_week_and_mails_each_tenants_owners_and_admins(tenant, owner, member, other_tenant,
                                                                                       settings):
    TenantFlag.objects.get_or_create(name=WEEKLY_SUMMARY_ENABLED)  # transactional tests lose the migration's flag rows
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, other_tenant.pk)  # a quiet week: no mail
    connection = ConnectionFactory(tenant=tenant, platform="linkedin")
    start, _ = week_bounds(last_full_week())
    for _ in range(11):
        FailureEvent.objects.create(tenant=tenant, connection=connection, platform="linkedin", source="publish",
                                    code="RATE_LIMIT_429", decision="deferred", partner_code="deferred:rate_limit",
                                    created_at=start + timedelta(days=2))
    FailureEvent.objects.create(tenant=tenant, connection=connection, platform="linkedin", source="publish",
                                code="PARTNER_5XX", decision="retry", created_at=start + timedelta(days=3))

    weekly_cron_job().enqueue(django_rq.get_connection("default"))
    run_default_queue()  # the weekly job, then the mail jobs it enqueued

    assert set(WeeklySummary.objects.values_list("tenant_id", "week_start")) == {
        (tenant.pk, last_full_week()), (other_tenant.pk, last_full_week()), (None, last_full_week()),
    }
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]  # owners and admins, not members
    assert message.subject.startswith(f"Your week of {last_full_week():%d %B %Y}: 1 failure, 0 pauses")
    assert "1. Posting to LinkedIn was held back 11 times by its rate limits." in message.body
    assert f"{settings.SITE_URL.rstrip('/')}/advisor/" in message.body
    assert "token" not in message.body.lower()


def test_the_command_rebuilds_a_past_week_by_any_of_its_days(tenant, other_tenant, capsys):
    troubled_week(tenant, other_tenant)
    flag_enable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)

    call_command("weekly_summary", "--week", "2025-03-06")
    call_command("weekly_summary", "--week", "2025-03-03")

    assert WeeklySummary.objects.filter(week_start=WEEK).count() == 2  # replaced, not duplicated
    out = capsys.readouterr().out
    assert "Week of 2025-03-03: 1 tenant summaries and the overall one" in out
    assert "22 failures, 6 pauses, 5 posts missed while paused, 4 dead letters in, 1 new unmapped error shapes" in out
    assert not mail.outbox  # a rebuild mails nobody unless asked


def test_the_command_refuses_a_week_that_has_not_ended_and_a_bad_date():
    with pytest.raises(CommandError, match="has not ended yet"):
        call_command("weekly_summary", "--week", timezone.now().date().isoformat())
    with pytest.raises(CommandError, match="Not a date"):
        call_command("weekly_summary", "--week", "03/03/2025")
    with pytest.raises(CommandError):
        call_command("weekly_summary", "--weeks-ago", "-1")


def test_weeks_ago_counts_back_from_the_last_week_that_ended(tenant):
    call_command("weekly_summary", "--weeks-ago", "2")
    assert list(WeeklySummary.objects.values_list("week_start", flat=True)) == [last_full_week() - timedelta(days=14)]
