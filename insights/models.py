"""Insights models (filled in by the observability work)."""
