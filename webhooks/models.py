"""Webhook events (filled in by the webhooks work)."""
