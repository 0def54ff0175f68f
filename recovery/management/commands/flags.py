"""Roll the per-tenant flags out from a shell: the same changes the admin makes.

    manage.py flags list [--tenant SLUG]
    manage.py flags set NAME --percent N       (0-100; "none" removes the percentage)
    manage.py flags on|off NAME --tenant SLUG  (list the tenant on or off)
    manage.py flags clear NAME --tenant SLUG   (take it off both lists)
"""

from django.core.management.base import BaseCommand, CommandError

from connections.models import Tenant
from recovery import flags
from recovery.models import TenantFlag


class Command(BaseCommand):
    help = "List the rollout flags or change a flag's tenant lists and percentage."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="Every flag's rollout, or, with --tenant, its value for that tenant.")
        listing.add_argument("--tenant", metavar="SLUG")
        setting = sub.add_parser("set", help="Set a flag's percentage of tenants.")
        setting.add_argument("name")
        setting.add_argument("--percent", required=True, help='0-100, one decimal; "none" to remove it.')
        for action, text in (
            ("on", "List the tenant on: the flag is on for it whatever else is set."),
            ("off", "List the tenant off: the flag is off for it whatever else is set."),
            ("clear", "Take the tenant off both lists: everyone/percentage decide again."),
        ):
            one = sub.add_parser(action, help=text)
            one.add_argument("name")
            one.add_argument("--tenant", metavar="SLUG", required=True)

    def handle(self, *args, action, **options):
        try:
            if action == "list":
                self._list(options.get("tenant"))
            elif action == "set":
                percent = None if options["percent"].lower() == "none" else options["percent"]
                flags.flag_set_tenant_percent(options["name"], percent)
                self._show_flag(options["name"])
            else:
                change = {
                    "on": flags.flag_enable_for_tenant,
                    "off": flags.flag_disable_for_tenant,
                    "clear": flags.flag_clear_for_tenant,
                }[action]
                tenant = self._tenant(options["tenant"])
                change(options["name"], tenant.pk)
                decision = dict(flags.flags_for_tenant(tenant.pk))[options["name"]]
                self.stdout.write(f"{options['name']} for {tenant.slug}: {self._on_off(decision.on)} ({decision.reason})")
        except flags.FlagError as exc:
            raise CommandError(str(exc)) from None

    def _tenant(self, slug):
        try:
            return Tenant.objects.get(slug=slug)
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant with slug {slug!r}.") from None

    def _on_off(self, on):
        return "on" if on else "off"

    def _list(self, slug):
        if slug:
            tenant = self._tenant(slug)
            for name, decision in flags.flags_for_tenant(tenant.pk):
                self.stdout.write(f"{name:<30} {self._on_off(decision.on):<4} {decision.reason}")
            return
        for flag in TenantFlag.objects.order_by("name"):
            self._show_flag(flag.name, flag)

    def _show_flag(self, name, flag=None):
        flag = flag or TenantFlag.objects.get(name=name)
        on_ids, off_ids = flag.tenant_lists()
        everyone = {True: "yes", False: "no", None: "-"}[flag.everyone]
        percent = "-" if flag.tenant_percent is None else f"{flag.tenant_percent}%"
        self.stdout.write(
            f"{flag.name:<30} everyone={everyone:<3} percent={percent:<6} listed_on={len(on_ids)} listed_off={len(off_ids)}"
        )
