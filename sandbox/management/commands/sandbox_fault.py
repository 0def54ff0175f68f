"""Set, clear and list sandbox partner faults.

    manage.py sandbox_fault set meta expire_token --account 1234
    manage.py sandbox_fault set tiktok server_error --param status=503 --count 2
    manage.py sandbox_fault set meta rate_limit --param usage=business --param regain_minutes=19
    manage.py sandbox_fault clear [meta] [--account 1234]
    manage.py sandbox_fault list [meta]
"""

import json

from django.core.management.base import BaseCommand, CommandError

from sandbox import faults


def _param(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    if not sep:
        raise CommandError(f"--param takes name=value, got {text!r}.")
    try:
        value = json.loads(raw)  # numbers stay numbers
    except ValueError:
        value = raw
    return name, value


class Command(BaseCommand):
    help = "Set, clear or list faults of the sandbox partners."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        set_ = sub.add_parser("set")
        set_.add_argument("platform", choices=faults.PLATFORMS)
        set_.add_argument("kind", choices=list(faults.KINDS))
        set_.add_argument("--account", help="the partner account id (default: the whole platform)")
        set_.add_argument("--param", action="append", default=[], help="name=value, repeatable")
        set_.add_argument("--count", type=int, help="answer this many requests, then stop")
        clear = sub.add_parser("clear")
        clear.add_argument("platform", nargs="?", choices=faults.PLATFORMS)
        clear.add_argument("--account")
        list_ = sub.add_parser("list")
        list_.add_argument("platform", nargs="?", choices=faults.PLATFORMS)

    def handle(self, *args, action, **options):
        if action == "set":
            params = dict(_param(p) for p in options["param"])
            try:
                fault = faults.set_fault(
                    options["platform"], options["kind"], options["account"], count=options["count"], **params
                )
            except faults.FaultError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"set #{fault.pk}: {fault}")
        elif action == "clear":
            count = faults.clear_faults(options["platform"], options["account"])
            self.stdout.write(f"cleared {count} fault(s)")
        else:
            for fault in faults.list_faults(options["platform"]):
                left = "until cleared" if fault.remaining is None else f"{fault.remaining} left"
                self.stdout.write(f"#{fault.pk} {fault} {json.dumps(fault.params)} {left}")
