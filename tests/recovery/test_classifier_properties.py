"""Property: a partner's auth or permission failure is never retried, whatever shape its body takes.

Seeds are the real auth and permission answers of the corpus files (the shared
corpus and unseen-cases.json). Each is sent again as JSON text, bytes, a list
around it, inside an HTML error page, inside a log line, inside a gateway's or
a client's envelope, and cut short anywhere after its message; with the same
HTTP status and headers it must still get a re-authentication code (or
ACCOUNT_RESTRICTED) and never a retry.
"""

import html
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recovery.classifier import classify_partner_error
from recovery.taxonomy import ErrorCode as E

DATA = Path(__file__).resolve().parent / "data"
REAUTH = {E.AUTH_EXPIRED, E.AUTH_REVOKED, E.AUTH_INVALID, E.REFRESH_FAILED, E.PERMISSION_INSUFFICIENT}
ACCEPTED = REAUTH | {E.ACCOUNT_RESTRICTED}
MESSAGE_KEYS = ("message", "error_message", "error_msg", "detail", "error_description", "title")


def _seeds():
    cases = []
    for name in ("error-corpus.json", "unseen-cases.json"):
        cases += json.loads((DATA / name).read_text(encoding="utf-8"))
    return [
        c for c in cases
        if c["platform"] != "system" and c["expected"] in {code.value for code in REAUTH} and c["body"] not in (None, "", {})
    ]


SEEDS = _seeds()


def _message(body):
    if isinstance(body, list) and body:
        return _message(body[0])
    if isinstance(body, dict):
        for key in MESSAGE_KEYS:
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key]
        if isinstance(body.get("error"), dict):
            return _message(body["error"])
    return None


def _text(body):
    return body if isinstance(body, str) else json.dumps(body)


PAGES = [
    "<html><head><title>Error</title></head><body><h1>Request failed</h1><pre>{}</pre></body></html>",
    "<!DOCTYPE html><html><body><p>Upstream answered:</p><code>{}</code></body></html>",
]
LINES = ["upstream said: {} (request id 42)", "ERROR publish failed: {}", "{}\n"]
ENVELOPES = [
    lambda text: {"fault": {"detail": text}},
    lambda text: {"message": "Request failed with status code 400", "response": {"body": text}},
    lambda text: {"errors": [{"description": text}]},
]


@st.composite
def reshaped(draw):
    case = draw(st.sampled_from(SEEDS))
    body, text = case["body"], _text(case["body"])
    shapes = ["text", "bytes", "page", "line"]
    if isinstance(body, (dict, list)):
        shapes += ["list", "envelope"]
    message = _message(body)
    end = text.find(json.dumps(message)[1:-1]) + len(json.dumps(message)) - 2 if message else -1
    if message and end > len(json.dumps(message)) - 2:
        shapes.append("cut")
    shape = draw(st.sampled_from(shapes))
    if shape == "text":
        sent = text
    elif shape == "bytes":
        sent = text.encode("utf-8")
    elif shape == "list":
        sent = [body]
    elif shape == "page":
        sent = draw(st.sampled_from(PAGES)).format(html.escape(text))
    elif shape == "line":
        sent = draw(st.sampled_from(LINES)).format(text)
    elif shape == "envelope":
        sent = draw(st.sampled_from(ENVELOPES))(text)
    else:
        sent = text[: draw(st.integers(min_value=end, max_value=len(text) - 1))]
    return case, shape, sent


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reshaped())
def test_an_auth_or_permission_failure_is_never_retried_whatever_its_shape(example):
    case, shape, sent = example
    classified = classify_partner_error(case["platform"], case["http_status"], sent, case["headers"])
    assert classified.code in ACCEPTED and not classified.retryable, (
        f"{case['id']} as {shape}: got {classified.code.value} for {sent!r:.300}"
    )


def test_there_are_seeds_for_every_partner():
    assert {c["platform"] for c in SEEDS} == {"meta", "linkedin", "tiktok", "gbp", "mailchimp"}
    assert len(SEEDS) >= 50


@pytest.mark.django_db
def test_the_seed_example_is_an_expiry_that_triggers_a_reconnect():
    # The release notes' example: LinkedIn's bare 401 {"error": {"message": "Unauthorized"}}.
    classified = classify_partner_error("linkedin", 401, {"error": {"message": "Unauthorized"}})
    assert classified.code is E.AUTH_EXPIRED
    assert classified.entry.action.value == "TRIGGER_RECONNECT"


@pytest.mark.django_db
@pytest.mark.parametrize("platform", ["meta", "linkedin", "tiktok", "gbp"])
@pytest.mark.parametrize("page", [
    "<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center><hr>nginx</body></html>",
    "<html><body><h1>Access Denied</h1>You don't have permission to access \"/v2/x\" on this server.</body></html>",
    "error code: 1020",
    "Request blocked.",
])
def test_a_proxy_403_page_without_the_partners_words_is_still_retried(platform, page):
    classified = classify_partner_error(platform, 403, page)
    assert classified.code is E.PARTNER_UNAVAILABLE and classified.retryable
