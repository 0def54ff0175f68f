"""`manage.py classify CASES.json`: the corpus in, one classification per case out, in order."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from recovery.models import UnmappedError
from recovery.taxonomy import get_taxonomy_entry
from tests.recovery.test_classifier_corpus import CORPUS

pytestmark = pytest.mark.django_db

REQUIRED = {"code", "action", "retryable", "pauses_channel", "requires_reauth", "retry_after_s", "user_message"}


def run(*args, stdin=None, monkeypatch=None):
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("classify", *args, stdout=out)
    return json.loads(out.getvalue())


def test_classifies_the_whole_corpus_in_order():
    cases = json.loads(CORPUS.read_text())
    results = run(str(CORPUS))
    assert len(results) == len(cases)
    for case, result in zip(cases, results):
        assert REQUIRED <= result.keys()
        assert result["id"] == case["id"]
        assert result["code"] == case["expected"], case["id"]
        if case.get("retry_after_s") is not None:
            assert result["retry_after_s"] == pytest.approx(case["retry_after_s"], abs=1)


def test_each_result_carries_its_codes_taxonomy_entry():
    for result in run(str(CORPUS)):
        entry = get_taxonomy_entry(result["code"])
        assert (result["action"], result["severity"]) == (entry.action.value, entry.severity.value)
        assert (result["retryable"], result["pauses_channel"], result["requires_reauth"]) == (
            entry.retryable, entry.pauses_channel, entry.requires_reauth
        )
        assert (result["user_message"], result["recovery_action"]) == (entry.user_message, entry.recovery_action)
        assert result["retry_after_s"] is None or result["retry_after_s"] >= 0


def test_the_command_records_unknown_errors():
    run(str(CORPUS))
    assert UnmappedError.objects.filter(platform="tiktok", http_status=200).exists()


def test_system_and_partner_cases_from_stdin(monkeypatch):
    cases = [
        {"platform": "system", "exception": "requests.exceptions.ConnectTimeout", "message": "(connect timeout=5)"},
        {"platform": "linkedin", "http_status": 401, "headers": {}, "body": {"serviceErrorCode": 65601, "status": 401}},
        {"platform": "mailchimp", "http_status": 429, "headers": {"Retry-After": "12"}, "body": None},
    ]
    results = run("-", "--indent", "0", stdin=json.dumps(cases), monkeypatch=monkeypatch)
    assert [r["code"] for r in results] == ["TIMEOUT", "AUTH_REVOKED", "RATE_LIMIT_429"]
    assert results[1]["requires_reauth"] is True and results[1]["pauses_channel"] is True
    assert results[1]["action"] == "TRIGGER_RECONNECT" and results[1]["retryable"] is False
    assert results[2]["retry_after_s"] == 12
    assert results[0]["retry_after_s"] is None and results[0]["user_message"]


def test_body_given_as_raw_text(monkeypatch):
    cases = [{"platform": "gbp", "http_status": 404, "body": "The requested URL /v4/x was not found on this server."}]
    assert run("-", stdin=json.dumps(cases), monkeypatch=monkeypatch)[0]["code"] == "VALIDATION_ERROR"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("classify", str(tmp_path / "nope.json"))


def test_malformed_json_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"platform": "meta", ')
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("classify", str(path))


@pytest.mark.parametrize(
    "payload,message",
    [
        ('"just text"', "JSON array"),
        ("[1, 2]", "not a JSON object"),
        ('[{"http_status": 500}]', "no platform"),
    ],
)
def test_wrong_shapes_are_clear_errors(tmp_path, payload, message):
    path = tmp_path / "cases.json"
    path.write_text(payload)
    with pytest.raises(CommandError, match=message):
        call_command("classify", str(path))


def test_unreadable_bytes_are_a_clear_error(tmp_path):
    path = tmp_path / "cases.json"
    path.write_bytes(b"\xff\xfe\x00\x00garbage")
    with pytest.raises(CommandError):
        call_command("classify", str(path))


def test_empty_array_prints_empty_array(tmp_path):
    path = tmp_path / "cases.json"
    path.write_text("[]")
    assert run(str(path)) == []


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_file_nested_too_deeply_is_refused_with_a_message(tmp_path, depth):
    """Before: RecursionError and a traceback (json.loads' nesting limit). Now: a CommandError saying why."""
    body = '{"error": ' * depth + "1" + "}" * depth
    path = tmp_path / "deep.json"
    path.write_text(f'[{{"platform": "meta", "http_status": 400, "body": {body}}}]')

    with pytest.raises(CommandError, match="is nested too deeply to read"):
        run(str(path))
