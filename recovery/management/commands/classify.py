"""python manage.py classify CASES.json: classify cases from a file (or `-` for stdin), print JSON.

Each case is {"platform", "http_status", "headers", "body"} or, for a
client-side failure, {"platform": "system", "exception": "<dotted class>",
"message": "..."}. Prints a JSON array in the same order: the classification
(code, action, retryable, pauses_channel, requires_reauth, retry_after_s,
user_message, ...) plus the case's `id` when it has one. Partner cases go
through the same failure service as the pipeline (recovery.failures), so an
UNKNOWN one is recorded in UnmappedError for ops like any other. A file that is
not JSON, or JSON nested too deeply to read, is refused with a message (exit 1).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from connections.platforms.base import PartnerError
from recovery.classifier import classify_named_system_error
from recovery.failures import classify_failure


class Command(BaseCommand):
    help = "Classify partner error cases from a JSON file (or - for stdin) and print the classifications as JSON."

    def add_arguments(self, parser):
        parser.add_argument("cases", help="Path to a JSON array of cases, or - to read standard input.")
        parser.add_argument("--indent", type=int, default=2, help="JSON indent (0 for one line).")

    def handle(self, *args, cases, indent, **options):
        loaded = _load(cases)
        if isinstance(loaded, dict) and isinstance(loaded.get("cases"), list):
            loaded = loaded["cases"]
        if isinstance(loaded, dict):
            loaded = [loaded]  # one case on its own
        if not isinstance(loaded, list):
            raise CommandError("CASES must be a JSON array of case objects.")
        results = [_classify_case_within_depth(i, case) for i, case in enumerate(loaded)]
        self.stdout.write(json.dumps(results, indent=indent or None, ensure_ascii=False))


def _load(path: str):
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except FileNotFoundError:
        raise CommandError(f"No such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from None
    source = "standard input" if path == "-" else path
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{source} is not valid JSON: {exc}") from None
    except RecursionError:
        raise CommandError(f"{source} is nested too deeply to read (more than about {sys.getrecursionlimit()} levels).") from None


def _classify_case_within_depth(index: int, case) -> dict:
    """_classify_case, refusing a case that reads but is nested too deeply to classify (near the parser's limit)."""
    try:
        return _classify_case(index, case)
    except RecursionError:
        raise CommandError(f"Case {index} is nested too deeply to classify.") from None


def _classify_case(index: int, case) -> dict:
    if not isinstance(case, dict):
        raise CommandError(f"Case {index} is not a JSON object.")
    platform = case.get("platform")
    if not isinstance(platform, str) or not platform.strip():
        raise CommandError(f"Case {index} has no platform.")
    if platform.strip().lower() == "system" or "exception" in case:
        classified = classify_named_system_error(
            str(case.get("exception") or ""), str(case.get("message") or ""), platform=platform.strip().lower()
        )
    else:
        answer = PartnerError(
            platform,
            case.get("http_status", case.get("status")),
            case.get("body"),
            case.get("headers") if isinstance(case.get("headers"), dict) else None,
            context=case.get("context") if isinstance(case.get("context"), str) else None,
        )
        classified = classify_failure(answer)
    result = classified.to_dict()
    if "id" in case:
        result = {"id": case["id"], **result}
    return result
