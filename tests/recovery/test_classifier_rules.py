"""The partners' documented rules, on bodies that are NOT in the corpus.

Other subcodes, other messages, other envelopes and plain garbage: the
classifier must follow each partner's rules (codes, subcodes, statuses, error
types), not recognise the corpus' particular bodies.
"""

import html
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from connections.platforms.base import PartnerError
from recovery.classifier import REFRESH_CONTEXT, classify_partner_error
from recovery.classifier.parsing import parse_retry_after, seconds_until_next_utc_midnight
from recovery.classifier.wording import _WORDS, WORDING
from recovery.failures import classify_failure
from recovery.models import UnmappedError
from recovery.taxonomy import ErrorCode as E

pytestmark = pytest.mark.django_db


def meta_error(code=None, subcode=None, message="", **extra):
    error = {"message": message, "type": "OAuthException", "fbtrace_id": "Bq9zX1"}
    if code is not None:
        error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return {"error": error}


def google_error(code, status, message, details=(), errors=()):
    error = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    if errors:
        error["errors"] = list(errors)
    return {"error": error}


def error_info(reason, **metadata):
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com", "metadata": metadata}


def tiktok_error(code, message="x"):
    return {"data": {}, "error": {"code": code, "message": message, "log_id": "2024010100000000ABCDEF"}}


def tiktok_status(fail_reason):
    return {"data": {"status": "FAILED", "fail_reason": fail_reason}, "error": {"code": "ok", "message": "", "log_id": "1"}}


def problem(title, status, detail=""):
    return {"title": title, "status": status, "detail": detail, "instance": "0f0e4c4e-aaaa-bbbb-cccc-000000000000"}


