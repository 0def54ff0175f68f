"""Faults that make no sense are refused with a clear message, from Python, the command and the admin alike.

Attack (or slip): `sandbox_fault set meta server_error --param status=200 --count -1`, a latency of
"soon", a Retry-After of -5, a revoke subcode Meta never sends. Before: stored as given; a negative
count broke the database's constraint (a traceback), and the others made every later call of the
platform answer the sandbox's bad-request or a status that is no error. Now: refused, saying what
a valid value is.
"""

import pytest
from django.core.management import CommandError, call_command

from sandbox import faults
from sandbox.models import SandboxFault

pytestmark = pytest.mark.django_db

NONSENSE = [
    ("meta", faults.SERVER_ERROR, {"status": 200}, "is not an HTTP error status"),
    ("meta", faults.SERVER_ERROR, {"status": 999}, "is not an HTTP error status"),
    ("meta", faults.SERVER_ERROR, {"status": "503"}, "is not an HTTP error status"),
    ("linkedin", faults.RATE_LIMIT, {"status": 302}, "is not an HTTP error status"),
    ("linkedin", faults.RATE_LIMIT, {"retry_after": -5}, "retry_after -5 must be a whole number of seconds"),
    ("linkedin", faults.RATE_LIMIT, {"retry_after": 1.5}, "must be a whole number of seconds"),
    ("meta", faults.RATE_LIMIT, {"usage": "business", "regain_minutes": "soon"}, "regain_minutes 'soon' must be"),
    ("tiktok", faults.LATENCY, {"ms": -1}, "ms -1 must be a number of milliseconds"),
    ("tiktok", faults.LATENCY, {"ms": True}, "ms True must be a number"),
    ("gbp", faults.TIMEOUT, {"seconds": float("nan")}, "seconds nan must be a number"),
    ("meta", faults.REVOKE_TOKEN, {"subcode": 999}, "meta revoke_token subcode 999 is not the partner's; one of 458, 460, 467"),
    ("tiktok", faults.REVOKE_TOKEN, {"subcode": 460}, "none (it gives no reason)"),
    ("meta", faults.REMOVE_SCOPE, {"scope": ""}, "scope must be a non-empty text"),
]


@pytest.mark.parametrize("platform, kind, params, message", NONSENSE)
def test_a_fault_value_that_makes_no_sense_is_refused(platform, kind, params, message):
    with pytest.raises(faults.FaultError, match=message.replace("(", r"\(").replace(")", r"\)")):
        faults.set_fault(platform, kind, **params)
    assert not SandboxFault.objects.exists()


@pytest.mark.parametrize("count", [0, -1, 2.5, True])
def test_a_count_that_makes_no_sense_is_refused(count):
    with pytest.raises(faults.FaultError, match="must be a whole number of requests, 1 or more"):
        faults.set_fault("meta", faults.SERVER_ERROR, count=count)


def test_the_values_the_docs_and_tests_use_are_accepted():
    for platform, kind, params in [
        ("meta", faults.SERVER_ERROR, {"status": 503}), ("linkedin", faults.SERVER_ERROR, {"status": 418}),
        ("linkedin", faults.RATE_LIMIT, {"status": 429, "retry_after": 30}),
        ("meta", faults.RATE_LIMIT, {"usage": "business", "regain_minutes": 19}),
        ("tiktok", faults.LATENCY, {"ms": 300}), ("tiktok", faults.TIMEOUT, {"seconds": 1.2}),
        ("meta", faults.REVOKE_TOKEN, {"subcode": 458}), ("meta", faults.REMOVE_SCOPE, {"scope": "pages_manage_posts"}),
    ]:
        faults.set_fault(platform, kind, count=1, **params)
    assert SandboxFault.objects.count() == 8


@pytest.mark.parametrize("args, message", [
    (["--param", "status=200"], "server_error status 200 is not an HTTP error status"),
    (["--count", "-1"], "count -1 must be a whole number of requests"),
    (["--count", "0"], "count 0 must be a whole number of requests"),
])
def test_the_command_refuses_them_with_the_message(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("sandbox_fault", "set", "meta", "server_error", *args)
    assert not SandboxFault.objects.exists()


def test_the_admin_refuses_them_with_the_message(client, operator):
    client.force_login(operator)

    for params, remaining, message in [('{"status": 200}', "", "is not an HTTP error status"),
                                       ('{"status": 503}', "0", "must be a whole number of requests"),
                                       ("[1, 2]", "", "params must be a JSON object")]:
        response = client.post("/admin/sandbox/sandboxfault/add/", {
            "platform": "meta", "kind": "server_error", "params": params, "remaining": remaining})
        assert response.status_code == 200 and message in response.content.decode()
    assert not SandboxFault.objects.exists()
