"""Gunicorn's settings (Procfile: `gunicorn -c python:config.gunicorn config.wsgi`).

Gunicorn's master logs before Django is loaded ("Starting gunicorn", "Booting worker", a worker
timeout): with the same logging configuration as Django's (config.logs.logging_config), those lines
are JSON objects too. Its access log stays off: config.request_logs logs each request, with its
requestId. Workers, timeouts and the bind address stay on the command line (Procfile).
"""

import os

from config.logs import logging_config

logconfig_dict = logging_config(level=os.environ.get("LOG_LEVEL", "INFO"))
accesslog = None
