"""The chaos suite: real faults injected into a running system, and the proof that it recovers (docs/chaos.md).

Like sandbox/bridge.py it meets both worlds (the product's rows and services, the sandbox partners),
so only dev commands and tests import it; the product never does.

    guard      who may be hit: CHAOS_TESTS_ENABLED on for the tenant, and partners that are the sandbox
    faults     a chaos fault (expire-tokens, revoke, ...) as sandbox faults on the tenant's accounts
    disrupt    worker-kill, redis-restart (a Redis the runner owns), webhook-storm
    reconnect  the product's reconnect path over HTTP: sign in, Reconnect, consent at the sandbox, callback
    stack      the processes of a run (runlocal's, with compressed settings), its database and Redis
    load       tenants, channels and posts across platforms
    scenarios  each scenario: load, fault, recovery, and the evidence its criteria read
    report     the criteria rows, the table, the JSON and the exit status
"""
