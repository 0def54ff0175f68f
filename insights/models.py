"""Insights models: the stored weekly summaries (insights.weekly builds them, insights.advisor reads them)."""

from django.db import models
from django.db.models import Q


class WeeklySummary(models.Model):
    """One week's figures and advice, for one tenant or for every tenant together (tenant empty: the overall row).

    One row per (tenant, week) and one overall row per week: rebuilding a week replaces its rows
    (insights.weekly.weekly_summaries_build). Two partial unique constraints rather than one with
    NULLS NOT DISTINCT, which SQLite (the local run) does not have.

    - `figures`: the week's numbers (insights.weekly's docstring lists them), JSON.
    - `changes`: the headline numbers of the week before and the change, JSON.
    - `insights`: the advice derived from them, most impact first (insights.advisor), JSON.
    """

    tenant = models.ForeignKey(
        "connections.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="weekly_summaries",
        db_index=False,  # the unique (tenant, week_start) index serves every read and delete by tenant
    )
    week_start = models.DateField(help_text="The Monday (UTC) the week starts on; it ends seven days later.")
    figures = models.JSONField(default=dict)
    changes = models.JSONField(default=dict)
    insights = models.JSONField(default=list)
    built_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the Advisor's read: a tenant's latest weeks (backwards along this index).
            models.UniqueConstraint(
                fields=["tenant", "week_start"], condition=Q(tenant__isnull=False), name="weekly_summary_unique_tenant_week"
            ),
            # Also the ops page's read: the overall rows, latest weeks first.
            models.UniqueConstraint(
                fields=["week_start"], condition=Q(tenant__isnull=True), name="weekly_summary_unique_overall_week"
            ),
        ]
        verbose_name_plural = "weekly summaries"

    def __str__(self):
        return f"Week of {self.week_start:%Y-%m-%d} ({self.tenant or 'all tenants'})"

    @property
    def is_overall(self) -> bool:
        return self.tenant_id is None
