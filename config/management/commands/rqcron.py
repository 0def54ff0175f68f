"""`manage.py rqcron config.cron`: django-rq's cron scheduler, its start-up lines logged as JSON.

django-rq's command writes "Loading cron configuration..." and "Starting cron scheduler..." as
plain text on stdout; here they go to the log like every other line of the process (config/logs.py),
so a log pipeline reading the cron process sees one JSON object a line. Everything else is
django-rq's own command. The `config` app comes before `django_rq` in INSTALLED_APPS, so
this command is the one `rqcron` names.
"""

from __future__ import annotations

import io
import logging

from django_rq.management.commands.rqcron import Command as DjangoRQCronCommand

logger = logging.getLogger("rq.cron")


class LogLines(io.TextIOBase):
    """A text stream whose every non-empty line becomes one INFO record of `logger`."""

    def __init__(self, target: logging.Logger):
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.target.info(line.strip())
        return len(text)


class Command(DjangoRQCronCommand):
    def execute(self, *args, **options):
        options["stdout"] = LogLines(logger)
        options["no_color"] = True
        return super().execute(*args, **options)
