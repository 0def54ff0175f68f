"""Mailchimp: audience webhooks, unsigned, at a URL only we and Mailchimp know.

- Creation check: a GET to the URL, which must answer 2xx, or the webhook is not created.
- Events: form POSTs (application/x-www-form-urlencoded) of `type`, `fired_at`
  ("Y-m-d H:i:s") and `data[...]` fields, nested as `data[merges][FNAME]`.
- Security: classic Marketing webhooks carry no signature; Mailchimp's advice is an
  unguessable secret in the URL, checked on every request (MAILCHIMP_WEBHOOK_SECRET,
  compared in constant time). No event id: the body's hash stands in.

Source: https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/
"""

from __future__ import annotations

import re

from webhooks.verification import (
    MAX_DEPTH,
    Delivery,
    body_event_id,
    event_type_of,
    forged,
    malformed,
    parse_form,
    same,
)

PLATFORM = "mailchimp"
_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def verify_secret(given: str, expected: str) -> None:
    """Rejected 403 unless the URL's secret is ours."""
    if not expected or not same(given, expected):
        raise forged("wrong URL secret")


def nest(pairs: list[tuple[str, str]]) -> dict:
    """Mailchimp's bracketed field names as nested dicts: data[merges][FNAME]=x -> {"data": {"merges": {"FNAME": "x"}}}."""
    result: dict = {}
    for name, value in pairs:
        match = _NAME.match(name)
        if not match:
            raise malformed(f"a field name Mailchimp does not send: {name[:40]!r}")
        keys = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        if len(keys) > MAX_DEPTH:
            raise malformed("a field nested too deep")
        node = result
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise malformed("a field is both a value and a group")
            node = child
        if isinstance(node.get(keys[-1]), dict):
            raise malformed("a field is both a value and a group")
        node[keys[-1]] = value
    return result


def parse_event(raw: bytes) -> Delivery:
    body = nest(parse_form(raw))
    return Delivery(PLATFORM, body_event_id(raw), event_type_of(body.get("type"), "unknown"), body)
