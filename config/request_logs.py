"""Every request is a unit of work of the logs (config/logs.py): a request id, and one line when it ends.

- requestId: the client's or proxy's X-Request-ID when it is a safe, bounded value
  (config.logs.clean_request_id), else a new one; echoed in the response's X-Request-ID, carried
  by every line the request logs and by every job it enqueues (recovery.worker.RecoveryQueue).
- One "request" line per request (the access log: gunicorn's own is off, config/gunicorn.py):
  method, path (query string left out: it may hold an OAuth code), status, latency_ms, userId.

First in settings.MIDDLEWARE, so every other middleware's lines carry the id too.
"""

from __future__ import annotations

import logging
import time

from config.logs import clean_request_id, new_id, unit_of_work

logger = logging.getLogger("config.requests")

REQUEST_ID_HEADER = "X-Request-ID"


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_id()
        request.request_id = request_id
        started = time.monotonic()
        with unit_of_work(requestId=request_id):
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            user = getattr(request, "user", None)
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "latency_ms": round((time.monotonic() - started) * 1000),
                    "userId": user.pk if user is not None and user.is_authenticated else None,
                },
            )
        return response
