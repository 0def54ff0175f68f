"""Classifier throughput over the shared error corpus, against a trivial baseline.

Classifies every corpus case (partner and system) N times and prints
classifications per second, then the same loop doing only json.dumps of each
body (a floor: any classifier reads the body at least once), and the ratio.
Recording of UNKNOWN errors is switched off (recording_disabled), so this
measures the rules alone and needs no database; the corpus has one UNKNOWN
case, which would otherwise add a database round trip per pass.

    .venv/bin/python bench/bench_classifier.py [repeats]     (ERROR_CORPUS overrides the corpus path)
"""

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# As the corpus test finds it: ERROR_CORPUS, the shared corpus beside the repository, the copy in tests/.
SHARED_CORPUS = REPO.parent / "shared" / "error-corpus" / "cases.json"
CORPUS = Path(
    os.environ.get("ERROR_CORPUS")
    or (SHARED_CORPUS if SHARED_CORPUS.is_file() else REPO / "tests" / "recovery" / "data" / "error-corpus.json")
)
DEFAULT_REPEATS = 200


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from recovery.classifier import classify_named_system_error, classify_partner_error
    from recovery.unmapped import recording_disabled

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_REPEATS
    cases = json.loads(CORPUS.read_text(encoding="utf-8"))
    partner = [(c["platform"], c["http_status"], c["body"], c["headers"]) for c in cases if c["platform"] != "system"]
    system = [(c["exception"], c["message"]) for c in cases if c["platform"] == "system"]
    total = repeats * (len(partner) + len(system))

    def classify_all():
        for platform, status, body, headers in partner:
            classify_partner_error(platform, status, body, headers)
        for name, message in system:
            classify_named_system_error(name, message)

    def baseline_all():
        for _platform, _status, body, _headers in partner:
            json.dumps(body)
        for _name, message in system:
            json.dumps(message)

    with recording_disabled():
        classify_all()  # warm up: compiled regexes, imports
        started = time.perf_counter()
        for _ in range(repeats):
            classify_all()
        classify_s = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(repeats):
        baseline_all()
    baseline_s = time.perf_counter() - started

    per_s = total / classify_s
    baseline_per_s = total / baseline_s
    print(f"corpus: {len(cases)} cases ({len(partner)} partner, {len(system)} system) x {repeats} = {total} classifications")
    print(f"classifier:         {per_s:12,.0f} classifications/s  ({classify_s * 1e6 / total:7.1f} µs each)")
    print(f"baseline json.dumps:{baseline_per_s:12,.0f} bodies/s           ({baseline_s * 1e6 / total:7.1f} µs each)")
    print(f"ratio: the classifier costs {baseline_per_s / per_s:.1f}x a json.dumps of the body")


if __name__ == "__main__":
    main()
