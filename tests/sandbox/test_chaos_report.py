"""The chaos report: a criterion passes only when measured within its limit; any failure (or no row) fails the run;
the table shows each row and the evidence of the failed ones; --json writes the same."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sandbox.chaos.report import Row, could_not_run, exit_code, table, within, write_json
from sandbox.chaos.scenarios import SCENARIOS


def test_a_criterion_passes_only_within_its_limit():
    assert within("auth", "paused", 3.2, 10, "s").passed
    assert within("auth", "paused", 10, 10, "s").passed
    assert not within("auth", "paused", 10.5, 10, "s").passed
    assert not within("kill", "stall", 30, 30, "s", op="<").passed
    never = within("kill", "stall", None, 30, "s")
    assert not never.passed and never.measured == "not measured" and never.value is None


def test_the_run_fails_when_any_criterion_fails_or_nothing_was_measured():
    good, bad = within("a", "x", 0, 0), within("a", "y", 1, 0, evidence="post 7 published twice")
    assert exit_code([good]) == 0
    assert exit_code([good, bad]) == 1
    assert exit_code([]) == 1
    assert exit_code([good, could_not_run("b", RuntimeError("stack died"))]) == 1


def test_the_table_has_one_row_per_criterion_with_the_evidence_of_failures():
    rows = [within("auth", "paused within seconds", 0.4, 10, "s"),
            within("rate-limit", "nothing dead-lettered", 2, 0, evidence="letters 4, 9")]
    text = table(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["scenario", "criterion", "result", "measured", "limit"]
    assert "auth" in lines[2] and "PASS" in lines[2] and "0.4 s" in lines[2] and "<= 10 s" in lines[2]
    assert "FAIL" in lines[3] and lines[4].strip() == "evidence: letters 4, 9"
    assert lines[-1] == "2 criteria, 1 passed, 1 failed"


def test_json_report(tmp_path):
    path = tmp_path / "chaos.json"
    rows = [within("auth", "paused", 0.4, 10, "s"), Row("kill", "stall", False, "117.3 s", "< 30 s", "1 worker", 117.3)]
    write_json(path, rows, scenarios=["auth", "kill"], seconds=12.5)
    report = json.loads(path.read_text())
    assert report["passed"] is False and report["scenarios"] == ["auth", "kill"] and report["seconds"] == 12.5
    assert report["criteria"][0] == {"scenario": "auth", "criterion": "paused", "passed": True, "measured": "0.4 s",
                                     "limit": "<= 10 s", "evidence": "", "value": 0.4}
    assert report["criteria"][1]["passed"] is False and report["criteria"][1]["value"] == 117.3


def test_run_lists_the_scenarios_and_refuses_an_unknown_one():
    out = StringIO()
    call_command("chaos", "run", "--list", stdout=out)
    assert [line.split()[0] for line in out.getvalue().splitlines()] == list(SCENARIOS)
    with pytest.raises(CommandError, match="Unknown scenario nope"):
        call_command("chaos", "run", "nope", "--list")


def test_run_on_a_running_stack_is_refused_when_the_partners_are_not_the_sandbox(settings):
    settings.SANDBOX_ENABLED = False
    with pytest.raises(CommandError, match="not the sandbox"):
        call_command("chaos", "run", "auth", "--stack", "http://127.0.0.1:1")
