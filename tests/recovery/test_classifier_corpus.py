"""Every labelled case in the shared error corpus, and in this repository's own
unseen cases, gets its expected code (and retry delay).

The corpus is read from, first found: ERROR_CORPUS; the shared one beside the
repository (<repo>/../shared/error-corpus/cases.json, as in CI), so cases added
there are tested at once; the copy in tests/recovery/data/, so a clean clone
on its own runs it too (refresh the copy when the shared corpus grows). A
corpus that cannot be read fails the run: a classifier that is not checked
against it is not tested.

tests/recovery/data/unseen-cases.json holds real answers the shared corpus does
not have (same case format; each with the public page where the body was seen):
the test that the classifier is right on errors its rules were not written from.
"""

import json
import os
from pathlib import Path

import pytest

from recovery.classifier import classify_named_system_error, classify_partner_error
from recovery.classifier.parsing import seconds_until_next_utc_midnight
from recovery.taxonomy import ErrorCode

REPO = Path(__file__).resolve().parents[2]
SHARED_CORPUS = REPO.parent / "shared" / "error-corpus" / "cases.json"
CORPUS_COPY = REPO / "tests" / "recovery" / "data" / "error-corpus.json"
CORPUS = Path(os.environ.get("ERROR_CORPUS") or (SHARED_CORPUS if SHARED_CORPUS.is_file() else CORPUS_COPY))
UNSEEN = REPO / "tests" / "recovery" / "data" / "unseen-cases.json"


def _load_cases(path, prefix=""):
    try:
        cases = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [pytest.param({"error": f"{path}: {exc}"}, id=f"{prefix}corpus-unreadable")]
    return [pytest.param(case, id=prefix + case["id"]) for case in cases]


CASES = _load_cases(CORPUS)
UNSEEN_CASES = _load_cases(UNSEEN, prefix="unseen:")


def classify_case(case):
    if case["platform"] == "system":
        return classify_named_system_error(case["exception"], case["message"])
    return classify_partner_error(case["platform"], case["http_status"], case["body"], case["headers"])


def test_corpus_is_there_and_covers_every_partner():
    assert CORPUS.is_file(), f"error corpus not found at {CORPUS} (set ERROR_CORPUS)"
    platforms = {p.values[0]["platform"] for p in CASES}
    assert {"meta", "linkedin", "tiktok", "gbp", "mailchimp", "system"} <= platforms


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES + UNSEEN_CASES)
def test_corpus_case_gets_its_expected_code(case):
    assert "error" not in case, case.get("error")
    classified = classify_case(case)
    assert classified.code.value == case["expected"], (
        f"{case['id']}: got {classified.code.value} ({classified.partner_code}), expected {case['expected']}"
    )
    if case.get("retry_after_s") is not None:
        assert classified.retry_after_s == pytest.approx(case["retry_after_s"], abs=1)


@pytest.mark.django_db
def test_linkedin_daily_throttle_retries_at_next_utc_midnight():
    daily = [p.values[0] for p in CASES if p.values[0].get("platform") == "linkedin" and p.values[0]["http_status"] == 429]
    assert daily, "the corpus has a LinkedIn 429"
    for case in daily:
        classified = classify_case(case)
        assert classified.code is ErrorCode.QUOTA_EXCEEDED
        assert classified.retry_after_s == pytest.approx(seconds_until_next_utc_midnight(), abs=2)


def test_unseen_cases_are_new_real_and_sourced():
    assert len(UNSEEN_CASES) >= 80
    corpus_ids = {p.values[0].get("id") for p in CASES}
    for param in UNSEEN_CASES:
        case = param.values[0]
        assert "error" not in case, case.get("error")
        assert case["id"] not in corpus_ids, f"{case['id']} is already in the shared corpus"
        assert case["source"].startswith("https://"), f"{case['id']}: source must be a public page"
        assert case["note"], f"{case['id']}: say where the body was seen and what was left out"
    assert len({p.values[0]["id"] for p in UNSEEN_CASES}) == len(UNSEEN_CASES), "duplicate ids"


@pytest.mark.skipif(not SHARED_CORPUS.is_file(), reason="no shared corpus beside the repository")
def test_the_copy_in_the_repository_agrees_with_the_shared_corpus():
    shared = {case["id"]: case for case in json.loads(SHARED_CORPUS.read_text(encoding="utf-8"))}
    copy = json.loads(CORPUS_COPY.read_text(encoding="utf-8"))

    assert [case["id"] for case in copy if shared.get(case["id"]) != case] == []
