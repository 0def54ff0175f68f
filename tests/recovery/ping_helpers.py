"""Helpers for the tests of pings and token upkeep: connections on the sandbox, the flags, a real worker.

    connection = gbp_connection(tenant)      # a Google location living on the sandbox partner
    pings_on(tenant)                         # SYNTHETIC_PINGS_ENABLED listed on for the tenant
    make_due(connection)                     # its next ping is due now
    pings_enqueue_due(); run_worker("pings") # what cron and a worker do
"""

from __future__ import annotations

import subprocess
from datetime import timedelta

import django_rq
from django.utils import timezone
from rq.registry import ScheduledJobRegistry

from connections.models import Connection, ConnectionAudit, PingSchedule
from recovery.flags import SYNTHETIC_PINGS_ENABLED, flag_disable_for_tenant, flag_enable_for_tenant
from recovery.models import TenantFlag
from recovery.worker import RecoveryWorker
from sandbox.models import SandboxRequest
from tests.recovery.pipeline_helpers import start_worker_process
from tests.sandbox.sandbox_helpers import linked_connection

GBP_LOCATION = "accounts/100000000000000000042/locations/4200000000000000042"
LINKEDIN_MEMBER = "m-4242"
TIKTOK_OPEN_ID = "tiktok-open-id-4242"


def pings_on(tenant, on: bool = True) -> None:
    """List the tenant on (or off) for SYNTHETIC_PINGS_ENABLED (transactional tests lose the migration's flag rows)."""
    TenantFlag.objects.get_or_create(name=SYNTHETIC_PINGS_ENABLED)
    (flag_enable_for_tenant if on else flag_disable_for_tenant)(SYNTHETIC_PINGS_ENABLED, tenant.pk)


def gbp_connection(tenant, **fields) -> Connection:
    return linked_connection("gbp", tenant=tenant, external_account_id=GBP_LOCATION,
                             external_account_name="Cafe (Google)", **fields)


def linkedin_connection(tenant, **fields) -> Connection:
    return linked_connection("linkedin", tenant=tenant, external_account_id=LINKEDIN_MEMBER,
                             external_account_name="Ada (LinkedIn)", **fields)


def tiktok_connection(tenant, **fields) -> Connection:
    return linked_connection("tiktok", tenant=tenant, external_account_id=TIKTOK_OPEN_ID,
                             external_account_name="@acme (TikTok)", **fields)


def make_due(*connections: Connection, ago: timedelta = timedelta(seconds=1)) -> None:
    schedule_at(timezone.now() - ago, *connections)


def schedule_at(when, *connections: Connection) -> None:
    PingSchedule.objects.filter(connection__in=connections).update(next_ping_at=when)


def next_ping_at(connection: Connection):
    return PingSchedule.objects.get(connection=connection).next_ping_at


def run_worker(queue: str) -> None:
    """Run a queue's jobs in this process with the production worker class (burst mode), until it is empty."""
    django_rq.get_worker(queue, worker_class=RecoveryWorker).work(burst=True)


def queued_ids(queue: str) -> list[int]:
    """The connection ids of the jobs waiting on a queue, in queue order."""
    q = django_rq.get_queue(queue)
    return [job.args[0] for job in q.get_jobs()]


def scheduled_count(queue: str) -> int:
    return len(ScheduledJobRegistry(queue=django_rq.get_queue(queue)).get_job_ids())


def audit_actions(connection: Connection) -> list[str]:
    """The connection's audit actions, oldest first."""
    return list(ConnectionAudit.objects.filter(connection=connection).order_by("created_at", "id").values_list("action", flat=True))


def partner_calls(platform: str, path_part: str) -> int:
    return SandboxRequest.objects.filter(platform=platform, path__contains=path_part).count()




def start_worker(queue: str, live_url: str, settings) -> subprocess.Popen:
    """`manage.py rqworker <queue>` in its own process, on this test's database, Redis and sandbox; it
    listens until stop_process."""
    return start_worker_process(live_url, "recovery.worker.RecoveryWorker", burst=False, queue=queue)