RULES = [
    # -- Meta: token subcodes and families
    ("meta-493-data-access-expired", "meta", 400, meta_error(190, 493, "Data access has expired."), E.AUTH_EXPIRED),
    ("meta-459-checkpoint", "meta", 400, meta_error(190, 459, "User is checkpointed."), E.ACCOUNT_RESTRICTED),
    ("meta-102-with-460", "meta", 400, meta_error(102, 460, "Session invalidated."), E.AUTH_REVOKED),
    ("meta-190-unknown-subcode", "meta", 400, meta_error(190, 999, "Bad token."), E.AUTH_INVALID),
    ("meta-190-string-code", "meta", 401, meta_error("190", "458", "App not installed."), E.AUTH_REVOKED),
    ("meta-190-expired-no-subcode", "meta", 400, meta_error(190, None, "Error validating access token: Session has expired on Monday."), E.AUTH_EXPIRED),
    ("meta-190-logged-out-msg", "meta", 400, meta_error(190, None, "The session is invalid because the user logged out."), E.AUTH_REVOKED),
    ("meta-200-permission", "meta", 403, meta_error(230, None, "(#230) Requires pages_manage_posts permission"), E.PERMISSION_INSUFFICIENT),
    ("meta-10-ig-publish", "meta", 400, meta_error(10, None, "(#10) Requires instagram_content_publish"), E.PERMISSION_INSUFFICIENT),
    ("meta-3-capability", "meta", 400, meta_error(3, None, "(#3) Application does not have the capability to make this API call."), E.CAPABILITY_UNSUPPORTED),
    ("meta-32-page-throttle", "meta", 400, meta_error(32, None, "Page request limit reached"), E.RATE_LIMIT_429),
    ("meta-613-custom-throttle", "meta", 400, meta_error(613, None, "Calls to this api have exceeded the rate limit."), E.RATE_LIMIT_429),
    ("meta-80004-ads-buc", "meta", 400, meta_error(80004, None, "There have been too many calls to this ad-account."), E.RATE_LIMIT_429),
    ("meta-2-transient-503", "meta", 503, meta_error(2, None, "Service temporarily unavailable", is_transient=True), E.PARTNER_5XX),
    ("meta-1-unknown-502", "meta", 502, meta_error(1, None, "An unknown error occurred"), E.PARTNER_5XX),
    ("meta-2-transient-400", "meta", 400, meta_error(2, None, "Service temporarily unavailable", is_transient=True), E.PARTNER_UNAVAILABLE),
    ("meta-unknown-code-transient", "meta", 400, meta_error(12345, None, "Something", is_transient=True), E.PARTNER_UNAVAILABLE),
    ("meta-506-duplicate", "meta", 400, meta_error(506, None, "Duplicate status message"), E.DUPLICATE_CONTENT),
    ("meta-368-1404082-duplicate", "meta", 400, meta_error(368, 1404082, "Blocked"), E.DUPLICATE_CONTENT),
    ("meta-368-1404102-standards", "meta", 400, meta_error(368, 1404102, "Blocked"), E.CONTENT_REJECTED),
    ("meta-368-no-subcode-other-msg", "meta", 400, meta_error(368, None, "The action attempted has been deemed abusive or is otherwise disallowed"), E.CONTENT_REJECTED),
    ("meta-368-posting-too-fast-msg", "meta", 400, meta_error(368, None, "It looks like you were misusing this feature by going too fast."), E.RATE_LIMIT_429),
    ("meta-ig-2207004-too-large", "meta", 400, meta_error(36000, 2207004, "The image is too large to download."), E.MEDIA_ERROR),
    ("meta-ig-2207050-inactive", "meta", 400, meta_error(25, 2207050, "The user is restricted."), E.ACCOUNT_RESTRICTED),
    ("meta-ig-family-unlisted-media", "meta", 400, meta_error(9004, 2207099, "Some new media problem"), E.MEDIA_ERROR),
    ("meta-ig-family-unlisted-param", "meta", 400, meta_error(100, 2207098, "Some new parameter problem"), E.VALIDATION_ERROR),
    ("meta-1363-video-family", "meta", 400, meta_error(6000, 1363019, "Video file too small"), E.MEDIA_ERROR),
    ("meta-100-does-not-exist", "meta", 400, meta_error(100, None, "Object with ID '42' does not exist"), E.RESOURCE_NOT_FOUND),
    ("meta-100-invalid-param", "meta", 400, meta_error(100, None, "(#100) Invalid parameter"), E.VALIDATION_ERROR),
    ("meta-legacy-envelope-http-200-throttle", "meta", 200, {"error_code": 4, "error_msg": "Application request limit reached"}, E.RATE_LIMIT_429),
    ("meta-legacy-envelope-190", "meta", 200, {"error_code": 190, "error_msg": "Invalid OAuth 2.0 Access Token"}, E.AUTH_INVALID),
    ("meta-2201-webhook", "meta", 400, meta_error(2201, None, "received HTTP code 500"), E.WEBHOOK_FAILURE),
    # -- LinkedIn
    ("linkedin-65602-no-code-field", "linkedin", 401, {"serviceErrorCode": 65602, "message": "Token expired", "status": 401}, E.AUTH_EXPIRED),
    ("linkedin-65604-empty-token", "linkedin", 401, {"serviceErrorCode": 65604, "message": "Empty oauth2_access_token", "status": 401}, E.AUTH_INVALID),
    ("linkedin-code-only-revoked", "linkedin", 401, {"status": 401, "code": "REVOKED_ACCESS_TOKEN", "message": "gone"}, E.AUTH_REVOKED),
    ("linkedin-401-plain-text", "linkedin", 401, "Unauthorized", E.AUTH_EXPIRED),  # the seed's reading of a bare 401
    ("linkedin-403-v1-throttle", "linkedin", 403, {"errorCode": 0, "message": "Throttle limit for calls to this resource is reached.", "status": 403}, E.QUOTA_EXCEEDED),
    ("linkedin-403-other-resource", "linkedin", 403, {"serviceErrorCode": 100, "message": "Not enough permissions to access: GET /organizationAcls", "status": 403}, E.PERMISSION_INSUFFICIENT),
    ("linkedin-404-entity-gone", "linkedin", 404, {"status": 404, "message": "Not Found: urn:li:organization:12345"}, E.RESOURCE_NOT_FOUND),
    ("linkedin-404-restricted-json", "linkedin", 404, {"status": 404, "message": "Resource organizationalEntityShareStatistics does not exist"}, E.PERMISSION_INSUFFICIENT),
    ("linkedin-410-v1-retired", "linkedin", 410, {"errorCode": 0, "message": "This resource is no longer available under v1 APIs", "status": 410}, E.CAPABILITY_UNSUPPORTED),
    ("linkedin-422-duplicate-other-text", "linkedin", 422, {"message": "Unprocessable", "errorDetails": {"inputErrors": [{"code": "DUPLICATE_POST", "description": "dup"}]}, "status": 422}, E.DUPLICATE_CONTENT),
    ("linkedin-422-other-input-error", "linkedin", 422, {"message": "Unprocessable", "errorDetails": {"inputErrors": [{"code": "FIELD_VALUE_TOO_LONG"}]}, "status": 422}, E.VALIDATION_ERROR),
    ("linkedin-400-image-urn", "linkedin", 400, {"message": "Image urn:li:image:C4D10AQ not found or not ready", "status": 400}, E.MEDIA_ERROR),
    ("linkedin-oauth-invalid-grant", "linkedin", 400, {"error": "invalid_grant", "error_description": "refresh token revoked"}, E.REFRESH_FAILED),
    ("linkedin-oauth-server-error", "linkedin", 500, {"error": "server_error", "error_description": "oops"}, E.PARTNER_5XX),
    ("linkedin-500-html", "linkedin", 500, "<html><body><h1>500 Internal Server Error</h1></body></html>", E.PARTNER_5XX),
    # -- TikTok
    ("tiktok-scope-permission-missed", "tiktok", 401, tiktok_error("scope_permission_missed", "Missing video.publish"), E.PERMISSION_INSUFFICIENT),
    ("tiktok-pending-share", "tiktok", 403, tiktok_error("spam_risk_too_many_pending_share"), E.QUOTA_EXCEEDED),
    ("tiktok-unaudited-client", "tiktok", 403, tiktok_error("unaudited_client_can_only_post_to_private_accounts"), E.CAPABILITY_UNSUPPORTED),
    ("tiktok-invalid-params", "tiktok", 400, tiktok_error("invalid_params"), E.VALIDATION_ERROR),
    ("tiktok-status-duration", "tiktok", 200, tiktok_status("duration_check_failed"), E.MEDIA_ERROR),
    ("tiktok-status-picture-size", "tiktok", 200, tiktok_status("picture_size_check_failed"), E.MEDIA_ERROR),
    ("tiktok-status-photo-pull", "tiktok", 200, tiktok_status("photo_pull_failed"), E.MEDIA_ERROR),
    ("tiktok-status-spam-risk-generic", "tiktok", 200, tiktok_status("spam_risk"), E.CONTENT_REJECTED),
    ("tiktok-status-too-many-posts", "tiktok", 200, tiktok_status("spam_risk_too_many_posts"), E.QUOTA_EXCEEDED),
    ("tiktok-status-banned", "tiktok", 200, tiktok_status("spam_risk_user_banned_from_posting"), E.ACCOUNT_RESTRICTED),
    ("tiktok-internal-error-on-4xx", "tiktok", 400, tiktok_error("internal_error"), E.PARTNER_UNAVAILABLE),
    ("tiktok-unknown-code-503", "tiktok", 503, tiktok_error("brand_new_code"), E.PARTNER_UNAVAILABLE),
    ("tiktok-webhook-removed-user", "tiktok", None, {"event": "authorization.removed", "content": "{\"reason\": 1 }"}, E.AUTH_REVOKED),
    ("tiktok-webhook-removed-banned", "tiktok", None, {"event": "authorization.removed", "content": "{\"reason\": 4}"}, E.ACCOUNT_RESTRICTED),
    ("tiktok-oauth-invalid-client", "tiktok", 401, {"error": "invalid_client", "error_description": "Client key invalid", "log_id": "1"}, E.AUTH_INVALID),
    # -- Google Business Profile
    ("gbp-401-invalid-credentials-legacy", "gbp", 401, google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", errors=[{"reason": "authError", "message": "Invalid Credentials", "domain": "global"}]), E.AUTH_EXPIRED),
    ("gbp-403-scope-reason", "gbp", 403, google_error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.", details=[error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT")]), E.PERMISSION_INSUFFICIENT),
    ("gbp-429-per-day", "gbp", 429, google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Create Location' and limit 'Create Location per day'", details=[error_info("RATE_LIMIT_EXCEEDED", quota_limit="CreateLocationPerDayPerProject")]), E.QUOTA_EXCEEDED),
    ("gbp-429-zero-quota", "gbp", 429, google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'", details=[error_info("RATE_LIMIT_EXCEEDED", quota_limit="DefaultRequestsPerMinutePerProject", quota_limit_value="0")]), E.PERMISSION_INSUFFICIENT),
    ("gbp-403-legacy-rate-limit", "gbp", 403, google_error(403, "PERMISSION_DENIED", "Rate Limit Exceeded", errors=[{"reason": "rateLimitExceeded", "domain": "usageLimits"}]), E.RATE_LIMIT_429),
    ("gbp-403-legacy-daily-limit", "gbp", 403, google_error(403, "PERMISSION_DENIED", "Daily Limit Exceeded", errors=[{"reason": "dailyLimitExceeded", "domain": "usageLimits"}]), E.QUOTA_EXCEEDED),
    ("gbp-validation-error-photo-number", "gbp", 400, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", details=[{"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError", "errorDetails": [{"code": 1000, "field": "media.source_url", "message": "Fetch failed"}]}]), E.MEDIA_ERROR),
    ("gbp-validation-error-1301", "gbp", 400, google_error(400, "FAILED_PRECONDITION", "Precondition check failed.", details=[{"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError", "errorDetails": [{"code": 1301}]}]), E.ACCOUNT_RESTRICTED),
    ("gbp-location-disabled-for-posts", "gbp", 400, google_error(400, "FAILED_PRECONDITION", "Precondition check failed.", details=[error_info("LOCATION_DISABLED_FOR_LOCAL_POST_API")]), E.CAPABILITY_UNSUPPORTED),
    ("gbp-enum-name-as-text", "gbp", 400, "PHOTO_UPLOAD_FAILED", E.MEDIA_ERROR),
    ("gbp-publish-permissions-topic", "gbp", 400, google_error(400, "INVALID_ARGUMENT", "x", details=[error_info("PUBLISH_PERMISSIONS_MISSING_FOR_PUBSUB_TOPIC")]), E.WEBHOOK_FAILURE),
    ("gbp-aborted", "gbp", 409, google_error(409, "ABORTED", "The operation was aborted."), E.CONFLICT),
    ("gbp-deadline-exceeded", "gbp", 504, google_error(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."), E.PARTNER_5XX),
    ("gbp-html-404-page", "gbp", 404, "<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> <ins>That's an error.</ins><p>The requested URL <code>/v4/locations/9/localPosts</code> was not found on this server.", E.VALIDATION_ERROR),
    ("gbp-local-post-rejected-other", "gbp", 200, {"name": "accounts/9/locations/8/localPosts/7", "state": "REJECTED", "summary": "Hello"}, E.CONTENT_REJECTED),
    ("gbp-oauth-invalid-grant-revoked", "gbp", 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, E.REFRESH_FAILED),
    # -- Mailchimp
    ("mailchimp-api-key-missing", "mailchimp", 401, problem("API Key Missing", 401, "Your request did not include an API key."), E.AUTH_INVALID),
    ("mailchimp-title-case-and-spaces", "mailchimp", 403, problem("  user   DISABLED ", 403, "This account has been disabled."), E.ACCOUNT_RESTRICTED),
    ("mailchimp-503-compliance", "mailchimp", 503, problem("Compliance Related", 503, "This method has been disabled."), E.ACCOUNT_RESTRICTED),
    ("mailchimp-json-parse-error", "mailchimp", 400, problem("JSON Parse Error", 400, "We encountered an unspecified JSON parsing error."), E.VALIDATION_ERROR),
    ("mailchimp-405", "mailchimp", 405, problem("Method Not Allowed", 405, "The requested method and resource are not compatible."), E.VALIDATION_ERROR),
    ("mailchimp-429", "mailchimp", 429, problem("Too Many Requests", 429, "You have exceeded the limit of 10 simultaneous connections."), E.RATE_LIMIT_429),
    ("mailchimp-403-html-waf", "mailchimp", 403, "<html><head><title>403 Forbidden</title></head><body>Forbidden</body></html>", E.RATE_LIMIT_429),
    ("mailchimp-403-none-body", "mailchimp", 403, None, E.RATE_LIMIT_429),
    ("mailchimp-webhook-check-other-code", "mailchimp", 400, problem("Invalid Resource", 400, "We couldn't verify the URL is working. Please double check and try again. HTTP Code: 503"), E.WEBHOOK_FAILURE),
    ("mailchimp-no-type-field", "mailchimp", 404, {"title": "Resource Not Found", "status": 404, "detail": "The requested resource could not be found."}, E.RESOURCE_NOT_FOUND),
    ("mailchimp-batch-result", "mailchimp", 200, {"status_code": 400, "operation_id": "op-1", "response": json.dumps(problem("Member Exists", 400, "a@b.co is already a list member."))}, E.CONFLICT),
]


@pytest.mark.parametrize("platform,status,body,expected", [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_documented_rule(platform, status, body, expected):
    assert classify_partner_error(platform, status, body).code is expected


JSON_RULES = [r for r in RULES if isinstance(r[3], (dict, list))]


@pytest.mark.parametrize("platform,status,body,expected", [r[1:] for r in JSON_RULES], ids=[r[0] for r in JSON_RULES])
def test_rule_holds_for_body_sent_as_text_or_bytes(platform, status, body, expected):
    text = json.dumps(body)
    assert classify_partner_error(platform, status, text).code is expected
    assert classify_partner_error(platform, status, text.encode()).code is expected


# -- garbage bodies: never raise, fall back on the HTTP status ----------------------------

GARBAGE = [
    pytest.param(None, id="none"),
    pytest.param("", id="empty"),
    pytest.param("   \n ", id="blank"),
    pytest.param("<html><body><h1>Bad Gateway</h1></body></html>", id="html"),
    pytest.param('{"error": {"mess', id="truncated-json-before-any-code"),
    pytest.param(b'\xff\xfe\x00garbage\x80', id="invalid-utf8-bytes"),
    pytest.param([1, "two", {"three": 3}], id="list"),
    pytest.param([], id="empty-list"),
    pytest.param({}, id="empty-dict"),
    pytest.param({"error": "just a string"}, id="error-is-string"),
    pytest.param({"error": None, "data": None}, id="error-null"),
    pytest.param({"error": {"code": {"nested": True}, "error_subcode": [1, 2]}}, id="odd-types"),
    pytest.param({"error": {"details": "not a list", "errors": {"x": 1}}}, id="odd-google"),
    pytest.param({"title": None, "status": "four hundred"}, id="odd-problem"),
    pytest.param(12345, id="number"),
    pytest.param("x" * 3_000_000, id="huge-string"),
    pytest.param("[" * 5000, id="deep-brackets"),
    pytest.param('"just a json string"', id="json-string"),
]

FALLBACK = {
    401: E.AUTH_INVALID,
    404: E.RESOURCE_NOT_FOUND,
    409: E.CONFLICT,
    422: E.VALIDATION_ERROR,
    400: E.VALIDATION_ERROR,
    429: E.RATE_LIMIT_429,
    500: E.PARTNER_5XX,
    502: E.PARTNER_5XX,
    503: E.PARTNER_UNAVAILABLE,
    504: E.PARTNER_5XX,
}


# Where a partner's documented rule speaks for the status alone.
PARTNER_STATUS_RULES = {
    "linkedin": {429: E.QUOTA_EXCEEDED, 401: E.AUTH_EXPIRED},  # limits are daily; a bare 401 is a token's age
}


@pytest.mark.parametrize("platform", ["meta", "linkedin", "tiktok", "gbp", "mailchimp"])
@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_body_falls_back_on_http_status(platform, body):
    for status, expected in {**FALLBACK, **PARTNER_STATUS_RULES.get(platform, {})}.items():
        classified = classify_partner_error(platform, status, body)
        assert classified.code is expected, (platform, status, classified.partner_code)


@pytest.mark.parametrize("platform", ["meta", "linkedin", "tiktok", "gbp"])
@pytest.mark.parametrize("body", ["<html>Forbidden</html>", "", None, b"Access denied"])
def test_a_403_without_the_partners_json_is_retried_not_a_reconnect(platform, body):
    # A proxy or firewall in front of the partner refused the call; a reconnect would not help.
    classified = classify_partner_error(platform, 403, body)
    assert classified.code is E.PARTNER_UNAVAILABLE and not classified.pauses_channel


@pytest.mark.parametrize("platform", ["meta", "linkedin", "tiktok", "gbp"])
def test_a_403_with_a_json_body_but_no_known_code_is_a_permission_problem(platform):
    assert classify_partner_error(platform, 403, {"message": "Forbidden"}).code is E.PERMISSION_INSUFFICIENT


def test_a_403_with_a_bearer_insufficient_scope_challenge_and_no_body_is_a_permission_problem():
    headers = {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="https://www.googleapis.com/auth/business.manage"'}
    classified = classify_partner_error("gbp", 403, "", headers)
    assert classified.code is E.PERMISSION_INSUFFICIENT
    assert classified.missing_scopes == ["https://www.googleapis.com/auth/business.manage"]


@pytest.mark.parametrize("status", [None, 200, 302, 418, "not a status"])
def test_nothing_fits_is_unknown(status):
    assert classify_partner_error("meta", status, "<html>?</html>").code is E.UNKNOWN


def test_unknown_platform_uses_the_status():
    assert classify_partner_error("myspace", 429, {"whatever": 1}).code is E.RATE_LIMIT_429
    assert classify_partner_error(None, 401, None).code is E.AUTH_INVALID


def test_platform_aliases_and_case():
    body = meta_error(190, 463, "Session has expired", fbtrace_id="A1")
    assert classify_partner_error("Instagram", 400, body).code is E.AUTH_EXPIRED
    assert classify_partner_error("META", 400, body).platform == "meta"


def test_status_given_as_text():
    assert classify_partner_error("linkedin", "429", None).code is E.QUOTA_EXCEEDED


@pytest.mark.parametrize(
    "headers",
    [None, {}, [("X-Other", "1")], "not headers", {"WWW-Authenticate": None}, {b"Retry-After": b"7"}],
)
def test_odd_headers_never_raise(headers):
    assert classify_partner_error("gbp", 500, None, headers).code is E.PARTNER_5XX


# -- retry delays -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Retry-After", "retry-after", "RETRY-AFTER", "rEtRy-AfTeR"])
def test_retry_after_header_in_any_case(name):
    assert classify_partner_error("mailchimp", 429, None, {name: "42"}).retry_after_s == 42


def test_retry_after_http_date():
    when = datetime.now(timezone.utc) + timedelta(seconds=90)
    classified = classify_partner_error("gbp", 503, None, {"Retry-After": format_datetime(when, usegmt=True)})
    assert classified.retry_after_s == pytest.approx(90, abs=2)


@pytest.mark.parametrize("value", ["soon", "-5", "", "nan", "inf", "Mon, 99 Foo 2024"])
def test_unreadable_retry_after_is_ignored(value):
    assert parse_retry_after(value) is None


def test_retry_after_header_wins_over_meta_usage_header():
    usage = json.dumps({"123": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 10}]})
    classified = classify_partner_error(
        "meta", 400, meta_error(80001, None, "too many calls"), {"X-Business-Use-Case-Usage": usage, "Retry-After": "30"}
    )
    assert classified.retry_after_s == 30


def test_meta_business_usage_takes_the_longest_wait():
    usage = json.dumps(
        {
            "111": [{"type": "pages", "estimated_time_to_regain_access": 3}, {"type": "instagram", "estimated_time_to_regain_access": 0}],
            "222": [{"type": "pages", "estimated_time_to_regain_access": 7}],
        }
    )
    classified = classify_partner_error("meta", 400, meta_error(32, None, "Page limit"), {"x-business-use-case-usage": usage})
    assert classified.code is E.RATE_LIMIT_429
    assert classified.retry_after_s == 7 * 60


def test_meta_app_usage_gives_no_reset_time():
    classified = classify_partner_error(
        "meta", 400, meta_error(4, None, "Application request limit reached"), {"X-App-Usage": '{"call_count": 120}'}
    )
    assert classified.code is E.RATE_LIMIT_429
    assert classified.retry_after_s is None


def test_meta_broken_usage_header_is_ignored():
    classified = classify_partner_error("meta", 400, meta_error(4, None, "x"), {"X-Business-Use-Case-Usage": "{not json"})
    assert classified.retry_after_s is None


def test_google_retry_info_delay():
    body = google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Too many edits for this profile.",
        details=[error_info("RATE_LIMIT_EXCEEDED"), {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "19s"}],
    )
    classified = classify_partner_error("gbp", 429, body)
    assert classified.code is E.RATE_LIMIT_429
    assert classified.retry_after_s == 19


def test_linkedin_429_waits_for_next_utc_midnight():
    classified = classify_partner_error("linkedin", 429, {"message": "Too many requests", "status": 429})
    assert classified.code is E.QUOTA_EXCEEDED
    assert classified.retry_after_s == pytest.approx(seconds_until_next_utc_midnight(), abs=2)


def test_next_utc_midnight_arithmetic():
    now = datetime(2024, 5, 1, 23, 59, 0, tzinfo=timezone.utc)
    assert seconds_until_next_utc_midnight(now) == 60
    assert seconds_until_next_utc_midnight(datetime(2024, 5, 1, tzinfo=timezone.utc)) == 86400


def test_tiktok_429_waits_at_least_the_window():
    classified = classify_partner_error("tiktok", 429, tiktok_error("rate_limit_exceeded"))
    assert classified.retry_after_s >= 60


# -- scopes, challenges, context ------------------------------------------------------------


def test_google_insufficient_scope_names_the_missing_scope():
    headers = {
        "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope", '
        'scope="https://www.googleapis.com/auth/business.manage openid"'
    }
    classified = classify_partner_error("gbp", 403, google_error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."), headers)
    assert classified.code is E.PERMISSION_INSUFFICIENT
    assert classified.missing_scopes == ["https://www.googleapis.com/auth/business.manage", "openid"]


def test_bearer_challenge_decides_when_the_body_says_nothing():
    headers = {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="w_member_social"'}
    classified = classify_partner_error("linkedin", 400, "", headers)
    assert classified.code is E.PERMISSION_INSUFFICIENT
    assert classified.missing_scopes == ["w_member_social"]


def test_meta_permission_error_names_the_permission():
    classified = classify_partner_error("meta", 403, meta_error(200, None, "(#200) Requires pages_manage_posts and pages_read_engagement"))
    assert classified.missing_scopes == ["pages_manage_posts", "pages_read_engagement"]


def test_refresh_context_turns_token_failures_into_refresh_failed():
    body = meta_error(190, 463, "Session has expired")
    assert classify_partner_error("meta", 400, body, {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'}).code is E.AUTH_EXPIRED
    assert classify_partner_error("meta", 400, body, context=REFRESH_CONTEXT).code is E.REFRESH_FAILED
    assert classify_partner_error("linkedin", 401, {"serviceErrorCode": 65601, "status": 401}, context=REFRESH_CONTEXT).code is E.REFRESH_FAILED
    # context never turns a non-token failure into a token one
    assert classify_partner_error("linkedin", 500, None, context=REFRESH_CONTEXT).code is E.PARTNER_5XX


def test_partner_code_and_message_are_kept_for_ops():
    classified = classify_partner_error("meta", 400, meta_error(190, 460, "Password changed"))
    assert classified.partner_code == "190/460"
    assert classified.partner_message == "Password changed"
    assert classified.platform == "meta" and classified.http_status == 400


def test_partner_message_is_bounded():
    classified = classify_partner_error("linkedin", 400, {"message": "y " * 10_000, "status": 400})
    assert len(classified.partner_message) <= 500


def test_unknown_is_recorded_by_the_failure_service_and_mapped_codes_are_not():
    classify_failure(PartnerError("tiktok", 200, tiktok_status("some_future_reason")))
    classify_failure(PartnerError("tiktok", 403, tiktok_error("spam_risk_user_banned_from_posting")))
    classify_partner_error("tiktok", 200, tiktok_status("another_future_reason"))  # the pure classifier records nothing
    assert list(UnmappedError.objects.values_list("platform", "http_status")) == [("tiktok", 200)]


def test_google_per_minute_limit_waits_for_the_next_minute():
    body = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Edits' and limit 'Edits per minute per profile'")
    classified = classify_partner_error("gbp", 429, body)
    assert classified.code is E.RATE_LIMIT_429
    assert 0 < classified.retry_after_s <= 60


def test_google_per_day_limit_waits_for_the_pacific_midnight():
    body = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Create Location' and limit 'Create Location per day'")
    classified = classify_partner_error("gbp", 429, body)
    assert classified.code is E.QUOTA_EXCEEDED
    assert 0 < classified.retry_after_s <= 25 * 3600  # a DST day is 25 hours long


def test_pacific_midnight_arithmetic():
    from recovery.classifier.parsing import seconds_until_next_midnight_in

    # 07:59 UTC on 10 March 2024 is 23:59 PST, the night clocks spring forward.
    assert seconds_until_next_midnight_in("America/Los_Angeles", datetime(2024, 3, 10, 7, 59, tzinfo=timezone.utc)) == 60
    assert seconds_until_next_midnight_in("Not/AZone") is None


def test_tokens_in_partner_messages_are_masked():
    token = "EAAGm0PX4ZCpsBAKZCmZBq1xhg3v7Z8PZA"
    classified = classify_partner_error("meta", 400, meta_error(190, None, f"Malformed access token {token}"))
    assert classified.code is E.AUTH_INVALID
    assert token not in classified.partner_message and "Malformed access token" in classified.partner_message


def test_a_number_cut_at_the_very_end_is_not_read_as_a_code():
    # '"code":1' may be 190 cut after its first digit: Meta's words decide, never code 1 (transient).
    cut = '{"error":{"message":"Error validating access token: Session has expired on x.","type":"OAuthException","code":1'
    assert classify_partner_error("meta", 400, cut).code is E.AUTH_EXPIRED


def test_the_partners_json_inside_an_html_page_or_a_log_line_decides():
    inner = {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "revoked"}
    page = "<html><body><pre>" + html.escape(json.dumps(inner)) + "</pre></body></html>"
    assert classify_partner_error("linkedin", 401, page).code is E.AUTH_REVOKED
    assert classify_partner_error("linkedin", 401, "upstream: " + json.dumps(inner) + " (retry 1)").code is E.AUTH_REVOKED
    wrapped = {"message": "Request failed with status code 401", "response": {"data": json.dumps(inner)}}
    assert classify_partner_error("linkedin", 401, wrapped).code is E.AUTH_REVOKED


# A 403 whose text says the caller lacks a permission, access or a role, in the partner's
# own wording (rule phrasings, not corpus bodies), whatever the body's shape.
PERMISSION_WORDS = [
    ("linkedin", "Not enough permissions to access: POST /rest/posts"),
    ("linkedin", "Viewer don't have permission to the ADMIN_ONLY VisibilityReduction"),
    ("linkedin", "The member lacks the required role on this organization"),
    ("gbp", "The caller does not have permission"),
    ("gbp", "Request had insufficient authentication scopes."),
    ("meta", "(#10) Application does not have permission for this action"),
    ("meta", "(#200) The user hasn't authorized the application to perform this action"),
    ("tiktok", "The user did not authorize the scope required for completing this request."),
    ("mailchimp", "You are not permitted to access this resource."),
]


@pytest.mark.parametrize("platform,words", PERMISSION_WORDS)
@pytest.mark.parametrize("shape", ["text", "html", "bytes"])
def test_a_403_in_the_partners_permission_words_is_never_retried(platform, words, shape):
    body = {"text": words, "html": f"<html><body><p>{html.escape(words)}</p></body></html>", "bytes": words.encode()}[shape]
    classified = classify_partner_error(platform, 403, body)
    assert classified.code is E.PERMISSION_INSUFFICIENT and not classified.retryable


def test_word_patterns_are_written_in_lower_case():
    # wording.py matches word families against the lower-cased text (faster than IGNORECASE):
    # an upper-case letter in one of them would never match.
    for platform, families in WORDING.items():
        for _code, kind, pattern in families:
            literal = re.sub(r"\\.", "", pattern.pattern)
            assert kind != _WORDS or literal == literal.lower(), (platform, pattern.pattern)
