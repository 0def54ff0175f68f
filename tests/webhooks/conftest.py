"""Fixtures the webhook tests share."""

import pytest

from tests.recovery.pipeline_helpers import autopause
from tests.webhooks.helpers import PUSH_ACCOUNT, LocalGoogleKeys, StatsdListener
from webhooks.verification.gbp import forget_signing_keys

GBP_AUDIENCE = "https://app.example.com/webhooks/gbp/"


@pytest.fixture
def statsd(settings):
    """A DogStatsD agent on a local UDP port: config.metrics sends to it for the test."""
    listener = StatsdListener()
    settings.STATSD_HOST, settings.STATSD_PORT = "127.0.0.1", listener.port
    yield listener
    listener.close()


@pytest.fixture
def google(settings):
    """Google's Pub/Sub push signing, made locally: its JWKS served on a local port, our settings pointing at it."""
    keys = LocalGoogleKeys()
    forget_signing_keys()
    settings.GBP_CERTS_BASE = keys.base_url
    settings.GBP_PUBSUB_SERVICE_ACCOUNT = PUSH_ACCOUNT
    settings.GBP_PUBSUB_AUDIENCE = GBP_AUDIENCE
    yield keys
    keys.stop()
    forget_signing_keys()


@pytest.fixture
def partners(sandbox):
    """The sandbox partners over HTTP (the `sandbox` fixture), sending webhooks to this live server; yields its URL.

    The sandbox makes a new Pub/Sub signing key whenever Redis is emptied (every test):
    the receiver forgets the keys it cached.
    """
    forget_signing_keys()
    yield sandbox
    forget_signing_keys()


@pytest.fixture
def autopause_on(tenant):
    autopause(tenant, True)
