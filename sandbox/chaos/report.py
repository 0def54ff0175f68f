"""The report: one row per criterion (scenario, criterion, PASS/FAIL, the measured figure, the limit), as a table or JSON.

A criterion passes when its measured figure is within its limit (`within`), or when the scenario
decided it with evidence (`Row` made directly). A scenario that could not run (its set-up failed)
is a failed row too, so a broken run never reads as green. The exit status is 0 only when there
is at least one row and every row passed.
"""

from __future__ import annotations

import json
import operator
from dataclasses import asdict, dataclass
from pathlib import Path

COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, "==": operator.eq}


@dataclass
class Row:
    scenario: str
    criterion: str
    passed: bool
    measured: str
    limit: str
    evidence: str = ""
    value: float | None = None  # the measured figure as a number, for the JSON's readers


def within(scenario: str, criterion: str, value: float | None, limit: float, unit: str = "", *, op: str = "<=",
           evidence: str = "") -> Row:
    """A row that passes when `value op limit`; a missing value (never measured) fails."""
    passed = value is not None and COMPARE[op](value, limit)
    shown = "not measured" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))
    return Row(scenario, criterion, passed, f"{shown}{' ' + unit if unit and value is not None else ''}",
               f"{op} {limit}{' ' + unit if unit else ''}", evidence, None if value is None else float(value))


def could_not_run(scenario: str, error: BaseException) -> Row:
    return Row(scenario, "scenario ran to the end", False, type(error).__name__, "no error", str(error)[:500])


def exit_code(rows: list[Row]) -> int:
    return 0 if rows and all(row.passed for row in rows) else 1


def table(rows: list[Row]) -> str:
    headers = ("scenario", "criterion", "result", "measured", "limit")
    cells = [(r.scenario, r.criterion, "PASS" if r.passed else "FAIL", r.measured, r.limit) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    for row, cells_row in zip(rows, cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells_row, widths)).rstrip())
        if not row.passed and row.evidence:
            lines.append(f"    evidence: {row.evidence}")
    failed = sum(not r.passed for r in rows)
    lines.append(f"{len(rows)} criteria, {len(rows) - failed} passed, {failed} failed")
    return "\n".join(lines)


def write_json(path: str | Path, rows: list[Row], **about) -> None:
    report = {"passed": exit_code(rows) == 0, **about, "criteria": [asdict(row) for row in rows]}
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
