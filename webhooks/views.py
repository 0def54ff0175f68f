"""The partners' webhook receivers: read the body within bounds, verify it, store it, answer at once.

Each receiver is the partner's scheme (webhooks/verification/<partner>.py) with our
secret from settings; what is stored and enqueued is webhooks.intake's. Every refusal
is counted (recovery.webhook.rejected) and answered without storing anything: 403 for
a missing or wrong signature, 401 for a refused Pub/Sub token, 400 for a malformed
body, 413 for one over WEBHOOK_MAX_BODY_BYTES, 503 when Google's keys cannot be fetched or
the delivery could not be stored (the partner delivers it again).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from config.metrics import metrics
from webhooks.intake import data_deletion_code, data_deletion_request, read_body
from webhooks.verification import Rejected, gbp, linkedin, mailchimp, meta, tiktok
from webhooks.writer import StoreUnavailable, webhook_receive

logger = logging.getLogger(__name__)


def _header(request, name: str) -> str | None:
    """One request header, read from the WSGI environ (request.headers would copy all of them, per webhook)."""
    return request.META.get("HTTP_" + name.upper().replace("-", "_"))


def _refused(platform: str, rejected: Rejected) -> HttpResponse:
    metrics.increment("recovery.webhook.rejected", tags={"platform": platform, "reason": rejected.reason})
    logger.info("webhook refused", extra={"platform": platform, "status": rejected.status, "reason": rejected.reason})
    response = HttpResponse(status=rejected.status)
    if rejected.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="webhooks"'
    return response


def _receive(request, platform: str, verify, answer=None) -> HttpResponse:
    """Read, verify (verify(raw) -> Delivery), store (webhooks.writer); 200 (or answer(stored)) once stored."""
    try:
        delivery = verify(read_body(request, settings.WEBHOOK_MAX_BODY_BYTES))
        stored = webhook_receive(delivery)
    except Rejected as rejected:
        return _refused(platform, rejected)
    except StoreUnavailable:
        # Not stored, so not acknowledged: the partner delivers it again later.
        return _refused(platform, Rejected(503, "unavailable", "not stored"))
    return answer(stored) if answer else HttpResponse(status=200)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request):
    """Meta's Webhooks: the subscription handshake (GET), change notifications (POST, X-Hub-Signature-256)."""
    if request.method == "GET":
        try:
            challenge = meta.verify_subscription(request.GET, settings.META_VERIFY_TOKEN)
        except Rejected as rejected:
            return _refused(meta.PLATFORM, rejected)
        return HttpResponse(challenge, content_type="text/plain")
    signature = _header(request, "X-Hub-Signature-256")
    return _receive(request, meta.PLATFORM, lambda raw: meta.verify_change(raw, signature, settings.META_APP_SECRET))


@csrf_exempt
@require_http_methods(["POST"])
def meta_deauthorize(request):
    """Meta's Deauthorize Callback: a signed_request naming the user who removed the app."""
    return _receive(request, meta.PLATFORM,
                    lambda raw: meta.verify_signed_request(raw, settings.META_APP_SECRET, meta.DEAUTHORIZE))


@csrf_exempt
@require_http_methods(["POST"])
def meta_data_deletion(request):
    """Meta's Data Deletion Callback: answers {"url": <status page>, "confirmation_code"} as Meta requires."""

    def answer(stored):
        code = data_deletion_code(stored.event_id)
        url = reverse("webhooks:meta-data-deletion-status", args=[code])
        return JsonResponse({"url": f"{settings.SITE_URL.rstrip('/')}{url}", "confirmation_code": code})

    return _receive(request, meta.PLATFORM,
                    lambda raw: meta.verify_signed_request(raw, settings.META_APP_SECRET, meta.DATA_DELETION), answer)


@require_GET
def meta_data_deletion_status(request, code):
    """The page Meta sends a user to: where their data-deletion request stands."""
    deletion = data_deletion_request(code)
    if deletion is None:
        raise Http404("No such data deletion request.")
    return render(request, "webhooks/data_deletion_status.html", {"deletion": deletion, "code": code})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def linkedin_webhook(request):
    """LinkedIn: the challengeCode validation (GET) and push notifications (POST, X-LI-Signature)."""
    secret = settings.LINKEDIN_CLIENT_SECRET
    if request.method == "GET":
        try:
            return JsonResponse(linkedin.challenge_response(request.GET.get("challengeCode"), secret))
        except Rejected as rejected:
            return _refused(linkedin.PLATFORM, rejected)
    signature = _header(request, "X-LI-Signature")
    return _receive(request, linkedin.PLATFORM, lambda raw: linkedin.verify_notification(raw, signature, secret))


@csrf_exempt
@require_http_methods(["POST"])
def tiktok_webhook(request):
    """TikTok: events signed with TikTok-Signature t=,s= (timestamp within WEBHOOK_TIMESTAMP_TOLERANCE_S)."""
    signature = _header(request, "TikTok-Signature")
    return _receive(request, tiktok.PLATFORM, lambda raw: tiktok.verify_event(
        raw, signature, settings.TIKTOK_CLIENT_SECRET, tolerance_s=settings.WEBHOOK_TIMESTAMP_TOLERANCE_S))


@csrf_exempt
@require_http_methods(["POST"])
def gbp_webhook(request):
    """Google Business Profile notifications as Pub/Sub pushes, authenticated with Google's OIDC token."""
    authorization = _header(request, "Authorization")

    def verify(raw):
        gbp.verify_push_token(authorization, audience=gbp.push_audience(),
                              service_account=gbp.push_service_account(), certs_url=gbp.certs_url())
        return gbp.parse_push(raw)

    return _receive(request, gbp.PLATFORM, verify)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def mailchimp_webhook(request, secret):
    """Mailchimp: the creation check (GET) and audience events (form POST), at a URL holding our secret."""
    try:
        mailchimp.verify_secret(secret, settings.MAILCHIMP_WEBHOOK_SECRET)
    except Rejected as rejected:
        return _refused(mailchimp.PLATFORM, rejected)
    if request.method == "GET":
        return HttpResponse("ok", content_type="text/plain")
    return _receive(request, mailchimp.PLATFORM, mailchimp.parse_event)
