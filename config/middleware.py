"""Gaps in what others read and render, closed where the request or the response passes by.

- `RefuseNulBytesMiddleware`: a NUL byte in the path, a query parameter or a form field is a 400
  before any view. No page of ours takes one and PostgreSQL can neither store nor compare one:
  every admin list filter, search box and action fed one answered 500. The sandbox partners are
  left to answer it as the partner would (sandbox/core.py, their own 400).
- `DebugNotFoundPageMiddleware`: with DEBUG on, Django's 404 page shows the full URL, query string
  included, and it is rendered without the exception reporter (config/error_reports.py). A token
  sent in the query string is masked on it here.
- `DjangoRQNotFoundMiddleware`: django-rq's dashboard views look up the queue, worker or scheduler
  number and the job id of their URL without checking it: an unknown one raises and would answer
  500. It answers 404 here, as a missing object does. (Its admin's object pages: config/admin.py.)
"""

from __future__ import annotations

from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import BadRequest, ImproperlyConfigured, SuspiciousOperation
from django.core.handlers.exception import response_for_exception
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from rq.exceptions import NoSuchJobError

from config.error_reports import mask_request_secrets

# What django-rq's views raise for an object their URL names that does not exist: a queue or
# scheduler index past the list (IndexError) or past a C integer (OverflowError, IndexError), a job
# id RQ refuses (ValueError) or does not have (NoSuchJobError), a non-ASCII API token compared with
# secrets.compare_digest (TypeError), an rq-scheduler page where rq-scheduler is not installed (we
# use RQ's own scheduler: ImproperlyConfigured).
_MISSING_OBJECT = (LookupError, OverflowError, ValueError, TypeError, NoSuchJobError, ImproperlyConfigured)


class RefuseNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (settings.SANDBOX_ENABLED and request.path.startswith("/sandbox/")) and _carries_nul(request):
            raise BadRequest("A NUL byte in the request.")
        return self.get_response(request)


def _carries_nul(request) -> bool:
    if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
        return True
    if request.method != "POST" or request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False
    try:
        _ = request.body  # read first and kept: a view that needs the raw body (a signature) still has it
        fields = request.POST
    except (MultiPartParserError, SuspiciousOperation):  # too big, too many fields, broken: the view's own 400
        return False
    return any("\x00" in name or any("\x00" in value for value in values) for name, values in fields.lists())


class DebugNotFoundPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")
        ):
            charset = response.charset or "utf-8"
            response.content = mask_request_secrets(request, response.content.decode(charset, errors="replace"))
        return response


class DjangoRQNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        match = request.resolver_match
        if match is None or not match.func.__module__.startswith("django_rq.") or not isinstance(exception, _MISSING_OBJECT):
            return None
        return response_for_exception(request, Http404("No such queue, worker, scheduler or job."))
