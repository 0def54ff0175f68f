"""Helpers for tests against the sandbox partners (use with the `sandbox` fixture).

    connection = linked_connection("meta", account_type="facebook_page", external_account_id="1001")
    url = consent(session, authorize_url, account_id="1001")      # the consent page, as a browser would
    assert_secrets_absent(connection.access_token)                 # nowhere in the sandbox's request log
"""

from __future__ import annotations

from sandbox.bridge import link_to_sandbox
from sandbox.consent_client import consent, consent_page  # noqa: F401 (the tests' helpers, from one place)
from sandbox.models import SandboxAccount, SandboxRequest
from tests.factories import ConnectionFactory


def linked_connection(platform: str, scopes: list[str] | None = None, extra: dict | None = None, **fields):
    """A Connection whose tokens the sandbox partner issued (its SandboxAccount made on the way, with `extra`)."""
    connection = ConnectionFactory(platform=platform, **fields)
    link_to_sandbox(connection, scopes=scopes, extra=extra)
    if extra:
        SandboxAccount.objects.filter(platform=platform, account_id=connection.external_account_id).update(extra=extra)
    connection.refresh_from_db()
    return connection


def logged_text() -> str:
    """Everything the sandbox's request log holds, as one string."""
    parts = []
    for row in SandboxRequest.objects.all():
        parts += [row.path, str(row.request_headers), row.request_body, row.response_body]
    return "\n".join(parts)


def assert_secrets_absent(*secrets: str) -> None:
    text = logged_text()
    assert SandboxRequest.objects.exists()
    for secret in secrets:
        if secret:
            assert secret not in text
