"""Fixtures the recovery tests share."""

import pytest

from tests.recovery.pipeline_helpers import autopause


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a change's on-commit cache flushes, as a real commit would (tests run inside a transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def autopause_on(tenant):
    autopause(tenant, True)


@pytest.fixture
def autopause_off(tenant):
    autopause(tenant, False)


@pytest.fixture
def breaker_out_of_the_way(settings):
    """A breaker that never opens: for tests about retries, not about the breaker."""
    settings.CIRCUIT_BREAKER = {**settings.CIRCUIT_BREAKER, "failures": 1000}
