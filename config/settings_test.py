"""Test settings: speed and safety overrides, and a Redis database and PostgreSQL database of the run's own.

Two test runs on one machine (two checkouts, CI beside a developer) must not
break each other, and the suite empties its Redis database before every test.
So each run claims a free Redis database number (config/redis_claims.py)
and hands it to the processes it starts through REDIS_URL; and pytest-django's test database gets the run's process
id in its name.
"""

import os

from config.redis_claims import CLAIM_KEY, claim_redis_database, redis_url_with_db  # noqa: F401 (tests use them)

CLAIMED_ENV = "TEST_REDIS_DB_CLAIMED"  # set for the processes a run starts: they use its REDIS_URL as it is


if not os.environ.get(CLAIMED_ENV):
    os.environ["REDIS_URL"] = claim_redis_database(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    os.environ[CLAIMED_ENV] = "1"

from config.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SANDBOX_ENABLED = True
# Tests run with DEBUG off and the public development keys on purpose (config/startup_checks.py).
ALLOW_DEVELOPMENT_SECRETS = True
SECURE_SSL_REDIRECT = False
# The live servers speak plain http: a Secure-only CSRF cookie would never come back from a client.
CSRF_COOKIE_SECURE = False
# The fixed callback URLs the connector and contract tests send to the sandbox's consent pages.
SANDBOX_REDIRECT_URIS = [
    *SANDBOX_REDIRECT_URIS,  # noqa: F405
    "https://app.example.com/cb", "https://app.example.com/oauth/callback", "https://app.example.com/connections/callback",
    "https://app.example.com/connections/callback/{platform}",
]
# Tests do not run collectstatic: the manifest storage would fail every admin page.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Live-server threads would hold pooled connections open and delay dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# The run's own test database (pytest-django creates and drops it), so two runs never share one.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
# Serve static files from the apps' folders (no collectstatic in tests), as DEBUG does.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
