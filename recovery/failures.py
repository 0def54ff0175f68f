"""One failure of a partner call, classified: the way every service turns an exception into a ClassifiedError.

- A partner's answer (`PartnerError`): the classifier reads its status, body
  and headers (context "refresh" makes a token failure REFRESH_FAILED). An
  answer it can only call UNKNOWN is recorded for ops (recovery.unmapped):
  the classifier is pure, recording is this service's job.
- Our own refusal before any call (`PostRefused`): the code the connector
  gave (CAPABILITY_UNSUPPORTED or VALIDATION_ERROR), with its message.
- No answer (timeout, network, TLS, or a bug around the call): the
  client-side classifier.

Each classification is counted (recovery.classification, tagged platform, code and
reauth: whether a reconnect fixes it, which the Auth4xxSpike monitor watches), and
its partner message has the exact secrets of the job or request in hand masked
(config.logs.known_secrets): a token with no recognisable shape quoted by an
exception (requests quotes an invalid Authorization header) must not reach the
post's message, a dead letter or a page.

`is_expected_failure` is what Sentry asks of an exception that escaped a job
or a request (handed over at start-up, RecoveryConfig.ready): a failure the
taxonomy handles without escalating is not sent.
"""

from __future__ import annotations

from dataclasses import replace

import requests

from config.logs import known_secrets
from config.metrics import metrics
from config.redaction import mask_known
from connections.platforms.base import PartnerError, PostRefused
from recovery.classifier import classify_partner_error, classify_system_error
from recovery.taxonomy import ClassifiedError, ErrorCode
from recovery.unmapped import record_unmapped_error


def classify_failure(exc: BaseException, platform: str = "system", *, record: bool = True) -> ClassifiedError:
    """The classification of `exc`, raised by a call to `platform`'s partner (rules in the module docstring).

    `record=False` (Sentry's question) neither records an unmapped error nor counts the classification.
    """
    if isinstance(exc, PostRefused):
        classified = ClassifiedError(
            code=ErrorCode(exc.code),
            platform=exc.platform,
            http_status=None,
            partner_code="connector:refused",
            partner_message=exc.message,
        )
    elif isinstance(exc, PartnerError):
        classified = classify_partner_error(exc.platform, exc.status, exc.body, exc.headers, context=exc.context)
        if record and classified.code is ErrorCode.UNKNOWN:
            record_unmapped_error(classified.platform, classified.http_status, exc.body)
    else:
        classified = classify_system_error(exc, platform=platform)
    masked = mask_known(classified.partner_message, known_secrets())
    if masked != classified.partner_message:
        classified = replace(classified, partner_message=masked)
    if record:
        metrics.increment(
            "recovery.classification",
            tags={"platform": classified.platform, "code": classified.code.value, "reauth": classified.requires_reauth},
        )
    return classified


def is_expected_failure(exc: BaseException) -> bool:
    """Whether an escaped exception is a partner failure the taxonomy handles without escalation."""
    if not isinstance(exc, (PartnerError, requests.RequestException)):
        return False
    return not classify_failure(exc, record=False).escalates
