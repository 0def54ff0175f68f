"""Django's error reports without secrets: the DEBUG error pages and the reports of a 500.

Django's SafeExceptionReporterFilter hides settings named like secrets and the POST fields a view
marks sensitive, and only when DEBUG is off; its DEBUG 500 page shows the query string, GET
parameters, request headers, the exception's text and every frame's local variables as they are,
and its DEBUG 404 page shows the full URL. A token sent in a query string (`?access_token=...`,
as partners' APIs take it) was echoed by both. Here, with DEBUG on or off:

- `RedactingExceptionReporterFilter` (DEFAULT_EXCEPTION_REPORTER_FILTER): settings, request
  headers and cookies, POST fields and frame variables named like secrets are masked
  (config/redaction.py's names), and secrets in their text by their shape.
- `RedactingExceptionReporter` (DEFAULT_EXCEPTION_REPORTER): also the GET parameters, the URL,
  the exception's text and each frame's variables; and, last, every value this request carried
  as a secret (`request_secrets`) wherever it still shows on the page, whatever its shape.
- `mask_request_secrets(request, text)`: the same last step, for the DEBUG 404 page, which Django
  renders without a reporter (config/middleware.py).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote, quote_plus

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from config.redaction import MASK, is_secret_key, mask_known, mask_text


def _parameter_lists(request: HttpRequest) -> list[tuple[str, list[str]]]:
    """The request's query and form parameters; a form Django cannot parse adds none."""
    pairs = list(request.GET.lists())
    try:
        pairs += list(request.POST.lists())
    except (MultiPartParserError, SuspiciousOperation, UnreadablePostError):  # unreadable: its fields show nowhere
        pass
    return pairs


def _raw_query_values(request: HttpRequest) -> set[str]:
    """Values of secret parameters as they were written in the query string (encoded as the client chose)."""
    values = set()
    for piece in request.META.get("QUERY_STRING", "").split("&"):
        name, _, value = piece.partition("=")
        if value and is_secret_key(name):
            values.add(value)
    return values


def request_secrets(request: HttpRequest | None) -> set[str]:
    """Every value of this request a page must not show, in each form a page may show it.

    - The values of query and form parameters named like secrets (access_token, code, password...),
      and of any parameter whose text holds a secret's shape (mask_text would change it).
    - The Authorization header and its credentials, and every cookie's value.
    - Each as written in the query string, URL-quoted, and HTML-escaped.
    """
    if request is None:
        return set()
    values = set()
    for name, items in _parameter_lists(request):
        for value in items:
            if value and (is_secret_key(name) or mask_text(value) != value):
                values.add(value)
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    values |= {authorization, authorization.partition(" ")[2].strip()}
    values |= {value for value in request.COOKIES.values() if value}
    values |= _raw_query_values(request)
    spelled = set()
    for value in values - {""}:
        spelled |= {value, quote(value, safe=""), quote_plus(value), quote(value, safe="/:@!$&'()*+,;=-._~")}
    return spelled | {escape(value) for value in spelled} | {escape(value, quote=False) for value in spelled}


def mask_request_secrets(request: HttpRequest | None, text: str) -> str:
    """`text` with every value of request_secrets(request) masked."""
    return mask_known(text, request_secrets(request))


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Masks what Django's filter masks, with DEBUG on too, and everything config/redaction.py calls a secret."""

    cleansed_substitute = MASK

    def is_active(self, request):
        return True  # the DEBUG pages are where a token sent in a URL would otherwise show

    def cleanse_setting(self, key, value):
        if isinstance(key, str) and key and is_secret_key(key):
            return self.cleansed_substitute
        cleansed = super().cleanse_setting(key, value)
        return mask_text(str(cleansed)) if isinstance(cleansed, str) else cleansed  # str(): lazy settings

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not parameters:
            return parameters
        cleansed = parameters.copy()
        for name, values in parameters.lists():
            cleansed.setlist(name, [self.cleansed_substitute if is_secret_key(name) else mask_text(v) for v in values])
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, self.cleansed_substitute if is_secret_key(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class RedactingExceptionReporter(ExceptionReporter):
    """Django's error report (the DEBUG 500 page, the mailed or logged report) with no secret of the request in it."""

    def _clean(self, text) -> str:
        return mask_request_secrets(self.request, mask_text(str(text)))

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [
                (name, MASK if is_secret_key(name) else self._clean(value)) for name, value in self.request.GET.items()
            ]
            data["request_insecure_uri"] = self._clean(data["request_insecure_uri"])
        for key in ("exception_value", "exception_notes"):
            if key in data:
                data[key] = self._clean(data[key])
        for frame in data["frames"]:
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = self._clean(frame["exc_cause"])
            if "vars" in frame:
                frame["vars"] = [(name, self._clean(value)) for name, value in frame["vars"]]
        return data

    def get_traceback_html(self):
        return mask_request_secrets(self.request, super().get_traceback_html())

    def get_traceback_text(self):
        return mask_request_secrets(self.request, super().get_traceback_text())
