"""`chaos run`: the scenarios, on a stack of their own or a running one, and the report.

Without --stack: starts the stack (sandbox/chaos/stack.py: a fresh database on DATABASE_URL's
server, a private Redis, runlocal's processes with compressed settings), then runs this same command
again with --stack in a child process whose environment points at that stack (its database, Redis,
SITE_URL and settings), and stops the stack when it is done. With --stack: runs the scenarios here,
against the running stack this process's settings point at.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from sandbox.chaos.guard import check_sandbox
from sandbox.chaos.report import Row, could_not_run, exit_code, table, write_json
from sandbox.chaos.scenarios import SCENARIOS, Context
from sandbox.chaos.stack import ChaosStack


def chosen(names: list[str], every: bool) -> list[str]:
    if not names:
        return [name for name, scenario in SCENARIOS.items() if every or scenario.core]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise CommandError(f"Unknown scenario {', '.join(unknown)}; one of {', '.join(SCENARIOS)}.")
    return names


def run(out, names: list[str], *, json_path: str | None, stack_url: str | None, every: bool, listing: bool) -> int:
    names = chosen(names, every)
    if listing:
        for name, scenario in SCENARIOS.items():
            out.write(f"{name:<14} {'core' if scenario.core else 'full'}  {scenario.about}")
        return 0
    if stack_url:
        return run_scenarios(out, names, json_path)
    return run_on_own_stack(out, names, json_path)


def run_scenarios(out, names: list[str], json_path: str | None) -> int:
    check_sandbox()
    context = Context(run_id=secrets.token_hex(3))
    rows: list[Row] = []
    began = time.monotonic()
    for name in names:
        started = time.monotonic()
        out.write(f"-- {name} ...")
        found: list[Row] = []
        try:
            SCENARIOS[name].run(context, found)
        except Exception as error:  # a scenario that breaks is a failed row (after what it measured); the others run
            found.append(could_not_run(name, error))
        rows += found
        out.write(f"   {name}: {sum(r.passed for r in found)}/{len(found)} passed in {time.monotonic() - started:.0f} s")
    out.write(table(rows))
    if json_path:
        write_json(json_path, rows, scenarios=names, seconds=round(time.monotonic() - began, 1))
    return exit_code(rows)


def run_on_own_stack(out, names: list[str], json_path: str | None) -> int:
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise CommandError("chaos run starts its stack on PostgreSQL: set DATABASE_URL to a PostgreSQL server.")
    log = Path(settings.BASE_DIR) / "var" / "chaos" / "stack.log"
    log.unlink(missing_ok=True)
    began = time.monotonic()
    out.write(f"Starting the chaos stack (its output: {log}) ...")
    stack = ChaosStack(_server_url(), log)
    try:
        stack.start()
        out.write(f"Stack up at {stack.url} in {time.monotonic() - began:.0f} s: {', '.join(stack.children)}.")
        command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "chaos", "run", *names, "--stack", stack.url]
        if json_path:
            command += ["--json", str(Path(json_path).resolve())]
        code = subprocess.run(command, env=stack.env, cwd=settings.BASE_DIR).returncode
        if stack.restarts:
            out.write(f"Restarted by the stack's supervisor: {stack.restarts}.")
    finally:
        stack.stop()
    out.write(f"Chaos run took {time.monotonic() - began:.0f} s.")
    return code


def _server_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
