"""With DEBUG on, Django's error pages never show a token the request carried.

Attack: send a token in a query string (`?access_token=...`, as partners' APIs take it) to a URL that
fails, or to one that does not exist, on a server left with DEBUG on, and read it back from the
error page, or from a screenshot or a shared link of it. Before: the DEBUG 500 page showed it in the
URL, the GET table, the exception's text, the frame variables and the request headers; the DEBUG 404
page showed it in the request URL. Now: every place shows [redacted].
"""

import sys

import pytest
from django.test import Client
from django.views.debug import get_exception_reporter_class

from config.error_reports import RedactingExceptionReporter
from config.redaction import MASK
from tests.config.error_page_urls import fails_with_the_token_in_hand

# Tokens of partner shapes and one of no recognisable shape (masked because of the parameter's name).
TOKENS = {
    "meta": "EAAGm0PX4ZCpsBAKZBZCwZBq1kZD9x3sQ7ZA",
    "opaque": "q7Zk2Lr9Vt3Wm8Xp4Yn6Bs1Hd5Jf0Gc",
}
pytestmark = [pytest.mark.urls("tests.config.error_page_urls"), pytest.mark.django_db]


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def _get(path, accept="text/html", **headers):
    return Client(raise_request_exception=False).get(path, HTTP_ACCEPT=accept, **headers)


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_debug_500_page_never_shows_a_token_sent_in_the_query_string(debug, token, accept):
    response = _get(f"/fails/?access_token={token}&page=2", accept=accept, HTTP_AUTHORIZATION=f"Bearer {token}")

    page = response.content.decode()
    assert response.status_code == 500 and "ValueError" in page  # Django's technical page, as DEBUG shows it
    assert token not in page
    assert MASK in page
    assert "page" in page  # the rest of the request is still there to debug with


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
def test_the_debug_404_page_never_shows_a_token_sent_in_the_query_string(debug, token):
    response = _get(f"/no/such/page/?access_token={token}&input_token={token}")

    page = response.content.decode()
    assert response.status_code == 404 and "Page not found" in page  # the technical 404 page
    assert token not in page
    assert "/no/such/page/" in page


def test_a_token_written_with_percent_escapes_is_masked_as_sent(debug):
    token = TOKENS["opaque"]
    escaped = "".join(f"%{ord(c):02x}" for c in token[:6]) + token[6:]

    page = _get(f"/no/such/page/?code={escaped}").content.decode()

    assert token not in page and escaped not in page and token[6:] not in page


def test_a_report_made_with_debug_off_masks_the_token_too(rf, settings):
    """Mailed and logged reports of a 500 (AdminEmailHandler, any handler that renders the report) use the same reporter."""
    settings.DEBUG = False
    token = TOKENS["opaque"]
    request = rf.get(f"/fails/?access_token={token}")
    try:
        fails_with_the_token_in_hand(request)
    except ValueError:
        reporter = get_exception_reporter_class(request)(request, *sys.exc_info())

    assert isinstance(reporter, RedactingExceptionReporter)
    assert token not in reporter.get_traceback_text() and token not in reporter.get_traceback_html()
