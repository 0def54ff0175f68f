"""Two gaps in what others render, closed where the response passes by.

- `DebugNotFoundPageMiddleware`: with DEBUG on, Django's 404 page shows the full URL, query string
  included, and it is rendered without the exception reporter (config/error_reports.py). A token
  sent in the query string is masked on it here.
- `DjangoRQNotFoundMiddleware`: django-rq's dashboard views look up the queue, worker or scheduler
  number and the job id of their URL without checking it: an unknown one raises and would answer
  500. It answers 404 here, as a missing object does.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.http import Http404
from rq.exceptions import NoSuchJobError

from config.error_reports import mask_request_secrets

# What django-rq's views raise for an object their URL names that does not exist: a queue or
# scheduler index past the list (IndexError) or past a C integer (OverflowError, IndexError), a job
# id RQ refuses (ValueError) or does not have (NoSuchJobError), a non-ASCII API token compared with
# secrets.compare_digest (TypeError).
_MISSING_OBJECT = (LookupError, OverflowError, ValueError, TypeError, NoSuchJobError)


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
