"""Percentiles computed by the database: PostgreSQL's percentile_disc, and the same aggregate for SQLite.

`PercentileDisc(expression, 0.9)` is the nearest-rank percentile of a group, as
insights.health._percentile computes it in Python: the smallest value with at least that
fraction of the group's values at or below it (NULLs ignored). On PostgreSQL it is
`percentile_disc(0.9) WITHIN GROUP (ORDER BY expression)`. SQLite (the local run) has no
ordered-set aggregates: `NearestRank`, about ten lines, is registered on each SQLite connection
(InsightsConfig.ready), so the weekly summary has one code path on both. Ours rather than a
package's: no maintained Django package ships a percentile aggregate for both backends.
"""

from __future__ import annotations

import math

from django.db.models import Aggregate, FloatField

SQLITE_FUNCTION = "insights_percentile_disc"


class PercentileDisc(Aggregate):
    """The nearest-rank percentile (`fraction` in (0, 1]) of `expression` over each group."""

    function = "percentile_disc"
    name = "PercentileDisc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression, fraction: float, **extra):
        if not 0 < fraction <= 1:
            raise ValueError("A percentile is a fraction in (0, 1].")
        # A float of ours, not user input: written into the SQL as a literal (an ordered-set
        # aggregate's direct argument cannot follow the ORDER BY's parameters in Django's SQL).
        super().__init__(expression, fraction=repr(float(fraction)), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        template = f"{SQLITE_FUNCTION}(%(expressions)s, %(fraction)s)"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def _resolve_output_field(self):
        source = self.get_source_fields()[0]
        return source if source is not None else FloatField()


class NearestRank:
    """SQLite's side of PercentileDisc: sqlite3's aggregate protocol (step, finalize)."""

    def __init__(self):
        self.values: list = []
        self.fraction = 1.0

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self):
        if not self.values:
            return None
        self.values.sort()
        return self.values[max(1, math.ceil(self.fraction * len(self.values))) - 1]


def register_sqlite_percentile(sender, connection, **kwargs) -> None:
    """connection_created receiver: give a new SQLite connection the percentile aggregate."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_FUNCTION, 2, NearestRank)
