"""Fixtures the recovery tests share."""

import pytest


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a change's on-commit cache flushes, as a real commit would (tests run inside a transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
