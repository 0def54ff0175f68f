"""The chaos suite (docs/chaos.md): inject a real fault into a running system, or run the scenarios that prove it recovers.

    manage.py chaos expire-tokens --tenant acme [--platform meta] [--connection 12] [--clear]
    manage.py chaos revoke | remove-permission [--scope s] | partner-5xx [--status 503]
                    | rate-limit [--retry-after 10] | latency [--ms 2000] | delete-target   (same targets, --clear)
    manage.py chaos worker-kill --tenant acme          SIGKILL a worker running one of the tenant's publish jobs
    manage.py chaos redis-restart --tenant acme        restart the product's Redis empty (only one a chaos run owns)
    manage.py chaos webhook-storm --tenant acme [--platform meta] [--duplicates 3] [--noise 20]
    manage.py chaos run [SCENARIO ...] [--json FILE] [--stack URL] [--list]

Every command is refused (non-zero exit, the reason said) unless CHAOS_TESTS_ENABLED is on for the
tenant and the partners are the sandbox (sandbox/chaos/guard.py).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from sandbox import faults as sandbox_faults
from sandbox.chaos import disrupt, runner
from sandbox.chaos.faults import FAULTS, fault_clear, fault_set
from sandbox.chaos.guard import ChaosRefused, check_sandbox, target_connections, tenant_for_chaos
from sandbox.chaos.scenarios import SCENARIOS


def _targets(parser):
    parser.add_argument("--tenant", required=True, help="the tenant's slug (CHAOS_TESTS_ENABLED must be on for it)")
    parser.add_argument("--platform", choices=sandbox_faults.PLATFORMS, help="only the tenant's channels on this partner")
    parser.add_argument("--connection", type=int, help="only this connection (its id) of the tenant")


class Command(BaseCommand):
    help = "Inject chaos faults into the running system (sandbox partners only), or run the chaos scenarios."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name in FAULTS:
            fault = sub.add_parser(name, help=f"set (or --clear) the {name} fault on the tenant's channels")
            _targets(fault)
            fault.add_argument("--clear", action="store_true", help="clear the fault instead of setting it")
            if name == "remove-permission":
                fault.add_argument("--scope", help="the scope the tokens lose (default: the channel's publishing scope)")
            if name == "partner-5xx":
                fault.add_argument("--status", type=int, help="the 5xx status (default 503)")
            if name == "rate-limit":
                fault.add_argument("--retry-after", type=int, help="Retry-After seconds (default 10)")
            if name == "latency":
                fault.add_argument("--ms", type=int, help="milliseconds added to each answer (default 2000)")
        kill = sub.add_parser("worker-kill", help="SIGKILL a worker process running one of the tenant's publish jobs")
        kill.add_argument("--tenant", required=True)
        kill.add_argument("--wait", type=float, default=30.0, help="seconds to wait for a worker to be publishing")
        restart = sub.add_parser("redis-restart", help="restart the product's Redis empty (only a Redis a chaos run owns)")
        restart.add_argument("--tenant", required=True)
        storm = sub.add_parser("webhook-storm", help="a burst of signed partner events, with duplicates, to the receivers")
        _targets(storm)
        storm.add_argument("--duplicates", type=int, default=3, help="times each event is delivered (default 3)")
        storm.add_argument("--noise", type=int, default=20, help="events the product ignores, in between (default 20)")
        run = sub.add_parser("run", help="run scenarios on a stack of their own (or --stack) and check the criteria")
        run.add_argument("scenarios", nargs="*", help=f"default: the core set; any of {', '.join(SCENARIOS)}")
        run.add_argument("--json", dest="json_path", help="write the report here as JSON")
        run.add_argument("--stack", help="use this running stack (its URL; this process's DATABASE_URL and REDIS_URL)")
        run.add_argument("--all", action="store_true", help="every scenario, not only the core set")
        run.add_argument("--list", action="store_true", help="list the scenarios and their criteria")

    def handle(self, *args, action, **options):
        try:
            if action == "run":
                code = runner.run(self.stdout, options["scenarios"], json_path=options["json_path"],
                                  stack_url=options["stack"], every=options["all"], listing=options["list"])
                if code and options["stack"]:
                    raise SystemExit(code)  # the table said why; the runner that started this process says it once
                if code:
                    raise CommandError("Chaos: at least one criterion failed (see the table).", returncode=code)
                return
            tenant = tenant_for_chaos(options["tenant"])
            if action == "worker-kill":
                killed = disrupt.worker_kill(tenant, wait_s=options["wait"])
                self.stdout.write(f"killed worker {killed.worker} (pid {killed.pid}) mid-publish of post {killed.post_id}")
            elif action == "redis-restart":
                check_sandbox()
                down = disrupt.redis_restart()
                self.stdout.write(f"Redis restarted empty (down {down:.2f} s)")
            elif action == "webhook-storm":
                connections = target_connections(tenant, options["platform"], options["connection"])
                storm = disrupt.webhook_storm(tenant, connections, duplicates=options["duplicates"], noise=options["noise"])
                self.stdout.write(f"webhook storm: {storm.sent} events sent ({storm.refused} refused), "
                                  f"{len(storm.removals)} channels told their access was removed")
            else:
                connections = target_connections(tenant, options["platform"], options["connection"])
                if options["clear"]:
                    count = fault_clear(connections, action)
                    self.stdout.write(f"cleared {count} {action} fault(s) of tenant {tenant.slug}")
                    return
                knobs = {key: options.get(key) for key in ("status", "retry_after", "ms", "scope") if options.get(key)}
                for done in fault_set(action, connections, **knobs):
                    self.stdout.write(f"set {action} ({done.kind} {done.params}) on {done.platform} account "
                                      f"{done.account_id} (connection {done.connection_id})")
        except (ChaosRefused, sandbox_faults.FaultError) as refused:
            raise CommandError(str(refused)) from None
