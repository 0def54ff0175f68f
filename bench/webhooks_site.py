"""Settings of the server bench_webhooks.py starts: the product's own, plus a bare view beside the receivers."""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "webhooks_site_urls"
